# Sanitizer and fuzzing builds (make check-asan, check-tsan, fuzz), each in its own build
# directory. Nothing here changes a normal build or a consumer's.
#
# DROVER_SANITIZE: compile and link everything with -fsanitize=<value>, e.g. "address,undefined"
#   or "thread". UndefinedBehaviorSanitizer findings are fatal (-fno-sanitize-recover), so they
#   fail the test that hits them; libstdc++'s bounds checks are on (_GLIBCXX_ASSERTIONS).
# DROVER_BUILD_FUZZ: also instrument everything for libFuzzer (-fsanitize=fuzzer-no-link; clang
#   only) and build the fuzz targets in tests/fuzz.
set(DROVER_SANITIZE "" CACHE STRING "Sanitizers for the whole build, e.g. address,undefined or thread")
option(DROVER_BUILD_FUZZ "Build the libFuzzer targets (clang; needs DROVER_SANITIZE)" OFF)

if(DROVER_SANITIZE)
  add_compile_options(-fsanitize=${DROVER_SANITIZE} -fno-omit-frame-pointer -D_GLIBCXX_ASSERTIONS)
  add_link_options(-fsanitize=${DROVER_SANITIZE})
  if(DROVER_SANITIZE MATCHES "undefined")
    add_compile_options(-fno-sanitize-recover=undefined)
  endif()
endif()

if(DROVER_BUILD_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang" OR NOT DROVER_SANITIZE)
    message(FATAL_ERROR "DROVER_BUILD_FUZZ needs clang (CMAKE_CXX_COMPILER=clang++-16) and DROVER_SANITIZE "
                        "(e.g. address,undefined); `make fuzz` sets both")
  endif()
  # -Wno-unknown-warning-option: the targets' GCC-only -Wno-restrict.
  add_compile_options(-fsanitize=fuzzer-no-link -Wno-unknown-warning-option)
endif()

# Programs that are not built here but load drover's code (the Python interpreter importing
# the binding) need the sanitizer runtime preloaded: DROVER_SANITIZE_ENV is the environment
# for them (an empty list in a normal build). CPython frees little at exit: no leak reports.
set(DROVER_SANITIZE_ENV "")
if(DROVER_SANITIZE)
  set(_runtime "")
  if(DROVER_SANITIZE MATCHES "address")
    set(_runtime libasan.so)
    list(APPEND DROVER_SANITIZE_ENV "ASAN_OPTIONS=detect_leaks=0")
  elseif(DROVER_SANITIZE MATCHES "thread")
    set(_runtime libtsan.so)
  endif()
  if(_runtime)
    execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=${_runtime}
                    OUTPUT_VARIABLE _runtime_path OUTPUT_STRIP_TRAILING_WHITESPACE)
    # libstdc++ too: else the runtime finds no __cxa_throw to intercept when a C program (the
    # interpreter) loads C++ code later, and the first exception aborts the process.
    execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=libstdc++.so
                    OUTPUT_VARIABLE _stdcxx_path OUTPUT_STRIP_TRAILING_WHITESPACE)
    list(APPEND DROVER_SANITIZE_ENV "LD_PRELOAD=${_runtime_path}:${_stdcxx_path}")
  endif()
endif()

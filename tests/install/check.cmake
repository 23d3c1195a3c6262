# Installs a built drover into a scratch prefix, then builds the consumer project
# (tests/install/consumer) against it with -Wall -Wextra -Werror twice, through
# find_package(drover CONFIG) and through pkg-config, and runs both builds.
#
# MODE=static: DROVER_BINARY_DIR is this build (libdrover.a). The pkg-config build links with
#   `pkg-config --static --libs drover`.
# MODE=shared: configures and builds drover from SOURCE_DIR with BUILD_SHARED_LIBS=ON in
#   DROVER_BINARY_DIR first (kept between runs: a later run rebuilds what changed). The consumer
#   is configured with every private dependency of drover hidden from find_package, and
#   pkg-config sees no other .pc file than drover's; both consumers must need libdrover.so and
#   none of those dependencies' libraries, and libdrover.so must export none of their symbols.
#
# Also: CONSUMER_DIR, WORK_DIR, CXX (compiler), PKG_CONFIG, READELF, NM, BUILD_TYPE, GENERATOR,
# LAUNCHER (compiler launcher, may be empty).

# Runs a command (the rest of the arguments); the test fails with `what` and its output when it
# fails. The output is in `out`.
function(must what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE output ERROR_VARIABLE error)
  if(rc)
    message(FATAL_ERROR "${what} failed (${rc}):\n${output}${error}")
  endif()
  set(out "${output}" PARENT_SCOPE)
endfunction()

# The CMake package names and the library files of drover's private dependencies.
set(private_packages fmt ZLIB tomlplusplus OpenSSL SQLite3 pugixml)
set(private_libraries "libfmt\\." "libz\\." "libtomlplusplus" "libssl" "libcrypto" "libsqlite3" "libpugixml")

# The consumer must need libdrover.so and none of the private dependencies' libraries.
function(check_needed program)
  must("readelf ${program}" ${READELF} -d ${program})
  string(REGEX MATCHALL "\\(NEEDED\\)[^\n]*\\[[^]]*\\]" needed "${out}")
  message(STATUS "${program}: ${needed}")
  if(NOT needed MATCHES "libdrover\\.so")
    message(FATAL_ERROR "${program} does not need libdrover.so: ${needed}")
  endif()
  foreach(lib IN LISTS private_libraries)
    if(needed MATCHES "${lib}")
      message(FATAL_ERROR "${program} needs a private dependency of drover (${lib}): ${needed}")
    endif()
  endforeach()
endfunction()

set(cmake_args -DCMAKE_BUILD_TYPE=${BUILD_TYPE} -DCMAKE_CXX_COMPILER=${CXX})
if(LAUNCHER)
  list(APPEND cmake_args -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()
if(JOBS)
  set(jobs ${JOBS})  # one compile at a time: ctest runs other tests beside this one
else()
  cmake_host_system_information(RESULT jobs QUERY NUMBER_OF_LOGICAL_CORES)
endif()

if(MODE STREQUAL "shared")
  must("configuring the shared drover build"
       ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${DROVER_BINARY_DIR} -G ${GENERATOR} ${cmake_args}
       -DBUILD_SHARED_LIBS=ON -DDROVER_BUILD_EXAMPLES=OFF -DDROVER_BUILD_PYTHON=OFF -DCMAKE_UNITY_BUILD=${UNITY})
  execute_process(COMMAND ${CMAKE_COMMAND} --build ${DROVER_BINARY_DIR} -j ${jobs} RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "building the shared drover failed: ${rc}")
  endif()
elseif(NOT MODE STREQUAL "static")
  message(FATAL_ERROR "MODE must be static or shared, got '${MODE}'")
endif()

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
must("cmake --install" ${CMAKE_COMMAND} --install ${DROVER_BINARY_DIR} --prefix ${prefix})
file(GLOB_RECURSE pc_files ${prefix}/drover.pc)
list(LENGTH pc_files n)
if(NOT n EQUAL 1)
  message(FATAL_ERROR "expected one installed drover.pc, found: ${pc_files}")
endif()
get_filename_component(pc_dir ${pc_files} DIRECTORY)
get_filename_component(libdir ${pc_dir} DIRECTORY)

if(MODE STREQUAL "shared")
  file(GLOB libs ${libdir}/libdrover.so.*.*)
  list(LENGTH libs n)
  if(NOT n EQUAL 1)
    message(FATAL_ERROR "expected one installed libdrover.so, found: ${libs}")
  endif()
  must("nm" ${NM} -D --defined-only -C ${libs})
  string(REGEX MATCHALL "\n" lines "${out}")
  list(LENGTH lines exported)
  message(STATUS "libdrover.so exports ${exported} symbols")
  foreach(ns "fmt::" "toml::" "pugi::" "boost::beast::" "sqlite3_" "SSL_")
    string(FIND "${out}" "${ns}" at)
    if(NOT at EQUAL -1)
      string(SUBSTRING "${out}" ${at} 200 example)
      message(FATAL_ERROR "libdrover.so exports symbols of a private dependency (${ns}): ${example}")
    endif()
  endforeach()
  foreach(pkg IN LISTS private_packages)
    list(APPEND consumer_args -DCMAKE_DISABLE_FIND_PACKAGE_${pkg}=TRUE)
  endforeach()
  set(pc_env PKG_CONFIG_LIBDIR=${pc_dir})
  set(pc_libs_args --libs)
  set(pc_link_args -Wl,-rpath,${libdir})
else()
  set(pc_env PKG_CONFIG_PATH=${pc_dir})
  set(pc_libs_args --static --libs)
  set(pc_link_args)
endif()

# find_package(drover CONFIG)
must("consumer configure" ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/build -G ${GENERATOR} ${cmake_args}
     -DCMAKE_PREFIX_PATH=${prefix} ${consumer_args})
must("consumer build" ${CMAKE_COMMAND} --build ${WORK_DIR}/build)

# pkg-config
must("pkg-config --cflags" ${CMAKE_COMMAND} -E env ${pc_env} ${PKG_CONFIG} --cflags drover)
separate_arguments(cflags UNIX_COMMAND "${out}")
must("pkg-config ${pc_libs_args}" ${CMAKE_COMMAND} -E env ${pc_env} ${PKG_CONFIG} ${pc_libs_args} drover)
separate_arguments(libs UNIX_COMMAND "${out}")
message(STATUS "pkg-config: ${cflags} ${libs}")
must("pkg-config consumer build"
     ${CXX} -std=c++20 -O1 -Wall -Wextra -Werror ${cflags} ${CONSUMER_DIR}/main.cpp -o ${WORK_DIR}/consumer-pc
     ${libs} ${pc_link_args})

foreach(program ${WORK_DIR}/build/consumer ${WORK_DIR}/consumer-pc)
  if(MODE STREQUAL "shared")
    check_needed(${program})
  endif()
  get_filename_component(name ${program} NAME)
  set(run_dir ${WORK_DIR}/run-${name})
  file(MAKE_DIRECTORY ${run_dir})
  execute_process(COMMAND ${program} WORKING_DIRECTORY ${run_dir}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE output ERROR_VARIABLE error)
  message(STATUS "${program}: ${output}${error}")
  if(rc OR NOT output MATCHES "consumer: 3 succeeded")
    message(FATAL_ERROR "${program} failed: ${rc}")
  endif()
endforeach()

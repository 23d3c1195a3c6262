# drover.pc for pkg-config users, installed to <libdir>/pkgconfig (docs/guide.md, "Using the
# installed library"). Libs is what a consumer of a shared libdrover links: libdrover and what
# the public headers need (Boost.JSON, threads). A static libdrover's private dependencies are
# its Requires.private (`pkg-config --static --libs drover`); a shared one lists none, so its
# consumers need none of them installed. The prefix is the one `cmake --install` installs to.

function(_drover_pc_dir var dir)
  if(IS_ABSOLUTE "${dir}")
    set(${var} "${dir}" PARENT_SCOPE)
  else()
    set(${var} "\${prefix}/${dir}" PARENT_SCOPE)
  endif()
endfunction()
_drover_pc_dir(DROVER_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
_drover_pc_dir(DROVER_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")

# Boost ships no .pc files: Boost.JSON by its library file, Boost's headers by their directory.
get_target_property(_drover_boost_json Boost::json LOCATION)
get_filename_component(_drover_boost_libdir "${_drover_boost_json}" DIRECTORY)
get_filename_component(_drover_boost_name "${_drover_boost_json}" NAME_WE)
string(REGEX REPLACE "^lib" "" _drover_boost_name "${_drover_boost_name}")
set(DROVER_PC_LIBS "")
if(NOT _drover_boost_libdir IN_LIST CMAKE_CXX_IMPLICIT_LINK_DIRECTORIES)
  string(APPEND DROVER_PC_LIBS "-L${_drover_boost_libdir} ")
endif()
string(APPEND DROVER_PC_LIBS "-l${_drover_boost_name}")
if(DROVER_SANITIZE)
  # As drover::drover passes it on: a sanitizer build's consumers need the runtime.
  string(APPEND DROVER_PC_LIBS " -fsanitize=${DROVER_SANITIZE}")
endif()
if(CMAKE_THREAD_LIBS_INIT)
  string(APPEND DROVER_PC_LIBS " ${CMAKE_THREAD_LIBS_INIT}")
endif()
set(DROVER_PC_CFLAGS "")
get_target_property(_drover_boost_include Boost::headers INTERFACE_INCLUDE_DIRECTORIES)
foreach(dir IN LISTS _drover_boost_include)
  if(NOT dir IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
    string(APPEND DROVER_PC_CFLAGS " -I${dir}")
  endif()
endforeach()
set(DROVER_PC_LIBS_PRIVATE "")
if(BUILD_SHARED_LIBS)
  set(DROVER_PC_REQUIRES_PRIVATE "")
else()
  # Boost.URL, private, has no .pc file either: its library file, next to Boost.JSON's.
  get_target_property(_drover_boost_url Boost::url LOCATION)
  get_filename_component(_drover_boost_url_name "${_drover_boost_url}" NAME_WE)
  string(REGEX REPLACE "^lib" "-l" DROVER_PC_LIBS_PRIVATE "${_drover_boost_url_name}")
  # The pkg-config names of DROVER_PRIVATE_DEPS.
  set(DROVER_PC_REQUIRES_PRIVATE "fmt zlib tomlplusplus openssl sqlite3 pugixml")
endif()

# The prefix is known only when installing (`cmake --install build --prefix ...`).
set(DROVER_PC_PREFIX "__DROVER_INSTALL_PREFIX__")
configure_file(${CMAKE_CURRENT_LIST_DIR}/drover.pc.in ${PROJECT_BINARY_DIR}/drover.pc.template @ONLY)
install(CODE "
  file(READ \"${PROJECT_BINARY_DIR}/drover.pc.template\" _drover_pc)
  string(REPLACE \"__DROVER_INSTALL_PREFIX__\" \"\${CMAKE_INSTALL_PREFIX}\" _drover_pc \"\${_drover_pc}\")
  file(WRITE \"${PROJECT_BINARY_DIR}/drover.pc\" \"\${_drover_pc}\")")
install(FILES ${PROJECT_BINARY_DIR}/drover.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

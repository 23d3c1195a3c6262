# Installs only the python component into a scratch prefix, then imports the module from
# there with the same interpreter, and checks that the default prefix's directory is one
# that interpreter searches.
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${DROVER_BINARY_DIR} --prefix ${WORK_DIR}/prefix
                        --component python RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "cmake --install failed: ${rc}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -L -N ${DROVER_BINARY_DIR} OUTPUT_VARIABLE cache)
string(REGEX MATCH "DROVER_PYTHON_INSTALL_DIR:STRING=([^\n]*)" _ "${cache}")
set(dir ${CMAKE_MATCH_1})
if(NOT dir)
  message(FATAL_ERROR "DROVER_PYTHON_INSTALL_DIR not in the cache")
endif()
if(IS_ABSOLUTE ${dir})
  message(FATAL_ERROR "test expects a prefix-relative DROVER_PYTHON_INSTALL_DIR, got ${dir}")
endif()
set(ENV{PYTHONPATH} ${WORK_DIR}/prefix/${dir})
execute_process(COMMAND ${PYTHON} -c
  "import drover, os, sys; assert drover.__file__.startswith(sys.argv[1]), drover.__file__; assert os.path.exists(os.path.join(os.path.dirname(drover.__file__), 'drover.pyi')); print('installed', drover.__version__)"
  ${WORK_DIR}/prefix
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "${out}${err}")
if(rc)
  message(FATAL_ERROR "import from the install prefix failed")
endif()
unset(ENV{PYTHONPATH})
execute_process(COMMAND ${PYTHON} -c "import sys; sys.exit(0 if sys.argv[1] in sys.path else 1)"
                /usr/local/${dir} RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "/usr/local/${dir} is not on ${PYTHON}'s sys.path")
endif()

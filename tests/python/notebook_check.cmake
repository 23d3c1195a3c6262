# Executes a notebook headless with `jupyter nbconvert --to notebook --execute` (through
# PYTHON, so Debian's jupyter and kernel), then checks that the plot it saves exists.
# -D: PYTHON NOTEBOOK WORK_DIR PYTHONPATH SOURCE_DIR BUILD_DIR PLOT (relative to WORK_DIR/out)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(ENV{PYTHONPATH} ${PYTHONPATH})
set(ENV{PYTHONDONTWRITEBYTECODE} 1)
set(ENV{DROVER_SOURCE_DIR} ${SOURCE_DIR})
set(ENV{DROVER_BUILD_DIR} ${BUILD_DIR})
set(ENV{NEWS_NOTEBOOK_OUT} ${WORK_DIR}/out)
set(ENV{JUPYTER_RUNTIME_DIR} ${WORK_DIR}/runtime)
set(ENV{PYDEVD_DISABLE_FILE_VALIDATION} 1)  # ipykernel debugger noise about frozen modules
get_filename_component(name ${NOTEBOOK} NAME)
execute_process(
  COMMAND ${PYTHON} -m jupyter nbconvert --to notebook --execute ${NOTEBOOK}
          --ExecutePreprocessor.timeout=900 --output-dir ${WORK_DIR} --output ${name}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "${out}${err}")
if(rc)
  message(FATAL_ERROR "notebook ${NOTEBOOK} failed (executed copy: ${WORK_DIR}/${name})")
endif()
if(NOT EXISTS ${WORK_DIR}/out/${PLOT})
  message(FATAL_ERROR "the notebook ran but ${WORK_DIR}/out/${PLOT} does not exist")
endif()
file(SIZE ${WORK_DIR}/out/${PLOT} size)
file(READ ${WORK_DIR}/out/${PLOT} magic LIMIT 8 HEX)
if(size LESS 1000 OR NOT magic STREQUAL "89504e470d0a1a0a")
  message(FATAL_ERROR "${WORK_DIR}/out/${PLOT} is not a PNG image (${size} bytes)")
endif()
message(STATUS "notebook ok: ${WORK_DIR}/out/${PLOT} (${size} bytes)")

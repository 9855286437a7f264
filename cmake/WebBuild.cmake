# Builds the web UI (web/) into OUT_DIR: `npm ci` when web/node_modules is missing or older than
# web/package-lock.json, then `npm run build` (type check + Vite) with TANDEM_WEB_OUT=OUT_DIR.
# Run as: cmake -DWEB_DIR=... -DOUT_DIR=... -DNPM=... -DSTAMP=... -P WebBuild.cmake
# A lock keeps two build folders (release, debug-asan) from running npm ci at the same time.
file(LOCK ${WEB_DIR}/.build.lock GUARD PROCESS TIMEOUT 900 RESULT_VARIABLE locked)
if(NOT locked EQUAL 0)
  message(FATAL_ERROR "web UI: cannot lock ${WEB_DIR}/.build.lock: ${locked}")
endif()
set(installed ${WEB_DIR}/node_modules/.package-lock.json)
if(NOT EXISTS ${installed} OR ${WEB_DIR}/package-lock.json IS_NEWER_THAN ${installed})
  message(STATUS "web UI: npm ci")
  execute_process(COMMAND ${NPM} ci --no-audit --no-fund --loglevel=error
                  WORKING_DIRECTORY ${WEB_DIR} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "web UI: npm ci failed (${rc}); run scripts/setup, or configure with -DTANDEM_WEB_UI=OFF")
  endif()
endif()
set(ENV{TANDEM_WEB_OUT} ${OUT_DIR})
execute_process(COMMAND ${NPM} run --silent build WORKING_DIRECTORY ${WEB_DIR}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "web UI: npm run build failed (${rc}):\n${out}\n${err}")
endif()
file(TOUCH ${STAMP})

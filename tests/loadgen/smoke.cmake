# Runs shadow_loadgen tiny and checks that it succeeded and printed the table
# with both runs. Invoked by ctest (see CMakeLists.txt) with LOADGEN, PLUGIN
# and MOSQUITTO set.
execute_process(
  COMMAND ${LOADGEN} --start-broker --baseline --plugin ${PLUGIN} --mosquitto ${MOSQUITTO}
          --connections 1 --inflight 2 --duration 1 --warmup 0 --requests 10
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err
  RESULT_VARIABLE rc
  TIMEOUT 100)
message("${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "shadow_loadgen failed (exit ${rc}):\n${err}")
endif()
foreach(expected
    "full service +baseline \\(plain \\+ echo\\)"
    "\nrequests sent +10 +10\n"
    "\nthroughput \\(accepted/s\\) +[0-9]+ +[0-9]+\n"
    "\nlatency p99 \\(ms\\) +[0-9.]+ +[0-9.]+\n"
    "\nbroker CPU s / 1000 replies +[0-9.]+ +[0-9.]+\n"
    "full service / baseline \\(plain \\+ echo\\): throughput [0-9.]+x")
  if(NOT out MATCHES "${expected}")
    message(FATAL_ERROR "shadow_loadgen output lacks /${expected}/")
  endif()
endforeach()

# Runs shadow_loadgen's connect/disconnect storm tiny (20 clients, 1 s, with
# the presence field on) and checks that both passes ran and that the storm
# got connections accepted. Invoked by ctest (see CMakeLists.txt) with
# LOADGEN, PLUGIN and MOSQUITTO set. No timing is asserted.
execute_process(
  COMMAND ${LOADGEN} --start-broker --plugin ${PLUGIN} --mosquitto ${MOSQUITTO}
          --connections 1 --inflight 2 --duration 1 --warmup 0 --requests 10
          --storm-clients 20 --storm-hold-ms 20
          --plugin-opt presence_field=connected --plugin-opt acl_fallback=allow
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err
  RESULT_VARIABLE rc
  TIMEOUT 100)
message("${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "shadow_loadgen failed (exit ${rc}):\n${err}")
endif()
foreach(expected
    "with storm +without storm"
    "\nrequests sent +10 +10\n"
    "\nlatency p99 \\(ms\\) +[0-9.]+ +[0-9.]+\n"
    "\nstorm connects/s \\(accepted\\) +[1-9][0-9]* +-\n"
    "with storm / without storm: throughput [0-9.]+x")
  if(NOT out MATCHES "${expected}")
    message(FATAL_ERROR "shadow_loadgen output lacks /${expected}/")
  endif()
endforeach()

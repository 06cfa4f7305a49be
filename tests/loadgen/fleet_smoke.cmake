# Runs shadow_fleet_bench tiny and checks that it succeeded and printed every
# row. Invoked by ctest (see CMakeLists.txt) with FLEET_BENCH, PLUGIN and
# MOSQUITTO set.
execute_process(
  COMMAND ${FLEET_BENCH} --plugin ${PLUGIN} --mosquitto ${MOSQUITTO} --shadows 2000
          --update-things 200 --window 1 --searches 1 --bg-rate 50
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err
  RESULT_VARIABLE rc
  TIMEOUT 170)
message("${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "shadow_fleet_bench failed (exit ${rc}):\n${err}")
endif()
foreach(expected
    "\nfill \\(engine \\+ RocksDB, no broker\\) +[0-9.]+ s"
    "\nsearch, first page of 100 \\(selective, ~1 %\\) +median [0-9.]+ s.* -> [0-9]+ things\n"
    "\nget-statistics count: \\* \\(full fleet\\) +median [0-9.]+ s.* -> 2050\n"
    "\nupdate latency p50 / p99 / max, during searches +[0-9.]+ / [0-9.]+ / [0-9.]+ ms"
    "\nfleet update: shadows updated / failed +200 / 0\n"
    "\nbroker RSS peak during the fleet update +[0-9.]+ MB")
  if(NOT out MATCHES "${expected}")
    message(FATAL_ERROR "shadow_fleet_bench output lacks /${expected}/")
  endif()
endforeach()

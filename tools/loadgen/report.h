// Printing the results of one or two load runs: an aligned table for people,
// or one JSON object for scripts.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "tools/loadgen/load_run.h"

namespace loadgen {

struct LabeledRun {
  std::string label;    // "full service", "baseline (plain + echo)"
  std::string broker;   // what it ran against, e.g. "started: mosquitto + plugin"
  RunResult result;
};

// One line describing the traffic, e.g. "20 connections x 10 in flight, ...".
std::string describe(const RunConfig& cfg);

void print_table(std::FILE* out, const RunConfig& cfg, const std::vector<LabeledRun>& runs);
void print_json(std::FILE* out, const RunConfig& cfg, const std::vector<LabeledRun>& runs);

}  // namespace loadgen

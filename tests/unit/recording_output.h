// A BrokerOutput that records what the pipeline publishes and logs, for
// tests that drive plugin/runtime/pipeline.h without a broker.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "plugin/runtime/pipeline.h"

struct RecordingOutput final : shadow::runtime::BrokerOutput {
  std::vector<shadow::OutMessage> messages;
  std::vector<std::pair<shadow::runtime::LogLevel, std::string>> logs;
  bool refuse = false;  // make every publish fail, like a broker out of memory

  bool publish(const shadow::OutMessage& m) override {
    if (refuse) return false;
    messages.push_back(m);
    return true;
  }
  void log(shadow::runtime::LogLevel level, const std::string& line) override {
    logs.emplace_back(level, line);
  }
  bool empty() const { return messages.empty() && logs.empty(); }
  std::vector<std::string> topics() const {
    std::vector<std::string> t;
    for (const auto& m : messages) t.push_back(m.topic);
    return t;
  }
};

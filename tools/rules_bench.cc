// Throughput of the rules engine's SQL (plugin/rules/sql): how many rule
// evaluations one core does per second for the typical rule
//
//   SELECT a, b.c FROM 'x/+/y' WHERE b.d > 10
//
// on a 500-byte JSON payload, as the broker will run it: match the message
// topic against the FROM filter, evaluate WHERE, build the output document.
// The payload is parsed once per message in the broker (shared by all the
// rules the message triggers), so the benchmarks measure evaluation with
// and without that parse, and with the output written to bytes.
//
// Run: build-bench/tools/rules_bench (docs/benchmarks/rules.md).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "plugin/rules/sql/statement.h"

namespace {

using shadow::rules::sql::MessageContext;
using shadow::rules::sql::Output;
using shadow::rules::sql::Payload;
using shadow::rules::sql::PayloadParser;
using shadow::rules::sql::Statement;

constexpr const char* kSql = "SELECT a, b.c FROM 'x/+/y' WHERE b.d > 10";
constexpr const char* kTopic = "x/sensor-0042/y";
constexpr int kVariants = 16;

// A 500-byte telemetry message: a few scalars, the nested object the rule
// reads, an array and a longer string the rule ignores. %d varies b.d (all
// variants pass the WHERE unless `d` is overridden) and some other values.
std::string payload(int v, int d) {
  char buf[1024];
  int n = std::snprintf(
      buf, sizeof buf,
      R"({"deviceId":"sensor-0042","a":"reading-%04d","seq":%d,"ts":1700000000%03d,)"
      R"("b":{"c":{"unit":"celsius","scale":1},"d":%d,"e":"calibrated","f":[1,2,3]},)"
      R"("location":{"site":"warehouse-7","floor":2,"zone":"cold-storage-east","lat":52.5200%d,"lon":13.4050%d},)"
      R"("status":{"battery":87.5,"rssi":-61,"firmware":"2.14.7-stable","uptime":123456%d},)"
      R"("tags":["industrial","refrigeration","monitored","critical-path"],)"
      R"("note":"Temperature probe mounted at the back wall, 1.8 m above the floor, next to door 3"})",
      v, v, v, d, v, v, v);
  return std::string(buf, static_cast<size_t>(n));
}

struct Fixture {
  Statement statement;
  std::vector<std::string> payloads;
  MessageContext context;
  size_t payload_bytes = 0;

  explicit Fixture(int d_offset) : statement(compile()) {
    context.topic_name = kTopic;
    context.client = "sensor-0042";
    context.now_ms = 1700000000000;
    for (int v = 0; v < kVariants; ++v) payloads.push_back(payload(v, 11 + v + d_offset));
    payload_bytes = payloads[0].size();
  }

  static Statement compile() {
    auto s = Statement::compile(kSql);
    if (!s.ok()) {
      std::fprintf(stderr, "rules_bench: %s\n", s.status().message().c_str());
      std::exit(1);
    }
    return std::move(s).value();
  }
};

void set_counters(benchmark::State& state, const Fixture& f) {
  state.SetItemsProcessed(state.iterations());
  state.counters["payload_bytes"] = static_cast<double>(f.payload_bytes);
}

// Topic match + WHERE + SELECT on a payload parsed beforehand.
void BM_Evaluate(benchmark::State& state) {
  Fixture f(0);
  std::vector<PayloadParser> parsers(kVariants);
  std::vector<Payload> parsed;
  for (int v = 0; v < kVariants; ++v) parsed.push_back(parsers[v].parse(f.payloads[v]));
  Output out;
  size_t i = 0;
  for (auto _ : state) {
    const Payload& p = parsed[i++ % kVariants];
    bool matched = f.statement.from().matches(kTopic) && f.statement.evaluate(p, f.context, &out);
    if (!matched) state.SkipWithError("the rule did not match");
    benchmark::DoNotOptimize(out.value());
  }
  set_counters(state, f);
}

// The same with the payload JSON parsed in the loop, once per message.
void BM_ParseAndEvaluate(benchmark::State& state) {
  Fixture f(0);
  PayloadParser parser;
  Output out;
  size_t i = 0;
  for (auto _ : state) {
    Payload p = parser.parse(f.payloads[i++ % kVariants]);
    bool matched = f.statement.from().matches(kTopic) && f.statement.evaluate(p, f.context, &out);
    if (!matched) state.SkipWithError("the rule did not match");
    benchmark::DoNotOptimize(out.value());
  }
  set_counters(state, f);
}

// Parse, evaluate and write the output to the bytes an action would send.
void BM_ParseEvaluateWrite(benchmark::State& state) {
  Fixture f(0);
  PayloadParser parser;
  Output out;
  std::string bytes;
  size_t i = 0;
  for (auto _ : state) {
    Payload p = parser.parse(f.payloads[i++ % kVariants]);
    bool matched = f.statement.from().matches(kTopic) && f.statement.evaluate(p, f.context, &out);
    if (!matched) state.SkipWithError("the rule did not match");
    bytes.clear();
    out.write(&bytes);
    benchmark::DoNotOptimize(bytes.data());
  }
  set_counters(state, f);
  state.counters["out_bytes"] = static_cast<double>(bytes.size());
}

// WHERE is false (b.d <= 10): the common case of a rule that filters.
void BM_ParseAndEvaluateNoMatch(benchmark::State& state) {
  Fixture f(-30);
  PayloadParser parser;
  Output out;
  size_t i = 0;
  for (auto _ : state) {
    Payload p = parser.parse(f.payloads[i++ % kVariants]);
    bool matched = f.statement.from().matches(kTopic) && f.statement.evaluate(p, f.context, &out);
    if (matched) state.SkipWithError("the rule matched");
    benchmark::DoNotOptimize(out.kind());
  }
  set_counters(state, f);
}

// The payload parse alone, for reference.
void BM_ParseOnly(benchmark::State& state) {
  Fixture f(0);
  PayloadParser parser;
  size_t i = 0;
  for (auto _ : state) {
    Payload p = parser.parse(f.payloads[i++ % kVariants]);
    if (!p.json) state.SkipWithError("the payload is not JSON");
    benchmark::DoNotOptimize(p.json);
  }
  set_counters(state, f);
}

// SELECT * with an added field: copies the whole payload into the output.
void BM_ParseAndSelectStar(benchmark::State& state) {
  Fixture f(0);
  auto star = Statement::compile("SELECT *, topic(2) AS device FROM 'x/+/y'");
  if (!star.ok()) std::exit(1);
  PayloadParser parser;
  Output out;
  size_t i = 0;
  for (auto _ : state) {
    Payload p = parser.parse(f.payloads[i++ % kVariants]);
    if (!star->evaluate(p, f.context, &out)) state.SkipWithError("the rule did not match");
    benchmark::DoNotOptimize(out.value());
  }
  set_counters(state, f);
}

BENCHMARK(BM_Evaluate)->UseRealTime();
BENCHMARK(BM_ParseAndEvaluate)->UseRealTime();
BENCHMARK(BM_ParseEvaluateWrite)->UseRealTime();
BENCHMARK(BM_ParseAndEvaluateNoMatch)->UseRealTime();
BENCHMARK(BM_ParseOnly)->UseRealTime();
BENCHMARK(BM_ParseAndSelectStar)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

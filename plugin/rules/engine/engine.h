// The rules engine at run time: runs the messages the broker carries
// through the enabled rules and turns each match into action jobs.
//
// Threads. process() and the republish side run on the broker thread only:
// the glue calls process() for every message a client publishes, every
// message the service publishes (replies, events, REST Publish) and Last
// Will messages, outside any shadow lock, and executes the republish jobs
// it then takes from next_republish(). http jobs go to the HttpSink and
// are reported back from its worker threads (http_done, http_failed);
// those calls, and render_metrics(), are thread-safe.
//
// Rules come from the RuleRegistry's snapshot, picked up without a lock
// whenever its generation changes, so a created, replaced, enabled or
// deleted rule applies from the next message on.
//
// A failed action is counted, logged with a trace id, and reported to the
// rule's errorAction in AWS's error document shape (one document per failed
// action). errorAction templates are rendered against the message that
// triggered the rule, when the rule runs. A failing errorAction is logged
// and counted, never reported again.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plugin/rules/engine/jobs.h"
#include "plugin/rules/engine/loop_guard.h"
#include "plugin/rules/engine/registry.h"
#include "plugin/rules/engine/url_policy.h"
#include "plugin/rules/sql/eval_context.h"
#include "plugin/rules/sql/output.h"
#include "plugin/rules/sql/payload.h"
#include "plugin/runtime/rate_limiter.h"
#include "plugin/runtime/publish_queue.h"

namespace shadow::rules {

struct EngineOptions {
  std::string account_id;  // accountid()
  // get_thing_shadow(); called on the broker thread outside any shadow lock.
  sql::MessageContext::ShadowReader shadow_reader;
  UrlPolicy url_policy;
  // A line for the broker's log, from any thread.
  std::function<void(runtime::LogLevel, std::string)> log;
  // Any thread: republish jobs from the http workers wait for the broker
  // thread (an errorAction that republishes).
  std::function<void()> wake;
};

// A message as rules see it. Views: valid for the call only.
struct InboundMessage {
  std::string_view topic;
  std::string_view payload;
  std::string_view client_id = "n/a";  // clientid()
  std::string_view principal;          // principal()
  uint64_t trail = LoopGuard::kNone;   // the loop guard's trail (loop_guard.h)
};

class RulesEngine final : public HttpCompletion {
 public:
  // `registry` must outlive the engine.
  RulesEngine(RuleRegistry& registry, EngineOptions options);
  // Where http jobs go; set before the first message. nullptr: http actions fail.
  void set_http_sink(HttpSink* sink) { http_ = sink; }

  // --- broker thread -----------------------------------------------------------

  // Whether an enabled rule reads `topic`: the test every message takes, so
  // that messages no rule reads cost nothing more (no copy, no parse).
  bool wants(std::string_view topic);
  // Runs `message` through the enabled rules whose FROM filter matches it.
  // Republish jobs queue for next_republish(); http jobs go to the sink.
  void process(const InboundMessage& message, int64_t now_ms);
  // The next republish job, oldest first (error documents that the http
  // workers handed over included), or nullopt.
  std::optional<RepublishJob> next_republish();
  bool has_republishes() const;
  // The outcome of executing a job from next_republish(): `failure` is
  // nullptr when the broker took the message.
  void republish_done(const RepublishJob& job, const std::string* failure);

  // --- any thread ---------------------------------------------------------------

  void http_done(const HttpJob& job) override;
  void http_failed(const HttpJob& job, const std::string& why) override;

  // The Prometheus lines of the rules (per-rule counters and the engine's own).
  std::string render_metrics() const;

  struct Counters {
    uint64_t loop_guard_skips = 0;       // rule runs the loop guard prevented
    uint64_t error_action_failures = 0;  // error documents that could not be delivered
  };
  Counters counters() const;

 private:
  void refresh();
  void run_actions(const CompiledRule& rule, const InboundMessage& message, const sql::Payload& payload);
  std::shared_ptr<const FailureContext> failure_context(const CompiledRule& rule, const InboundMessage& message,
                                                       const sql::Payload& payload);
  std::optional<ActionTarget> render_target(const Action& action, const sql::Payload& payload,
                                            std::string* why);
  // Counts and logs a failed action, and sends the error document. `dropped`:
  // refused by a full http queue (counted as dropped, not failed).
  void fail(const JobOwner& owner, const char* failed_action, const std::string& resource,
            const std::string& why, bool dropped, bool on_broker_thread);
  void log(runtime::LogLevel level, std::string line) const;

  RuleRegistry& registry_;
  EngineOptions options_;
  HttpSink* http_ = nullptr;

  // Broker thread only.
  uint64_t generation_ = ~0ull;
  std::shared_ptr<const RuleSet> rules_;
  std::vector<const CompiledRule*> matches_;
  sql::PayloadParser parser_;
  sql::Output output_;
  sql::MessageContext context_;
  LoopGuard guard_;
  std::deque<RepublishJob> republishes_;

  // Shared with the http workers.
  mutable std::mutex mu_;
  std::deque<RepublishJob> inbox_;  // error documents to republish
  mutable runtime::LogBudget log_budget_{20};
  std::atomic<uint64_t> loop_guard_skips_{0};
  std::atomic<uint64_t> error_action_failures_{0};
};

}  // namespace shadow::rules

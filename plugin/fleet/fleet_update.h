// Fleet updates (docs/fleet.md#fleet-updates): set desired (or reported)
// state on every thing a query matches, as one ordinary shadow update per
// thing, so devices see the usual accepted, delta and documents messages
// and need no new code.
//
// An operation runs on the broker thread, in chunks: each TICK of the
// broker loop takes one running operation (round robin), reads the things
// after its cursor (at most kRecordsPerPass shadows) and updates at most
// `batch` of them (plugin_opt_fleet_update_batch), stopping early after
// kMaxChunkTime, through the request pipeline (Pipeline::service_request),
// so ordering per shadow, durable mode, events and metrics are those of any
// request. After a chunk that took T, the next one waits until T has
// passed: fleet updates take at most about half of the broker thread, and
// its clients never wait for more than one chunk. While an operation runs,
// the updater asks for the next loop pass at once (Wakeup).
//
// Each thing is evaluated when the operation reaches it, right before its
// update; the update has no version guard. A device update to the same
// shadow is ordered before or after it by the shadow lock like any two
// requests: the fleet update merges into whatever the shadow holds then.
//
// Persistence and restart: an operation is a Store item (space "fleet",
// key "op/<id>", a JSON record). Its progress (counts and the last thing
// done) is written in the same store write as each shadow update
// (ServiceRequest::also_write), and once more at the end of each chunk. A
// restarted broker resumes every RUNNING operation after its last thing:
// no shadow is updated twice and none is skipped; "lastThingName" says
// exactly where it stopped.
//
// Thread safety: REST threads create, read and cancel operations; the
// broker thread runs them. One mutex guards the operations; the broker
// thread holds it for a chunk, so a REST call may wait for one chunk.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "plugin/fleet/connectivity.h"
#include "plugin/fleet/query/query.h"
#include "plugin/runtime/pipeline.h"
#include "store/store.h"

namespace shadow::fleet {

enum class OperationStatus { kRunning, kCompleted, kCancelled, kFailed };
const char* status_name(OperationStatus s);

// What a client asks for (POST /api/fleet/updates).
struct UpdateSpec {
  std::string id;           // [A-Za-z0-9_-], 1 to 64 characters
  std::string query;        // queryString
  std::string shadow;       // shadowName: the shadow to update on each thing; empty: classic
  std::string state;        // the update's "state" member, compact JSON
};

struct Progress {
  OperationStatus status = OperationStatus::kRunning;
  uint64_t matched = 0, updated = 0, failed = 0;
  std::string last_thing;   // the last thing done (evaluated, and updated if it matched)
  int64_t created_at = 0, updated_at = 0, finished_at = 0;  // epoch seconds; 0: not yet
  std::string failure_thing, failure_message;  // the first rejected update
  int failure_code = 0;
  std::string error;        // why the operation FAILED (a store error)
};

class FleetUpdater {
 public:
  static constexpr std::string_view kSpace = "fleet";
  static constexpr std::string_view kKeyPrefix = "op/";
  static constexpr size_t kRecordsPerPass = 2000;
  static constexpr std::chrono::milliseconds kMaxChunkTime{5};
  static constexpr size_t kMaxIdLength = 64;

  // Every reference must outlive the updater. `out` is how the broker
  // thread publishes (the MQTT adapter); `wakeup` may be null.
  FleetUpdater(Store& store, runtime::Pipeline& pipeline, runtime::BrokerOutput& out, runtime::Wakeup* wakeup,
               ConnectivitySource* connectivity, int batch);

  // Loads the operations kept in the store (start-up, before the broker
  // runs); RUNNING ones carry on from where they stopped.
  Status load();

  // --- REST threads --------------------------------------------------------
  // Outcomes of create / cancel / remove beside OK.
  enum class Outcome { kCreated, kExisting, kInvalid, kInvalidQuery, kNotFound, kConflict, kError };
  struct Result {
    Outcome outcome = Outcome::kError;
    std::string body;     // the operation's JSON record, or the error message
  };
  // Starts an operation. `spec.id` empty: a new id is chosen. The same id
  // with the same request again returns the operation as it is (kExisting);
  // with another request, kConflict.
  Result create(UpdateSpec spec, int64_t now);
  Result describe(const std::string& id);
  // Operations in id order after `after`, at most `limit`; *next is the id
  // to continue after, empty on the last page. A JSON array text.
  std::string list(const std::string& after, size_t limit, std::string* next);
  // Stops a RUNNING operation at once (CANCELLED; a cancelled one again:
  // as it is); kConflict when it had already finished.
  Result cancel(const std::string& id, int64_t now);
  // Forgets a finished operation; kConflict while it runs.
  Result remove(const std::string& id);
  // In durable mode, waits until the operations' records written so far are
  // on disk (Pipeline::wait_until_durable); call after create, cancel or
  // remove, before answering. False: answer 500.
  bool wait_durable() { return pipeline_.wait_until_durable(); }

  // --- broker thread --------------------------------------------------------
  // MOSQ_EVT_TICK: one chunk of one running operation, paced as above.
  // Fail-open.
  int on_tick(int event, void* event_data);
  // One chunk now, unpaced, with an explicit clock (for tests). True when
  // an operation still runs afterwards.
  bool step(int64_t now);

 private:
  struct FleetOperation {
    UpdateSpec spec;
    Progress progress;
    std::optional<Query> query;
    std::string payload;  // the update request sent to each shadow
  };
  std::string record_of(const FleetOperation& op) const;
  Status persist(const FleetOperation& op);
  bool run_chunk(FleetOperation& op, int64_t now);
  Result invalid(Outcome outcome, std::string message) const { return Result{outcome, std::move(message)}; }

  Store& store_;
  runtime::Pipeline& pipeline_;
  runtime::BrokerOutput& out_;
  runtime::Wakeup* wakeup_;
  ConnectivitySource* connectivity_;
  size_t batch_;

  std::mutex mu_;
  std::map<std::string, FleetOperation> ops_;
  std::string turn_;  // round robin: the operation that ran last
  std::chrono::steady_clock::time_point resume_at_{};  // broker thread only
};

}  // namespace shadow::fleet

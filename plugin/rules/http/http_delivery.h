// The http action: POSTs of rule output to web services, on worker threads
// (never the broker thread, which must not wait for a network).
//
// - Bounded: at most `queue_limit` jobs wait or wait for a retry; submit()
//   refuses more, and the engine counts the refused job as dropped and
//   reports it to the rule's errorAction.
// - Retries: a connection failure, a timeout, a 429 or a 5xx answer is
//   retried after a pause that grows (first_retry, then 4 times longer each
//   time) until `attempts` tries were made; any other answer than 2xx fails
//   at once. Redirects are not followed.
// - https: the server's certificate is verified against the system's CA
//   store (ca-certificates) and must name the host. http: only to the hosts
//   the URL policy allows (checked again here, per request).
// - Each outcome goes to the HttpCompletion (the engine): counted, logged,
//   and failures sent to the errorAction.
//
// The request body is the rule's output; Content-Type is application/json
// unless the action sets its own.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "plugin/rules/engine/jobs.h"
#include "plugin/rules/engine/url_policy.h"

namespace shadow::rules {

struct HttpDeliveryOptions {
  size_t workers = 2;
  size_t queue_limit = 1000;
  int attempts = 3;
  std::chrono::milliseconds first_retry{500};
  std::chrono::seconds connect_timeout{5};
  std::chrono::seconds timeout{10};  // reading the answer, sending the body
  std::string ca_file = "/etc/ssl/certs/ca-certificates.crt";
};

class HttpDelivery final : public HttpSink {
 public:
  // `policy` and `completion` must outlive the object.
  HttpDelivery(HttpDeliveryOptions options, const UrlPolicy& policy, HttpCompletion& completion);
  // Stops the workers; jobs still waiting are dropped.
  ~HttpDelivery() override;
  HttpDelivery(const HttpDelivery&) = delete;
  HttpDelivery& operator=(const HttpDelivery&) = delete;

  Status start();

  bool submit(HttpJob job) override;
  size_t depth() const override;

  // Jobs dropped at shutdown (for the log).
  size_t stop();

 private:
  using Clock = std::chrono::steady_clock;
  struct Pending {
    HttpJob job;
    int attempt = 0;  // tries made so far
  };
  void run();
  // One try. Empty on success; else why it failed, with *retry saying
  // whether another try may succeed.
  std::string post(const HttpJob& job, bool* retry) const;

  const HttpDeliveryOptions options_;
  const UrlPolicy& policy_;
  HttpCompletion& completion_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Pending> ready_;
  std::multimap<Clock::time_point, Pending> delayed_;  // waiting for a retry
  size_t running_ = 0;                                  // being tried now
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace shadow::rules

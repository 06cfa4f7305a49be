#include "plugin/rules/http/http_delivery.h"

#include <httplib.h>

#include <cctype>
#include <exception>
#include <optional>
#include <string_view>
#include <utility>

namespace shadow::rules {
namespace {

bool is_content_type(const std::string& name) {
  std::string_view expected = "content-type";
  if (name.size() != expected.size()) return false;
  for (size_t i = 0; i < name.size(); i++)
    if (std::tolower(static_cast<unsigned char>(name[i])) != expected[i]) return false;
  return true;
}

}  // namespace

HttpDelivery::HttpDelivery(HttpDeliveryOptions options, const UrlPolicy& policy, HttpCompletion& completion)
    : options_(std::move(options)), policy_(policy), completion_(completion) {}

HttpDelivery::~HttpDelivery() { stop(); }

Status HttpDelivery::start() {
  try {
    for (size_t i = 0; i < options_.workers; i++) workers_.emplace_back([this] { run(); });
  } catch (const std::exception& e) {
    stop();
    return Status::internal(std::string("cannot start the http action workers: ") + e.what());
  }
  return Status::ok();
}

size_t HttpDelivery::stop() {
  size_t dropped = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    dropped = ready_.size() + delayed_.size();
    ready_.clear();
    delayed_.clear();
  }
  wake_.notify_all();
  for (std::thread& t : workers_)
    if (t.joinable()) t.join();
  workers_.clear();
  return dropped;
}

bool HttpDelivery::submit(HttpJob job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || ready_.size() + delayed_.size() + running_ >= options_.queue_limit) return false;
    ready_.push_back(Pending{std::move(job), 0});
  }
  wake_.notify_one();
  return true;
}

size_t HttpDelivery::depth() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ready_.size() + delayed_.size() + running_;
}

void HttpDelivery::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    // Retries whose pause is over join the ready jobs.
    Clock::time_point now = Clock::now();
    while (!delayed_.empty() && delayed_.begin()->first <= now) {
      ready_.push_back(std::move(delayed_.begin()->second));
      delayed_.erase(delayed_.begin());
    }
    if (stopping_) return;
    if (ready_.empty()) {
      if (delayed_.empty()) {
        wake_.wait(lock);
      } else {
        wake_.wait_until(lock, delayed_.begin()->first);
      }
      continue;
    }
    Pending pending = std::move(ready_.front());
    ready_.pop_front();
    running_++;
    lock.unlock();

    bool retry = false;
    std::string failure;
    try {
      failure = post(pending.job, &retry);
    } catch (const std::exception& e) {
      failure = std::string("the request could not be made: ") + e.what();
    }
    pending.attempt++;
    bool again = !failure.empty() && retry && pending.attempt < options_.attempts;
    if (failure.empty()) {
      completion_.http_done(pending.job);
    } else if (!again) {
      if (pending.attempt > 1) failure += " (after " + std::to_string(pending.attempt) + " tries)";
      completion_.http_failed(pending.job, failure);
    }

    lock.lock();
    running_--;
    if (again && !stopping_) {
      auto pause = options_.first_retry;
      for (int i = 1; i < pending.attempt; i++) pause *= 4;
      delayed_.emplace(Clock::now() + pause, std::move(pending));
    }
  }
}

std::string HttpDelivery::post(const HttpJob& job, bool* retry) const {
  *retry = false;
  std::string why;
  std::optional<UrlTarget> target = policy_.check(job.target.url, &why);
  if (!target) return why;

  httplib::Client client(target->origin());
  client.set_connection_timeout(static_cast<time_t>(options_.connect_timeout.count()), 0);
  client.set_read_timeout(static_cast<time_t>(options_.timeout.count()), 0);
  client.set_write_timeout(static_cast<time_t>(options_.timeout.count()), 0);
  client.set_follow_location(false);
  client.set_keep_alive(false);
  if (target->https) {
    client.set_ca_cert_path(options_.ca_file);
    client.enable_server_certificate_verification(true);
  }

  httplib::Headers headers;
  std::string content_type = "application/json";
  for (const auto& [name, value] : job.target.headers) {
    if (is_content_type(name)) {
      content_type = value;
    } else {
      headers.emplace(name, value);
    }
  }
  httplib::Result result = client.Post(target->path_and_query, headers, job.body, content_type);
  if (!result) {
    if (result.error() == httplib::Error::SSLServerVerification) {
      // Trying again cannot help: the certificate is the same next time.
      return target->origin() + ": the server's certificate is not trusted by " + options_.ca_file +
             " or does not name the host (SSLServerVerification); give the server a certificate "
             "from a CA the broker's system trusts";
    }
    *retry = true;
    return "no answer from " + target->origin() + ": " + httplib::to_string(result.error());
  }
  int status = result->status;
  if (status >= 200 && status < 300) return {};
  *retry = status == 429 || status >= 500;
  return "answered HTTP " + std::to_string(status);
}

}  // namespace shadow::rules

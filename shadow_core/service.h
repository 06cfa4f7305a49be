// The shadow service: the one entry point every adapter (MQTT plugin, REST
// server, CLI, tests) calls. It turns a request into the response and the
// MQTT messages to publish, reading and writing shadows only through a Store.
//
// The service holds no per-request state and may be called from several
// threads at once; concurrent writers of one shadow are serialized by the
// store's compare-and-set (the loser recomputes on the fresh document).
// It never throws and never reads the clock: the caller passes `now`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shadow_core/config.h"
#include "shadow_core/topic.h"
#include "store/store.h"

namespace shadow {

struct OutMessage {
  std::string topic;
  std::string payload;
  int qos = 1;
};

enum class Channel { kMqtt, kRest };

struct ServiceRequest {
  Channel channel = Channel::kMqtt;
  Operation op = Operation::kGet;
  ShadowId id;
  TopicForm form = TopicForm::kAws;  // MQTT: the form of the request topic
  std::string_view payload;          // MQTT payload or REST body
  int64_t now = 0;                   // epoch seconds; one value for the whole request
};

struct ServiceResponse {
  int status = 200;  // 200, or the error code of the rejection
  // The accepted or error document. For MQTT it is also the payload of
  // messages[0] (the /accepted or /rejected reply); for REST it is the body.
  std::string body;
  // MQTT publications in order: for MQTT the reply first, then events
  // (delta, documents); for REST only the events its outcome causes.
  std::vector<OutMessage> messages;
  bool ok() const { return status == 200; }
};

class Service {
 public:
  // `store` must outlive the service.
  Service(Config config, Store& store);

  const Config& config() const { return config_; }

  ServiceResponse handle(const ServiceRequest& request);

  // The request an MQTT publish on `topic` makes, or nullopt when the topic
  // is not a shadow request (adapters that lock or rate-limit per shadow
  // before handling call this, then handle()).
  std::optional<ServiceRequest> mqtt_request(std::string_view topic, std::string_view payload,
                                             int64_t now) const;

  // mqtt_request() then handle().
  std::optional<ServiceResponse> handle_mqtt(std::string_view topic, std::string_view payload,
                                             int64_t now);

  // ListNamedShadowsForThing. page_size / next_token are the raw query values
  // (nullopt when absent). Body: {"results":[...],"nextToken"?,"timestamp"}.
  ServiceResponse list_named_shadows(std::string_view thing,
                                     std::optional<std::string_view> page_size,
                                     std::optional<std::string_view> next_token, int64_t now);

  // ListShadows: a mosquitto-shadow extension that AWS IoT does not have
  // (GET /api/shadows), so that a backup can find every shadow. Lists the
  // live shadows of every thing, classic and named, in key order (thing
  // bytes; a thing's classic shadow before its named shadows, those by name
  // bytes). pageSize is 1..kListAllMaxPageSize (default
  // kListAllDefaultPageSize), larger than ListNamedShadowsForThing's since a
  // backup reads everything; a bad pageSize or nextToken is a 400. Body:
  // {"results":[{"thingName":T},{"thingName":T,"shadowName":S},...],
  //  "nextToken"?,"timestamp"}; nextToken (opaque) only when more follow.
  // A page is a consistent read of each key, not a snapshot of the whole
  // store: shadows created or deleted meanwhile may or may not appear.
  static constexpr size_t kListAllDefaultPageSize = 100;
  static constexpr size_t kListAllMaxPageSize = 1000;
  ServiceResponse list_shadows(std::optional<std::string_view> page_size,
                               std::optional<std::string_view> next_token, int64_t now);

 private:
  ServiceResponse get(const ServiceRequest& request);
  ServiceResponse update(const ServiceRequest& request);
  ServiceResponse remove(const ServiceRequest& request);

  Config config_;
  Store& store_;
};

}  // namespace shadow

// What a rule learns about a message besides its payload, and what it may
// ask of the broker while it runs: the functions topic(), clientid(),
// principal(), timestamp(), accountid(), newuuid() and get_thing_shadow()
// read it from here, so the SQL library stays free of I/O.
//
// One EvalContext serves one message (every rule that message triggers):
// timestamp() is the same for all of them, as on AWS.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "shadow_core/json.h"

namespace shadow::rules::sql {

class EvalContext {
 public:
  virtual ~EvalContext() = default;

  // The topic the message was published on.
  virtual std::string_view topic() const = 0;
  // The publisher's MQTT client id; "n/a" for a message that did not come
  // from an MQTT client (the REST API, the service's own messages).
  virtual std::string_view client_id() const = 0;
  // What the publisher authenticated as (certificate or user name); empty
  // gives Undefined.
  virtual std::string_view principal() const = 0;
  // Milliseconds since the Unix epoch when the rules engine took the message.
  virtual int64_t timestamp_ms() const = 0;
  // The account the rule belongs to; empty gives Undefined.
  virtual std::string_view account_id() const { return {}; }
  // A new random (version 4) UUID in its 36-character text form.
  virtual std::string new_uuid() = 0;
  // get_thing_shadow(): the shadow `shadow` of `thing` (the classic shadow
  // when `shadow` is empty), as GetThingShadow returns it, built into *out
  // with `alloc`. False when the thing has no such shadow (the function then
  // gives Undefined).
  virtual bool get_thing_shadow(std::string_view thing, std::string_view shadow, json::Value* out,
                                json::Allocator& alloc) = 0;
};

// An EvalContext from plain values, for the broker and for tests: fields to
// fill in, random UUIDs, and shadows read through a callback (none if unset).
class MessageContext : public EvalContext {
 public:
  using ShadowReader =
      std::function<bool(std::string_view thing, std::string_view shadow, json::Value* out, json::Allocator& alloc)>;

  std::string topic_name;
  std::string client = "n/a";
  std::string principal_name;
  int64_t now_ms = 0;
  std::string account;
  ShadowReader shadow_reader;

  std::string_view topic() const override { return topic_name; }
  std::string_view client_id() const override { return client; }
  std::string_view principal() const override { return principal_name; }
  int64_t timestamp_ms() const override { return now_ms; }
  std::string_view account_id() const override { return account; }
  std::string new_uuid() override;
  bool get_thing_shadow(std::string_view thing, std::string_view shadow, json::Value* out,
                        json::Allocator& alloc) override {
    return shadow_reader && shadow_reader(thing, shadow, out, alloc);
  }
};

}  // namespace shadow::rules::sql

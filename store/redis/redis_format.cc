// The keys, values and script of the Redis store (see redis_store.h).
#include <openssl/sha.h>

#include "store/redis/cluster_routing.h"
#include "store/redis/redis_store.h"

namespace shadow::redis_format {

namespace {

void put_hex16(std::string* dst, uint64_t v) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int shift = 60; shift >= 0; shift -= 4) dst->push_back(kHex[(v >> shift) & 0xf]);
}

bool get_hex16(std::string_view s, uint64_t* out) {
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return false;
    }
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  *out = v;
  return true;
}

std::string tagged(std::string_view prefix, std::string_view kind, std::string_view tag) {
  std::string k;
  k.reserve(prefix.size() + kind.size() + tag.size() + 3);
  k.append(prefix);
  k.append(kind);
  k.append(":{");
  k.append(tag);
  k.push_back('}');
  return k;
}

}  // namespace

bool valid_thing(std::string_view thing) {
  return !thing.empty() && thing.find_first_of("{}") == std::string_view::npos;
}

std::string shadow_key(std::string_view prefix, std::string_view thing, std::string_view shadow) {
  std::string k = tagged(prefix, "sh", thing);
  if (!shadow.empty()) {
    k.push_back(':');
    k.append(shadow);
  }
  return k;
}

std::string index_key(std::string_view prefix, std::string_view thing) { return tagged(prefix, "ix", thing); }

std::string things_key(std::string_view prefix, int slot) {
  return tagged(prefix, "tx", redis::slot_tags()[static_cast<size_t>(slot)]);
}

std::string event_channel(std::string_view prefix, std::string_view thing) { return tagged(prefix, "ev", thing); }

std::string firehose_channel(std::string_view prefix, int slot) {
  return tagged(prefix, "fh", redis::slot_tags()[static_cast<size_t>(slot)]);
}

std::string listeners_key(std::string_view channel) { return std::string(channel) + ":in"; }

std::string item_values_key(std::string_view prefix, std::string_view space) { return tagged(prefix, "ih", space); }

std::string item_index_key(std::string_view prefix, std::string_view space) { return tagged(prefix, "iz", space); }

std::pair<std::string, std::string> item_range(std::string_view prefix, std::string_view after) {
  std::string min = after >= prefix && !after.empty() ? "(" + std::string(after)
                    : prefix.empty()                  ? std::string("-")
                                                      : "[" + std::string(prefix);
  // Keys starting with `prefix` are below its successor: the prefix without
  // trailing 0xff bytes, last byte plus one. None (all 0xff, or empty): no
  // upper bound.
  std::string succ(prefix);
  while (!succ.empty() && static_cast<unsigned char>(succ.back()) == 0xff) succ.pop_back();
  std::string max = "+";
  if (!succ.empty()) {
    succ.back() = static_cast<char>(static_cast<unsigned char>(succ.back()) + 1);
    max = "(" + succ;
  }
  return {min, max};
}

std::string encode_stamp(const RecordStamp& stamp) {
  std::string v;
  v.reserve(kStampSize);
  v.push_back('1');
  put_hex16(&v, stamp.version);
  v.push_back(stamp.deleted ? '1' : '0');
  return v;
}

std::string encode_record(const ShadowRecord& record) {
  std::string v = encode_stamp(stamp_of(record));
  v.reserve(kHeaderSize + record.document.size());
  put_hex16(&v, static_cast<uint64_t>(record.deleted_at));
  v.append(record.document);
  return v;
}

Status decode_record(std::string_view value, ShadowRecord* out) {
  if (value.size() < kHeaderSize)
    return Status::io_error("stored shadow record too short (" + std::to_string(value.size()) + " bytes)");
  if (value[0] != '1')
    return Status::io_error("stored shadow record has unknown format '" + std::string(1, value[0]) + "'");
  uint64_t version = 0, deleted_at = 0;
  char flag = value[17];
  if (!get_hex16(value.substr(1, 16), &version) || !get_hex16(value.substr(18, 16), &deleted_at) ||
      (flag != '0' && flag != '1'))
    return Status::io_error("stored shadow record has a malformed header");
  out->version = version;
  out->deleted = flag == '1';
  out->deleted_at = static_cast<int64_t>(deleted_at);
  out->document.assign(value.substr(kHeaderSize));
  return Status::ok();
}

const std::string& commit_script() {
  // Checks first, writes after: Redis does not undo a script's writes when a
  // later command in it fails.
  static const std::string script = R"lua(#!lua
-- mosquitto-shadow: compare-and-set of one shadow record (store/redis/redis_store.h).
-- KEYS[1] the record            KEYS[2] the thing's named-shadow index
-- KEYS[3] the slot's things     KEYS[4] the thing's classic record
-- KEYS[5] listeners of the event channel   KEYS[6] listeners of the firehose channel
--         (both only with an event)
-- ARGV[1] expected stamp (first 18 bytes of the record), '' when nothing may be stored
-- ARGV[2] the new record        ARGV[3] shadow name, '' for the classic shadow
-- ARGV[4] tombstone TTL in ms, '0' to keep tombstones
-- ARGV[5] thing name            ARGV[6] event channel, '' for no event
-- ARGV[7] event payload         ARGV[8] the slot's firehose channel, '' for none
-- ARGV[9] the whole expected record, '' to compare the stamp only
-- ARGV[10] the writer's listener name: an event goes out on a channel only
--          when someone else is in its listeners set
-- Returns 1 when written, 0 when the record did not match (nothing written).
local cur = redis.call('GET', KEYS[1])
if cur then
  if string.len(cur) < 34 or string.sub(cur, 1, 1) ~= '1' then
    return redis.error_reply('SHADOWCORRUPT the stored record is not in format 1')
  end
  if string.sub(cur, 1, 18) ~= ARGV[1] then return 0 end
  if ARGV[9] ~= '' and cur ~= ARGV[9] then return 0 end
elseif ARGV[1] ~= '' then
  return 0
end
local deleted = string.sub(ARGV[2], 18, 18) == '1'
if deleted and ARGV[4] ~= '0' then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4])
else
  redis.call('SET', KEYS[1], ARGV[2])
end
-- A live record replacing a live one changes neither index (the common
-- update): the name and the thing are in them already.
local was_live = cur and string.sub(cur, 18, 18) == '0'
if deleted or not was_live then
  if ARGV[3] ~= '' then
    if deleted then
      redis.call('ZREM', KEYS[2], ARGV[3])
    else
      redis.call('ZADD', KEYS[2], 0, ARGV[3])
    end
  end
  local live = redis.call('ZCARD', KEYS[2]) > 0
  if not live then
    local classic = redis.call('GET', KEYS[4])
    live = classic and string.sub(classic, 18, 18) == '0'
  end
  if live then
    redis.call('ZADD', KEYS[3], 0, ARGV[5])
  else
    redis.call('ZREM', KEYS[3], ARGV[5])
  end
end
local function others(listeners)
  return redis.call('SCARD', listeners) > redis.call('SISMEMBER', listeners, ARGV[10])
end
if ARGV[6] ~= '' and others(KEYS[5]) then
  redis.call('SPUBLISH', ARGV[6], ARGV[7])
end
if ARGV[8] ~= '' and others(KEYS[6]) then
  redis.call('SPUBLISH', ARGV[8], ARGV[7])
end
return 1
)lua";
  return script;
}

const std::string& item_put_script() {
  static const std::string script = R"lua(#!lua
-- mosquitto-shadow: put one item (store/redis/redis_store.h).
-- KEYS[1] the space's values (hash)   KEYS[2] the space's key index (sorted set)
-- ARGV[1] key   ARGV[2] value   ARGV[3] '1': only if the item does not exist
-- Returns 1 when written, 0 when the item existed and ARGV[3] is '1'.
if ARGV[3] == '1' then
  if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1
)lua";
  return script;
}

const std::string& item_delete_script() {
  static const std::string script = R"lua(#!lua
-- mosquitto-shadow: delete one item (store/redis/redis_store.h).
-- KEYS[1] the space's values (hash)   KEYS[2] the space's key index (sorted set)
-- ARGV[1] key
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
)lua";
  return script;
}

std::string script_sha1(const std::string& script) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(script.data()), script.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char b : digest) {
    hex.push_back(kHex[b >> 4]);
    hex.push_back(kHex[b & 0xf]);
  }
  return hex;
}

}  // namespace shadow::redis_format

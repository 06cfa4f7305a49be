#include "store/redis/redis_store.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace shadow {

using redis::Command;
using redis::Reply;
using Mode = redis::ClusterClient::Mode;

namespace {

Status bad_thing(std::string_view thing) {
  return Status::invalid_argument("thing name '" + std::string(thing) +
                               "' cannot be stored in Redis: it is empty or contains '{' or '}'");
}

Status unexpected(const char* what, const Reply& r) {
  return Status::io_error(std::string("Redis ") + what + ": unexpected reply" +
                               (r.is_error() ? ": " + r.str : std::string()));
}

}  // namespace

StatusOr<std::string> read_password_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::invalid_argument("cannot read the Redis password file " + path +
                                           ": it must exist and be readable by the broker's user");
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return Status::invalid_argument("the Redis password file " + path + " has an empty first line");
  return line;
}

StatusOr<std::unique_ptr<RedisStore>> RedisStore::open(const RedisStoreOptions& options) {
  if (options.key_prefix.find_first_of("{}") != std::string::npos)
    return Status::invalid_argument("the Redis key prefix '" + options.key_prefix + "' must not contain '{' or '}'");
  if (options.wait_replicas < 0)
    return Status::invalid_argument("the number of Redis replicas to wait for is negative");
  if (options.wait_replicas > 0) {
    if (options.wait_timeout.count() <= 0)
      return Status::invalid_argument("the Redis WAIT timeout must be positive when waiting for replicas");
    if (options.cluster.connection.command_timeout <= options.wait_timeout)
      return Status::invalid_argument(
          "the Redis command timeout (" + std::to_string(options.cluster.connection.command_timeout.count()) +
          " ms) must be longer than the WAIT timeout (" + std::to_string(options.wait_timeout.count()) +
          " ms), or every unconfirmed write would look like a dead node");
  }
  if (options.tombstone_ttl_s < 0) return Status::invalid_argument("the tombstone TTL is negative");
  StatusOr<std::unique_ptr<redis::ClusterClient>> client = redis::ClusterClient::create(options.cluster);
  if (!client.ok()) return client.status();
  return std::unique_ptr<RedisStore>(new RedisStore(options, std::move(client).value()));
}

RedisStore::RedisStore(const RedisStoreOptions& options, std::unique_ptr<redis::ClusterClient> client)
    : options_(options),
      client_(std::move(client)),
      writes_(*client_,
              options.wait_replicas > 0
                  ? std::optional<redis::Command>(redis::Command{"WAIT", std::to_string(options.wait_replicas),
                                                                 std::to_string(options.wait_timeout.count())})
                  : std::nullopt),
      cache_(options.record_cache_entries) {}

RedisStore::~RedisStore() = default;

Status RedisStore::get(const StoreKey& key, ShadowRecord* out) {
  if (!redis_format::valid_thing(key.thing)) return bad_thing(key.thing);
  std::string k = redis_format::shadow_key(options_.key_prefix, key.thing, key.shadow);
  std::vector<Reply> replies;
  Status s = client_->run(redis::key_slot(k), {{"GET", k}}, &replies, Mode::kRead);
  if (!s.is_ok()) return s;
  const Reply& r = replies[0];
  if (r.is_nil()) {
    cache_.erase(k);
    return Status::not_found();
  }
  if (r.type != Reply::Type::kString) return unexpected("GET", r);
  Status d = redis_format::decode_record(r.str, out).with_context(k);
  if (d.is_ok()) cache_.put(k, r.str);
  return d;
}

Status RedisStore::get_for_update(const StoreKey& key, ShadowRecord* out) {
  if (!redis_format::valid_thing(key.thing)) return bad_thing(key.thing);
  std::string k = redis_format::shadow_key(options_.key_prefix, key.thing, key.shadow);
  std::optional<std::string> cached = cache_.find(k);
  if (cached && redis_format::decode_record(*cached, out).is_ok()) return Status::ok();
  return get(key, out);
}

Status RedisStore::compare_and_set(const StoreKey& key, const std::optional<RecordStamp>& expected,
                                   const ShadowRecord& next, const std::vector<ItemChange>& items) {
  return compare_and_set_with_event(key, expected, next, {}, items);
}

Status RedisStore::run_script(int slot, const std::string& script, const std::string& sha1,
                              std::vector<std::string> keys, std::vector<std::string> args, const std::string& what,
                              Reply* result) {
  Command call{"EVALSHA", sha1, std::to_string(keys.size())};
  call.insert(call.end(), std::make_move_iterator(keys.begin()), std::make_move_iterator(keys.end()));
  call.insert(call.end(), std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
  std::vector<Reply> replies;
  // Batched with the concurrent writes to the same master (write_batcher.h).
  Status s = writes_.run(slot, call, &replies);
  if (s.is_ok() && replies[0].error_code() == "NOSCRIPT") {
    // A master that has not seen the script yet (new, restarted or just
    // promoted: the script cache is not replicated). EVAL runs and caches it.
    ++script_loads_;
    call[0] = "EVAL";
    call[1] = script;
    s = writes_.run(slot, call, &replies);
  }
  if (!s.is_ok()) return s;
  *result = std::move(replies[0]);
  if (result->error_code() == "SHADOWCORRUPT") return Status::io_error(what + ": " + result->str);
  if (result->is_error()) return Status::io_error("Redis refused the write of " + what + ": " + result->str);
  if (result->type != Reply::Type::kInteger) return unexpected("script", *result);
  // Our scripts answer 1 when they wrote; only then is there something for
  // WAIT to confirm.
  if (result->integer == 1 && options_.wait_replicas > 0) {
    const Reply& wait = replies[1];
    if (wait.type != Reply::Type::kInteger || wait.integer < options_.wait_replicas) {
      ++unconfirmed_writes_;
      return Status::unavailable(
          "outcome unknown: " + what + " was written on its master but " +
          (wait.type == Reply::Type::kInteger ? std::to_string(wait.integer) : std::string("no")) + " of " +
          std::to_string(options_.wait_replicas) + " replicas confirmed it within " +
          std::to_string(options_.wait_timeout.count()) + " ms (WAIT); it may not survive a failover");
    }
  }
  return Status::ok();
}

Status RedisStore::compare_and_set_with_event(const StoreKey& key, const std::optional<RecordStamp>& expected,
                                              const ShadowRecord& next, std::string_view event,
                                              const std::vector<ItemChange>& items) {
  if (!redis_format::valid_thing(key.thing)) return bad_thing(key.thing);
  const std::string& p = options_.key_prefix;
  std::string record_key = redis_format::shadow_key(p, key.thing, key.shadow);
  int slot = redis::key_slot(record_key);
  std::string ttl_ms =
      next.deleted && options_.tombstone_ttl_s > 0 ? std::to_string(options_.tombstone_ttl_s * 1000) : "0";
  static const std::string sha1 = redis_format::script_sha1(redis_format::commit_script());
  std::string expected_stamp = expected ? redis_format::encode_stamp(*expected) : std::string();
  // The cached record with the expected stamp is what the caller most likely
  // read (get_for_update): the script then compares it whole (record_cache.h).
  std::optional<std::string> base = expected ? cache_.find(record_key) : std::nullopt;
  if (base && base->compare(0, expected_stamp.size(), expected_stamp) != 0) base.reset();
  std::string encoded = redis_format::encode_record(next);
  std::vector<std::string> keys{record_key, redis_format::index_key(p, key.thing), redis_format::things_key(p, slot),
                                redis_format::shadow_key(p, key.thing, "")};
  // Without an event the script publishes on no channel ('') and reads no
  // listeners (keys that do not exist make a migrating slot answer TRYAGAIN).
  std::string channel, firehose;
  if (!event.empty()) {
    channel = redis_format::event_channel(p, key.thing);
    firehose = redis_format::firehose_channel(p, slot);
    keys.push_back(redis_format::listeners_key(channel));
    keys.push_back(redis_format::listeners_key(firehose));
  }
  Reply result;
  Status s = run_script(slot, redis_format::commit_script(), sha1, std::move(keys),
                        {expected_stamp, encoded, key.shadow, ttl_ms, key.thing, std::move(channel),
                         std::string(event), std::move(firehose), base ? std::move(*base) : std::string(),
                         options_.listener_id},
                        record_key, &result);
  if (!s.is_ok() || result.integer != 1) {
    // Unknown outcome, or someone else's record is there now.
    cache_.erase(record_key);
    if (!s.is_ok()) return s;
    return Status::conflict();
  }
  cache_.put(record_key, std::move(encoded));
  for (const ItemChange& change : items) {
    s = change.value ? put_item(change.space, change.key, *change.value) : delete_item(change.space, change.key);
    if (!s.is_ok()) return s.with_context("the record of '" + key.thing + "'/'" + key.shadow + "' is written, an item is not");
  }
  return Status::ok();
}

Status RedisStore::publish_event(std::string_view thing, std::string_view event) {
  if (!redis_format::valid_thing(thing)) return bad_thing(thing);
  const std::string& p = options_.key_prefix;
  std::string channel = redis_format::event_channel(p, thing);
  int slot = redis::key_slot(channel);
  std::vector<Reply> replies;
  Status s = client_->run(slot,
                          {{"SPUBLISH", channel, std::string(event)},
                           {"SPUBLISH", redis_format::firehose_channel(p, slot), std::string(event)}},
                          &replies, Mode::kWrite);
  if (!s.is_ok()) return s;
  for (const Reply& r : replies)
    if (r.type != Reply::Type::kInteger) return unexpected("SPUBLISH", r);
  return Status::ok();
}

// --- items ---------------------------------------------------------------------

namespace {

Status bad_space(std::string_view space) {
  return Status::invalid_argument("item space '" + std::string(space) +
                                  "' cannot be stored in Redis: it is empty or contains '{' or '}'");
}

}  // namespace

Status RedisStore::get_item(std::string_view space, std::string_view key, std::string* value) {
  if (!redis_format::valid_thing(space)) return bad_space(space);
  std::string h = redis_format::item_values_key(options_.key_prefix, space);
  std::vector<Reply> replies;
  Status s = client_->run(redis::key_slot(h), {{"HGET", h, std::string(key)}}, &replies, Mode::kRead);
  if (!s.is_ok()) return s;
  if (replies[0].is_nil()) return Status::not_found();
  if (replies[0].type != Reply::Type::kString) return unexpected("HGET", replies[0]);
  *value = std::move(replies[0].str);
  return Status::ok();
}

Status RedisStore::put_item(std::string_view space, std::string_view key, std::string_view value, ItemWrite mode) {
  if (!redis_format::valid_thing(space)) return bad_space(space);
  const std::string& p = options_.key_prefix;
  std::string h = redis_format::item_values_key(p, space);
  static const std::string sha1 = redis_format::script_sha1(redis_format::item_put_script());
  Reply result;
  Status s = run_script(redis::key_slot(h), redis_format::item_put_script(), sha1,
                        {h, redis_format::item_index_key(p, space)},
                        {std::string(key), std::string(value), mode == ItemWrite::kIfAbsent ? "1" : "0"},
                        "item " + std::string(space) + "/" + std::string(key), &result);
  if (!s.is_ok()) return s;
  return result.integer == 1 ? Status::ok() : Status::conflict();
}

Status RedisStore::delete_item(std::string_view space, std::string_view key) {
  if (!redis_format::valid_thing(space)) return bad_space(space);
  const std::string& p = options_.key_prefix;
  std::string h = redis_format::item_values_key(p, space);
  static const std::string sha1 = redis_format::script_sha1(redis_format::item_delete_script());
  Reply result;
  return run_script(redis::key_slot(h), redis_format::item_delete_script(), sha1,
                    {h, redis_format::item_index_key(p, space)}, {std::string(key)},
                    "item " + std::string(space) + "/" + std::string(key), &result);
}

Status RedisStore::list_items(std::string_view space, std::string_view prefix, std::string_view after, size_t limit,
                              std::vector<Item>* items, bool* more) {
  items->clear();
  *more = false;
  if (!redis_format::valid_thing(space)) return bad_space(space);
  const std::string& p = options_.key_prefix;
  std::string h = redis_format::item_values_key(p, space), z = redis_format::item_index_key(p, space);
  auto [min, max] = redis_format::item_range(prefix, after);
  int slot = redis::key_slot(h);
  std::vector<Reply> replies;
  Status s = client_->run(slot, {{"ZRANGE", z, min, max, "BYLEX", "LIMIT", "0", std::to_string(limit + 1)}},
                          &replies, Mode::kRead);
  if (!s.is_ok()) return s;
  if (replies[0].type != Reply::Type::kArray) return unexpected("ZRANGE", replies[0]);
  std::vector<std::string> keys;
  for (const Reply& e : replies[0].elements) keys.push_back(e.str);
  *more = keys.size() > limit;
  if (*more) keys.resize(limit);
  if (keys.empty()) return Status::ok();
  Command hmget{"HMGET", h};
  hmget.insert(hmget.end(), keys.begin(), keys.end());
  s = client_->run(slot, {hmget}, &replies, Mode::kRead);
  if (!s.is_ok()) return s;
  if (replies[0].type != Reply::Type::kArray || replies[0].elements.size() != keys.size())
    return unexpected("HMGET", replies[0]);
  for (size_t i = 0; i < keys.size(); ++i) {
    // Deleted between the two reads: left out, as if listed a moment later.
    if (replies[0].elements[i].is_nil()) continue;
    items->push_back(Item{std::move(keys[i]), std::move(replies[0].elements[i].str)});
  }
  return Status::ok();
}

Status RedisStore::list_named(std::string_view thing, std::string_view after, size_t limit,
                                   std::vector<std::string>* names, bool* more) {
  names->clear();
  *more = false;
  if (!redis_format::valid_thing(thing)) return bad_thing(thing);
  std::string k = redis_format::index_key(options_.key_prefix, thing);
  std::string from = after.empty() ? std::string("-") : "(" + std::string(after);
  std::vector<Reply> replies;
  Status s = client_->run(redis::key_slot(k),
                          {{"ZRANGE", k, from, "+", "BYLEX", "LIMIT", "0", std::to_string(limit + 1)}}, &replies,
                          Mode::kRead);
  if (!s.is_ok()) return s;
  const Reply& r = replies[0];
  if (r.type != Reply::Type::kArray) return unexpected("ZRANGE", r);
  for (const Reply& e : r.elements) {
    if (names->size() == limit) {
      *more = true;
      break;
    }
    names->push_back(e.str);
  }
  return Status::ok();
}

Status RedisStore::read_many(const std::vector<std::pair<int, Command>>& commands, std::vector<Reply>* replies) {
  replies->assign(commands.size(), Reply());
  StatusOr<std::shared_ptr<const redis::SlotMap>> map = client_->slot_map();
  if (!map.ok()) return map.status();
  std::map<redis::NodeAddress, std::vector<size_t>> by_node;
  std::vector<size_t> single;
  for (size_t i = 0; i < commands.size(); ++i) {
    const redis::NodeAddress* node = map.value()->master_of(commands[i].first);
    if (node) {
      by_node[*node].push_back(i);
    } else {
      single.push_back(i);
    }
  }
  for (const auto& [node, indexes] : by_node) {
    std::vector<Command> pipeline;
    pipeline.reserve(indexes.size());
    for (size_t i : indexes) pipeline.push_back(commands[i].second);
    std::vector<Reply> out;
    if (!client_->run_on_node(node, pipeline, &out).is_ok()) {
      // The node failed as a whole (dead, failing over): read each command
      // through the retrying path.
      single.insert(single.end(), indexes.begin(), indexes.end());
      continue;
    }
    for (size_t j = 0; j < indexes.size(); ++j) {
      if (redis::classify_error(out[j]) != redis::ErrorAction::kNone) {
        single.push_back(indexes[j]);  // moved, migrating or refused: retried below
      } else {
        (*replies)[indexes[j]] = std::move(out[j]);
      }
    }
  }
  for (size_t i : single) {
    std::vector<Reply> out;
    Status s = client_->run(commands[i].first, {commands[i].second}, &out, Mode::kRead);
    if (!s.is_ok()) return s;
    (*replies)[i] = std::move(out[0]);
  }
  return Status::ok();
}

Status RedisStore::expand_things(const std::vector<std::string>& things, const StoreKey& after, size_t want,
                                 std::vector<StoreKey>* out) {
  const std::string& p = options_.key_prefix;
  size_t next = 0;
  while (next < things.size() && out->size() < want) {
    // Every listed thing has at least one live shadow (unless it changed a
    // moment ago), so reading as many things as keys are missing is enough
    // most of the time.
    size_t need = want - out->size();
    size_t batch_end = std::min(things.size(), next + need);
    std::vector<std::pair<int, Command>> commands;
    for (size_t i = next; i < batch_end; ++i) {
      const std::string& t = things[i];
      std::string classic = redis_format::shadow_key(p, t, "");
      int slot = redis::key_slot(classic);
      bool is_after = t == after.thing;
      std::string from = is_after && !after.shadow.empty() ? "(" + after.shadow : std::string("-");
      commands.push_back({slot, {"GET", classic}});
      commands.push_back({slot, {"ZRANGE", redis_format::index_key(p, t), from, "+", "BYLEX", "LIMIT", "0",
                                 std::to_string(need)}});
    }
    std::vector<Reply> replies;
    Status s = read_many(commands, &replies);
    if (!s.is_ok()) return s;
    for (size_t i = next; i < batch_end && out->size() < want; ++i) {
      const std::string& t = things[i];
      const Reply& classic = replies[2 * (i - next)];
      const Reply& named = replies[2 * (i - next) + 1];
      if (classic.type == Reply::Type::kString && t != after.thing) {
        ShadowRecord r;
        Status d = redis_format::decode_record(classic.str, &r);
        if (!d.is_ok()) return Status::io_error(redis_format::shadow_key(p, t, "") + ": " + d.message());
        if (!r.deleted) out->push_back({t, ""});
      } else if (classic.type != Reply::Type::kString && !classic.is_nil()) {
        return Status::io_error("Redis GET: unexpected reply " + classic.str);
      }
      if (named.type != Reply::Type::kArray) return Status::io_error("Redis ZRANGE: unexpected reply " + named.str);
      for (const Reply& n : named.elements) {
        if (out->size() == want) break;
        out->push_back({t, n.str});
      }
    }
    next = batch_end;
  }
  return Status::ok();
}

Status RedisStore::list_shadows(const StoreKey& after, size_t limit, std::vector<StoreKey>* keys, bool* more) {
  keys->clear();
  *more = false;
  if (!after.thing.empty() && !redis_format::valid_thing(after.thing)) return bad_thing(after.thing);
  const size_t want = limit + 1;  // one more than asked tells whether more follow
  constexpr int kSlots = redis::kSlotCount;

  // A k-way merge of the per-slot thing indexes (sorted sets): fetch the
  // next `batch` things of every slot not yet exhausted; every fetched thing
  // up to the smallest "last fetched" of those slots is then final in global
  // order and can be expanded into its shadows. Grow the batch until enough
  // keys are found or every slot is exhausted.
  struct Cursor {
    std::string last;
    bool started = false;
    bool exhausted = false;
  };
  std::vector<Cursor> cursors(kSlots);
  std::set<std::string> pending;
  std::vector<StoreKey> found;
  size_t batch = std::max<size_t>(4, want / kSlots + 4);
  for (int round = 0; round < 64; ++round) {
    std::vector<std::pair<int, Command>> commands;
    std::vector<int> slots;
    for (int s = 0; s < kSlots; ++s) {
      Cursor& c = cursors[s];
      if (c.exhausted) continue;
      std::string from = c.started ? "(" + c.last : after.thing.empty() ? std::string("-") : "[" + after.thing;
      commands.push_back({s, {"ZRANGE", redis_format::things_key(options_.key_prefix, s), from, "+", "BYLEX",
                              "LIMIT", "0", std::to_string(batch)}});
      slots.push_back(s);
    }
    std::vector<Reply> replies;
    Status st = read_many(commands, &replies);
    if (!st.is_ok()) return st;
    for (size_t i = 0; i < slots.size(); ++i) {
      const Reply& r = replies[i];
      if (r.type != Reply::Type::kArray) return unexpected("ZRANGE", r);
      Cursor& c = cursors[slots[i]];
      for (const Reply& e : r.elements) pending.insert(e.str);
      if (r.elements.size() < batch) {
        c.exhausted = true;
      } else {
        c.last = r.elements.back().str;
        c.started = true;
      }
    }
    const std::string* bound = nullptr;  // null: every slot exhausted, all pending things are final
    for (const Cursor& c : cursors)
      if (!c.exhausted && (!bound || c.last < *bound)) bound = &c.last;
    std::vector<std::string> settled;
    auto end = bound ? pending.upper_bound(*bound) : pending.end();
    settled.assign(pending.begin(), end);
    pending.erase(pending.begin(), end);
    st = expand_things(settled, after, want, &found);
    if (!st.is_ok()) return st;
    if (found.size() >= want || !bound) break;
    batch *= 4;
  }
  *more = found.size() > limit;
  if (found.size() > limit) found.resize(limit);
  *keys = std::move(found);
  return Status::ok();
}

Status RedisStore::scan_shadows(std::string_view after_thing, std::string_view thing_prefix,
                                const ShadowVisitor& visit) {
  constexpr size_t kPage = 1000;
  // A shadow name sorting after every valid one: (thing, kPastNames) is
  // past all of a thing's shadows.
  const std::string kPastNames = "\x7f";
  bool stop = false;
  auto emit = [&](const StoreKey& k) -> Status {
    ShadowRecord r;
    Status st = get(k, &r);
    if (st.is_not_found()) return Status::ok();  // deleted since it was listed
    if (!st.is_ok()) return st;
    if (r.deleted) return Status::ok();
    stop = !visit(ShadowEntry{k.thing, k.shadow, r.version, r.document});
    return Status::ok();
  };
  StoreKey after;
  if (!after_thing.empty() && after_thing >= thing_prefix) {
    after = StoreKey{std::string(after_thing), kPastNames};
  } else if (!thing_prefix.empty()) {
    // list_shadows starts strictly after a key: the thing named exactly
    // like the prefix is read first, by hand.
    if (redis_format::valid_thing(thing_prefix)) {
      Status st = emit(StoreKey{std::string(thing_prefix), ""});
      std::string name_after;
      bool more = true;
      while (st.is_ok() && !stop && more) {
        std::vector<std::string> names;
        st = list_named(thing_prefix, name_after, kPage, &names, &more);
        for (size_t i = 0; st.is_ok() && !stop && i < names.size(); ++i)
          st = emit(StoreKey{std::string(thing_prefix), names[i]});
        if (!names.empty()) name_after = names.back();
      }
      if (!st.is_ok() || stop) return st;
    }
    after = StoreKey{std::string(thing_prefix), kPastNames};
  }
  while (!stop) {
    std::vector<StoreKey> keys;
    bool more = false;
    Status st = list_shadows(after, kPage, &keys, &more);
    if (!st.is_ok()) return st;
    for (const StoreKey& k : keys) {
      if (!k.thing.starts_with(thing_prefix)) return Status::ok();
      st = emit(k);
      if (!st.is_ok()) return st;
      if (stop) return Status::ok();
    }
    if (!more || keys.empty()) return Status::ok();
    after = keys.back();
  }
  return Status::ok();
}

Status RedisStore::health() {
  Status s = client_->health();
  if (!s.is_ok() || options_.wait_replicas == 0) return s;
  StatusOr<std::shared_ptr<const redis::SlotMap>> map = client_->slot_map();
  if (!map.ok()) return map.status();
  std::string short_of;
  for (const redis::NodeAddress& m : map.value()->masters()) {
    std::vector<Reply> replies;
    Status i = client_->run_on_node(m, {{"INFO", "replication"}}, &replies);
    if (!i.is_ok()) return i;
    // One "slave<i>:ip=...,port=...,state=online,..." line per replica; a
    // replica still loading the master's data (state wait_bgsave,
    // send_bulk) cannot confirm writes yet.
    std::istringstream lines(replies[0].str);
    std::string line;
    long online = 0;
    while (std::getline(lines, line))
      if (line.rfind("slave", 0) == 0 && line.find("state=online") != std::string::npos) ++online;
    if (online < options_.wait_replicas)
      short_of += (short_of.empty() ? "" : ", ") + m.to_string() + " has " + std::to_string(online);
  }
  if (!short_of.empty())
    return Status::unavailable("writes cannot be confirmed by " + std::to_string(options_.wait_replicas) +
                               " replica(s): " + short_of + " replica(s) online");
  return Status::ok();
}

RedisStore::Counters RedisStore::counters() {
  Counters c;
  c.cluster = client_->counters();
  c.unconfirmed_writes = unconfirmed_writes_.load();
  c.script_loads = script_loads_.load();
  c.batches = writes_.counters();
  return c;
}

}  // namespace shadow

// Cluster mode, the broker side of interest tracking: which things this
// broker's clients subscribe to, so that it receives the events other
// brokers publish for them (plugin/cluster/cluster_events.h).
//
// Mosquitto 2.0.11 has no SUBSCRIBE event, but it runs the ACL check with
// access SUBSCRIBE for every filter of a SUBSCRIBE and with UNSUBSCRIBE for
// every filter of an UNSUBSCRIBE, before it answers the client. This hook
// is registered ahead of the plugin's authorization check (acl_check.h) and
// always defers to it: it only watches. DISCONNECT drops the interest of a
// clean session.
//
// Broker thread only.
#pragma once

namespace shadow::cluster {
class ClusterEvents;
}

namespace shadow::plugin {

class ClusterHooks {
 public:
  // `events` must outlive the object.
  explicit ClusterHooks(cluster::ClusterEvents& events) : events_(events) {}

  // MOSQ_EVT_ACL_CHECK: always MOSQ_ERR_PLUGIN_DEFER (the next ACL callback
  // decides). Register it before the authorization callback.
  int on_acl_check(int event, void* event_data);
  // MOSQ_EVT_DISCONNECT. Always MOSQ_ERR_SUCCESS.
  int on_disconnect(int event, void* event_data);

 private:
  cluster::ClusterEvents& events_;
};

}  // namespace shadow::plugin

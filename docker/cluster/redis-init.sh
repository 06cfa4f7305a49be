#!/bin/sh
# One-shot service of the `cluster` profile: joins the six Redis nodes into
# one cluster (3 masters, 3 replicas) on the first start. Later starts find
# the cluster made (the nodes keep it in their volumes) and only wait until it
# serves every slot. Every wait is bounded.
set -eu
nodes="redis-1 redis-2 redis-3 redis-4 redis-5 redis-6"

say() { echo "shadow-redis-init: $*"; }
state() { redis-cli -h redis-1 cluster info 2>/dev/null | tr -d '\r' | sed -n "s/^$1:\(.*\)/\1/p"; }

addresses=""
for node in $nodes; do
  tries=0
  until redis-cli -h "$node" ping >/dev/null 2>&1; do
    tries=$((tries + 1))
    [ "$tries" -le 60 ] || { say "$node does not answer after 60 s; see: docker compose logs $node" >&2; exit 1; }
    sleep 1
  done
  # redis-cli --cluster create wants addresses, not names.
  address=$(getent hosts "$node" | awk '{ print $1; exit }')
  addresses="$addresses $address:6379"
done

if [ "$(state cluster_known_nodes)" = 1 ]; then
  say "creating the cluster:$addresses"
  # shellcheck disable=SC2086 # one argument per address
  redis-cli --cluster create $addresses --cluster-replicas 1 --cluster-yes
else
  say "the cluster exists already ($(state cluster_known_nodes) nodes)"
fi

tries=0
until [ "$(state cluster_state)" = ok ]; do
  tries=$((tries + 1))
  [ "$tries" -le 60 ] || { say "the cluster does not serve every slot after 60 s: $(state cluster_state)" >&2; exit 1; }
  sleep 1
done
say "the cluster serves every slot"

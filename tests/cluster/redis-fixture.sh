#!/usr/bin/env bash
# The Redis Cluster that the cluster-mode test suites share (ctest fixture
# shadow_test_redis): 3 masters + 3 replicas of Debian's redis-server on
# free ports of 127.0.0.1 (scripts/redis-cluster.sh). Each test uses a key
# prefix of its own on it.
#
# Usage: tests/cluster/redis-fixture.sh start|stop DIR
#   start  starts the cluster in DIR/cluster and writes its node list to DIR/nodes
#   stop   stops it and removes DIR
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
script=$root/scripts/redis-cluster.sh
command=${1:-}
dir=${2:-}
[[ -n $command && -n $dir ]] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

case $command in
  start)
    # A cluster left by an interrupted run goes first.
    "$script" stop --dir "$dir/cluster" >/dev/null 2>&1 || true
    rm -rf "$dir"
    mkdir -p "$dir"
    for _ in 1 2 3; do
      for _ in $(seq 1 50); do
        base=$((20000 + (RANDOM % 1000) * 10))
        ok=true
        for i in 0 1 2 3 4 5; do
          port_free $((base + i)) && port_free $((base + i + 10000)) || { ok=false; break; }
        done
        $ok && break
      done
      if "$script" start --dir "$dir/cluster" --base-port "$base"; then
        "$script" nodes --dir "$dir/cluster" >"$dir/nodes"
        exit 0
      fi
      "$script" stop --dir "$dir/cluster" >/dev/null 2>&1 || true
    done
    echo "redis-fixture: could not start a Redis Cluster" >&2
    exit 1
    ;;
  stop)
    "$script" stop --dir "$dir/cluster"
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac

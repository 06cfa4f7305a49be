#!/usr/bin/env bash
# Runs a command against a fresh Redis Cluster (3 masters + 3 replicas on
# 127.0.0.1, scripts/redis-cluster.sh) and removes the cluster afterwards,
# whatever the command's outcome.
#
# Usage: tests/redis/with-cluster.sh [--tls] [--password] -- COMMAND [ARGS...]
#   --tls       TLS only, with a throw-away CA and client certificate
#   --password  require a random password
# The command finds the cluster in the environment:
#   SHADOW_REDIS_NODES          127.0.0.1:P,...  (the six nodes)
#   SHADOW_REDIS_DIR            the cluster directory (pid files, logs)
#   SHADOW_REDIS_SCRIPT         scripts/redis-cluster.sh
#   SHADOW_REDIS_TLS_DIR        certificates (--tls): ca.crt, client.crt, client.key
#   SHADOW_REDIS_PASSWORD_FILE  the password (--password)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
script=$root/scripts/redis-cluster.sh
tls=false
password=false
while [[ $# -gt 0 ]]; do
  case $1 in
    --tls) tls=true; shift ;;
    --password) password=true; shift ;;
    --) shift; break ;;
    *) echo "with-cluster: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ $# -gt 0 ]] || { echo "usage: $0 [--tls] [--password] -- COMMAND [ARGS...]" >&2; exit 2; }

work=$(mktemp -d /tmp/shadow-redis-test.XXXXXX)
cleanup() {
  "$script" stop --dir "$work/cluster" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

args=(--dir "$work/cluster")
if $tls; then
  "$root/scripts/gen-certs.sh" "$work/certs" client >/dev/null
  args+=(--tls "$work/certs")
  export SHADOW_REDIS_TLS_DIR=$work/certs
fi
if $password; then
  head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$work/password"
  args+=(--password-file "$work/password")
  export SHADOW_REDIS_PASSWORD_FILE=$work/password
fi

# True when nothing listens on port $1 of 127.0.0.1.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Six ports and their cluster bus ports (+10000), all free; other test runs
# on this machine pick other ranges.
pick_base() {
  local base i
  for _ in $(seq 1 50); do
    base=$((20000 + (RANDOM % 1000) * 10))
    for i in 0 1 2 3 4 5; do
      port_free $((base + i)) && port_free $((base + i + 10000)) || continue 2
    done
    echo "$base"
    return 0
  done
  echo "with-cluster: no free port range found" >&2
  return 1
}

started=false
for _ in 1 2 3; do
  base=$(pick_base)
  if "$script" start "${args[@]}" --base-port "$base"; then
    started=true
    break
  fi
  echo "with-cluster: start on base port $base failed; trying another range" >&2
  "$script" stop --dir "$work/cluster" >/dev/null 2>&1 || true
done
$started || { echo "with-cluster: could not start a Redis Cluster" >&2; exit 1; }

export SHADOW_REDIS_NODES
SHADOW_REDIS_NODES=$("$script" nodes --dir "$work/cluster")
export SHADOW_REDIS_DIR=$work/cluster
export SHADOW_REDIS_SCRIPT=$script
"$@"

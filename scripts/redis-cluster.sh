#!/usr/bin/env bash
# Starts and stops a Redis Cluster of 3 masters and 3 replicas on 127.0.0.1,
# with Debian's redis-server, for tests and trials of the redis-cluster store.
#
# Usage: scripts/redis-cluster.sh COMMAND [options]
#   start              start 6 nodes, create the cluster, wait until it is ok
#   stop               stop every node (SIGTERM, then SIGKILL) and delete --dir
#   status             one line per node: port, pid, role, cluster state
#   start-node PORT    start one node again (after a kill -9) with its old
#                      data and cluster configuration; it rejoins the cluster
#   nodes              print the node list for plugin_opt_redis_nodes
# Options:
#   --dir D            where the nodes keep config, data and logs
#                      (default /tmp/shadow-redis-cluster)
#   --base-port P      ports P..P+5 (default 27001); cluster bus ports P+10000..
#   --password-file F  require this password (requirepass/masterauth, first line of F)
#   --tls CERTDIR      TLS only (no plain port), with CERTDIR/{ca,server}.{crt,key}
#                      and a client certificate CERTDIR/client.{crt,key} for
#                      redis-cli (make them with scripts/gen-certs.sh CERTDIR client)
#   --keep             with stop: keep --dir (logs, data)
# start records --base-port, --password-file and --tls in --dir, so the other
# commands only need --dir.
#
# Node settings are the ones recommended for the store (docs/scale-out.md):
# AOF everysec, min-replicas-to-write 1, noeviction, and a short
# cluster-node-timeout (2 s) so that failovers in tests take seconds.
# Every wait is bounded; a failure says which node and where its log is.
set -euo pipefail

command=${1:-}
[[ -n $command ]] && shift || true
dir=${SHADOW_REDIS_DIR:-/tmp/shadow-redis-cluster}
base_port=27001
password_file=""
tls_dir=""
keep=false
node_port=""
opt_base_port="" opt_password_file="" opt_tls_dir=""

usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "redis-cluster: error: $*" >&2; exit 1; }
say() { echo "redis-cluster: $*"; }

if [[ $command == start-node ]]; then
  node_port=${1:-}
  [[ $node_port =~ ^[0-9]+$ ]] || die "start-node needs the node's port"
  shift
fi
while [[ $# -gt 0 ]]; do
  case $1 in
    --dir) dir=${2:?--dir needs a directory}; shift 2 ;;
    --base-port) base_port=${2:?--base-port needs a number}; opt_base_port=$base_port; shift 2 ;;
    --password-file) password_file=${2:?--password-file needs a file}; opt_password_file=$password_file; shift 2 ;;
    --tls) tls_dir=${2:?--tls needs a certificate directory}; opt_tls_dir=$tls_dir; shift 2 ;;
    --keep) keep=true; shift ;;
    -h|--help) usage ;;
    *) echo "redis-cluster: unknown option $1" >&2; usage ;;
  esac
done
# Settings recorded by start (explicit options win).
if [[ $command != start && -r $dir/cluster.env ]]; then
  # shellcheck source=/dev/null
  . "$dir/cluster.env"
  base_port=${opt_base_port:-$recorded_base_port}
  password_file=${opt_password_file:-$recorded_password_file}
  tls_dir=${opt_tls_dir:-$recorded_tls_dir}
fi
[[ $base_port =~ ^[0-9]+$ ]] && (( base_port >= 1024 && base_port + 10005 <= 65535 )) ||
  die "--base-port must be 1024..55530 (the cluster bus uses port + 10000)"

redis_server=$(command -v redis-server || true)
redis_cli=$(command -v redis-cli || true)
[[ -n $redis_server && -n $redis_cli ]] ||
  die "redis-server and redis-cli are missing: apt-get install redis-server redis-tools (or scripts/install-deps.sh)"

ports=()
for i in 0 1 2 3 4 5; do ports+=($((base_port + i))); done

password=""
if [[ -n $password_file ]]; then
  [[ -r $password_file ]] || die "cannot read the password file $password_file"
  password=$(head -n 1 "$password_file" | tr -d '\r\n')
  [[ -n $password ]] || die "the password file $password_file has an empty first line"
fi
if [[ -n $tls_dir ]]; then
  tls_dir=$(cd "$tls_dir" && pwd) || die "no such certificate directory: $tls_dir"
  for f in ca.crt server.crt server.key client.crt client.key; do
    [[ -r $tls_dir/$f ]] || die "missing $tls_dir/$f; make it with: scripts/gen-certs.sh $tls_dir client"
  done
fi

# redis-cli with the cluster's TLS and password settings, bounded by
# $cli_timeout seconds.
cli_timeout=10
cli() {
  local args=(-h 127.0.0.1)
  [[ -n $tls_dir ]] && args+=(--tls --cacert "$tls_dir/ca.crt" --cert "$tls_dir/client.crt" --key "$tls_dir/client.key")
  [[ -n $password ]] && args+=(--no-auth-warning -a "$password")
  timeout "$cli_timeout" "$redis_cli" "${args[@]}" "$@"
}

pid_of() {
  local f=$dir/$1/redis.pid
  [[ -f $f ]] || return 1
  local pid
  pid=$(cat "$f")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

write_config() {
  local port=$1 d=$dir/$1
  mkdir -p "$d"
  {
    echo "bind 127.0.0.1"
    if [[ -n $tls_dir ]]; then
      echo "port 0"
      echo "tls-port $port"
      echo "tls-cert-file $tls_dir/server.crt"
      echo "tls-key-file $tls_dir/server.key"
      echo "tls-ca-cert-file $tls_dir/ca.crt"
      # Nodes connect to each other (cluster bus, replication) as TLS
      # clients; the server certificate is for serverAuth only.
      echo "tls-client-cert-file $tls_dir/client.crt"
      echo "tls-client-key-file $tls_dir/client.key"
      echo "tls-cluster yes"
      echo "tls-replication yes"
    else
      echo "port $port"
    fi
    if [[ -n $password ]]; then
      echo "requirepass \"$password\""
      echo "masterauth \"$password\""
    fi
    cat <<EOF
daemonize yes
pidfile $d/redis.pid
logfile $d/redis.log
dir $d
cluster-enabled yes
cluster-config-file nodes.conf
cluster-node-timeout 2000
appendonly yes
appendfsync everysec
save ""
min-replicas-to-write 1
min-replicas-max-lag 2
maxmemory 256mb
maxmemory-policy noeviction
client-output-buffer-limit pubsub 256mb 64mb 60
EOF
  } >"$d/redis.conf"
  chmod 600 "$d/redis.conf"
}

start_node() {
  local port=$1
  [[ -f $dir/$port/redis.conf ]] || die "no node on port $port in $dir"
  if pid_of "$port" >/dev/null; then die "node $port is already running"; fi
  "$redis_server" "$dir/$port/redis.conf" || die "redis-server on port $port did not start; see $dir/$port/redis.log"
}

# Waits (bounded) until `cli -p PORT PING` answers.
wait_ping() {
  local port=$1
  for _ in $(seq 1 100); do
    [[ $(cli -p "$port" PING 2>/dev/null) == PONG ]] && return 0
    sleep 0.1
  done
  die "node $port does not answer PING after 10 s; see $dir/$port/redis.log"
}

cluster_ok() {
  local port
  for port in "${ports[@]}"; do
    cli -p "$port" CLUSTER INFO 2>/dev/null | grep -q '^cluster_state:ok' || return 1
  done
  # Every master has a replica online, done with its initial sync
  # (min-replicas-to-write 1 needs it).
  for port in "${ports[@]}"; do
    local info
    info=$(cli -p "$port" INFO replication 2>/dev/null) || return 1
    if grep -q '^role:master' <<<"$info"; then
      grep -Eq '^slave[0-9]+:.*state=online' <<<"$info" || return 1
    fi
  done
}

case $command in
  start)
    for port in "${ports[@]}"; do
      if pid_of "$port" >/dev/null; then die "a node is already running on port $port (pid file in $dir); run stop first"; fi
      [[ ! -e $dir/$port/nodes.conf ]] || die "$dir/$port holds an old cluster; run: $0 stop --dir $dir"
    done
    mkdir -p "$dir"
    if [[ -n $password_file ]]; then password_file=$(cd "$(dirname "$password_file")" && pwd)/$(basename "$password_file"); fi
    printf 'recorded_base_port=%q\nrecorded_password_file=%q\nrecorded_tls_dir=%q\n' \
      "$base_port" "$password_file" "$tls_dir" >"$dir/cluster.env"
    say "starting 6 nodes on 127.0.0.1:${ports[0]}-${ports[5]} in $dir${tls_dir:+ (TLS)}${password:+ (password)}"
    for port in "${ports[@]}"; do
      write_config "$port"
      start_node "$port"
    done
    for port in "${ports[@]}"; do wait_ping "$port"; done
    say "creating the cluster: 3 masters, 1 replica each"
    endpoints=()
    for port in "${ports[@]}"; do endpoints+=("127.0.0.1:$port"); done
    # It waits for the nodes to meet through the cluster bus: seconds, more
    # on a busy machine.
    cli_timeout=120 cli --cluster create "${endpoints[@]}" --cluster-replicas 1 --cluster-yes >"$dir/create.log" 2>&1 ||
      die "redis-cli --cluster create failed or took over 120 s; see $dir/create.log"
    for i in $(seq 1 300); do
      if cluster_ok; then
        say "cluster ok after $((i / 10)).$((i % 10)) s; nodes: $(IFS=,; echo "${endpoints[*]}")"
        exit 0
      fi
      sleep 0.1
    done
    die "the cluster did not reach cluster_state:ok with every replica online within 30 s; see $dir/*/redis.log and: $0 status --dir $dir"
    ;;

  stop)
    stopped=0
    pids=()
    for port in "${ports[@]}"; do
      if pid=$(pid_of "$port"); then
        kill -TERM "$pid" 2>/dev/null || true
        pids+=("$pid")
      fi
    done
    for pid in "${pids[@]}"; do
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$pid" 2>/dev/null; then
        say "pid $pid did not stop within 5 s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
      fi
      stopped=$((stopped + 1))
    done
    if ! $keep && [[ -d $dir ]]; then
      for port in "${ports[@]}"; do rm -rf "${dir:?}/$port"; done
      rm -f "$dir/create.log" "$dir/cluster.env"
      rmdir "$dir" 2>/dev/null || true
    fi
    say "stopped $stopped node(s)"
    ;;

  status)
    printf '%-6s %-8s %-8s %s\n' PORT PID ROLE CLUSTER
    for port in "${ports[@]}"; do
      pid=$(pid_of "$port" || echo -)
      role=-
      state=-
      if [[ $pid != - ]]; then
        role=$(cli -p "$port" ROLE 2>/dev/null | head -n 1 || echo '?')
        state=$(cli -p "$port" CLUSTER INFO 2>/dev/null | tr -d '\r' | sed -n 's/^cluster_state://p' || echo '?')
      fi
      printf '%-6s %-8s %-8s %s\n' "$port" "$pid" "${role:-?}" "${state:-?}"
    done
    ;;

  start-node)
    start_node "$node_port"
    wait_ping "$node_port"
    say "node $node_port started"
    ;;

  nodes)
    (IFS=,; for port in "${ports[@]}"; do printf '127.0.0.1:%s\n' "$port"; done) | paste -sd, -
    ;;

  *)
    usage
    ;;
esac

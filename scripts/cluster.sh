#!/usr/bin/env bash
# Starts and stops a whole mosquitto-shadow cluster on 127.0.0.1, without
# Docker, for tests and trials: a Redis Cluster (3 masters + 3 replicas,
# scripts/redis-cluster.sh), brokers with the plugin in redis-cluster mode,
# and HAProxy (Debian's haproxy) in front of them for MQTT (TCP) and REST
# (HTTP). docs/scale-out.md describes the topology.
#
# Usage: scripts/cluster.sh COMMAND [options]
#   start              start everything, wait until every part answers
#   stop               stop everything (brokers, HAProxy, Redis) and delete --dir
#   status             one line per process
#   stop-broker N      stop broker N (1..--brokers) with SIGKILL, as a crash would
#   start-broker N     start broker N again
# Options:
#   --dir D            where configuration, logs and data go (default /tmp/shadow-cluster)
#   --base-port P      HAProxy: MQTT on P, REST on P+1; broker N: MQTT on P+10+N,
#                      REST on P+20+N; Redis nodes on P+100..P+105 (default 28830)
#   --brokers N        how many brokers (default 3)
#   --plugin PATH      the plugin (default: build/mosquitto_shadow.so of this checkout)
#   --http-auth MODE   sigv4 (default: a key is generated into D/credentials) or none
#   --keep             with stop: keep --dir (logs)
# start records its options in --dir, so the other commands only need --dir.
#
# Clients connect to HAProxy (or to any broker directly); every broker serves
# every thing. Every wait is bounded; a failure says where the log is.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
command=${1:-}
[[ -n $command ]] && shift || true
dir=${SHADOW_CLUSTER_DIR:-/tmp/shadow-cluster}
base_port=28830
brokers=3
plugin=$root/build/mosquitto_shadow.so
http_auth=sigv4
keep=false
broker_arg=""
opt_base_port="" opt_brokers="" opt_plugin="" opt_http_auth=""

usage() { sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "cluster: error: $*" >&2; exit 1; }
say() { echo "cluster: $*"; }

if [[ $command == stop-broker || $command == start-broker ]]; then
  broker_arg=${1:-}
  [[ $broker_arg =~ ^[0-9]+$ ]] || die "$command needs the broker's number"
  shift
fi
while [[ $# -gt 0 ]]; do
  case $1 in
    --dir) dir=${2:?--dir needs a directory}; shift 2 ;;
    --base-port) base_port=${2:?}; opt_base_port=$base_port; shift 2 ;;
    --brokers) brokers=${2:?}; opt_brokers=$brokers; shift 2 ;;
    --plugin) plugin=${2:?}; opt_plugin=$plugin; shift 2 ;;
    --http-auth) http_auth=${2:?}; opt_http_auth=$http_auth; shift 2 ;;
    --keep) keep=true; shift ;;
    -h|--help) usage ;;
    *) echo "cluster: unknown option $1" >&2; usage ;;
  esac
done
if [[ $command != start && -r $dir/cluster.env ]]; then
  # shellcheck source=/dev/null
  . "$dir/cluster.env"
  base_port=${opt_base_port:-$recorded_base_port}
  brokers=${opt_brokers:-$recorded_brokers}
  plugin=${opt_plugin:-$recorded_plugin}
  http_auth=${opt_http_auth:-$recorded_http_auth}
fi
[[ $base_port =~ ^[0-9]+$ ]] && (( base_port >= 1024 && base_port + 10105 <= 65535 )) ||
  die "--base-port must be 1024..55430 (Redis uses P+100.. and its cluster bus P+10100..)"
[[ $brokers =~ ^[0-9]+$ ]] && (( brokers >= 1 && brokers <= 9 )) || die "--brokers must be 1..9"
[[ $http_auth == sigv4 || $http_auth == none ]] || die "--http-auth must be sigv4 or none"

mqtt_lb=$base_port
rest_lb=$((base_port + 1))
redis_base=$((base_port + 100))
redis_script=$root/scripts/redis-cluster.sh
redis_dir=$dir/redis
mosquitto=$(command -v mosquitto || echo /usr/sbin/mosquitto)
haproxy=$(command -v haproxy || echo /usr/sbin/haproxy)

broker_mqtt() { echo $((base_port + 10 + $1)); }
broker_rest() { echo $((base_port + 20 + $1)); }

pid_from() {
  local f=$1
  [[ -f $f ]] || return 1
  local pid
  pid=$(cat "$f")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# True when something listens on 127.0.0.1:$1.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_listening() {
  local port=$1 what=$2 log=$3
  for _ in $(seq 1 100); do
    listening "$port" && return 0
    sleep 0.1
  done
  die "$what does not listen on port $port after 10 s; see $log"
}

write_broker_config() {
  local n=$1 d=$dir/broker$1
  mkdir -p "$d"
  {
    [[ $(id -u) == 0 ]] && echo "user root"
    cat <<EOF
# Broker $n of the cluster (scripts/cluster.sh).
listener $(broker_mqtt "$n") 127.0.0.1
allow_anonymous true
persistence false
log_dest file $d/mosquitto.log
log_type error
log_type warning
log_type notice
log_type information
set_tcp_nodelay true
plugin $plugin
plugin_opt_store redis-cluster
plugin_opt_redis_nodes $("$redis_script" nodes --dir "$redis_dir")
plugin_opt_acl_fallback allow
plugin_opt_http_listen 127.0.0.1:$(broker_rest "$n")
EOF
    if [[ $http_auth == sigv4 ]]; then
      echo "plugin_opt_http_credentials_file $dir/credentials"
    else
      echo "plugin_opt_http_auth none"
    fi
  } >"$d/mosquitto.conf"
}

start_broker() {
  local n=$1 d=$dir/broker$1
  if pid_from "$d/mosquitto.pid" >/dev/null; then die "broker $n is already running"; fi
  [[ -f $d/mosquitto.conf ]] || die "no broker $n in $dir"
  "$mosquitto" -c "$d/mosquitto.conf" >>"$d/stderr.log" 2>&1 &
  echo $! >"$d/mosquitto.pid"
  wait_listening "$(broker_mqtt "$n")" "broker $n" "$d/mosquitto.log"
  wait_listening "$(broker_rest "$n")" "broker $n (REST)" "$d/mosquitto.log"
}

write_haproxy_config() {
  # HAProxy needs two descriptors per connection (client and server side)
  # and refuses to start when maxconn does not fit the open-files limit.
  local maxconn=$(( ($(ulimit -n) - 100) / 2 ))
  (( maxconn > 20000 )) && maxconn=20000
  {
    cat <<EOF
# HAProxy in front of the brokers (scripts/cluster.sh): MQTT as plain TCP,
# REST as HTTP, both balanced over every broker that passes its check.
global
    maxconn $maxconn
    log stdout format raw local0 notice
defaults
    timeout connect 2s
    timeout client 10m
    timeout server 10m
    timeout check 2s
    log global
frontend mqtt
    mode tcp
    bind 127.0.0.1:$mqtt_lb
    default_backend brokers_mqtt
backend brokers_mqtt
    mode tcp
    balance leastconn
EOF
    # A broker takes MQTT clients while its process is up (checked on its
    # REST port, so that the checks do not fill the brokers' logs with MQTT
    # connections); shadow requests need Redis, other MQTT traffic does not.
    for n in $(seq 1 "$brokers"); do
      echo "    server broker$n 127.0.0.1:$(broker_mqtt "$n") check port $(broker_rest "$n") inter 1s fall 2 rise 2"
    done
    cat <<EOF
frontend rest
    mode http
    bind 127.0.0.1:$rest_lb
    default_backend brokers_rest
backend brokers_rest
    mode http
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
EOF
    for n in $(seq 1 "$brokers"); do
      echo "    server broker$n 127.0.0.1:$(broker_rest "$n") check inter 1s fall 2 rise 2"
    done
  } >"$dir/haproxy.cfg"
}

stop_pid_file() {
  local f=$1 signal=${2:-TERM} pid
  pid=$(pid_from "$f") || return 0
  kill "-$signal" "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$f"
}

case $command in
  start)
    [[ -f $plugin ]] || die "no plugin at $plugin; build it (cmake --build build) or give --plugin"
    [[ -x $mosquitto ]] || die "mosquitto is missing: apt-get install mosquitto"
    [[ -x $haproxy ]] || die "haproxy is missing: apt-get install haproxy (or scripts/install-deps.sh)"
    [[ ! -e $dir/cluster.env ]] || die "$dir holds a cluster already; run: $0 stop --dir $dir"
    for port in "$mqtt_lb" "$rest_lb"; do ! listening "$port" || die "port $port is taken; choose another --base-port"; done
    mkdir -p "$dir"
    plugin=$(cd "$(dirname "$plugin")" && pwd)/$(basename "$plugin")
    printf 'recorded_base_port=%q\nrecorded_brokers=%q\nrecorded_plugin=%q\nrecorded_http_auth=%q\n' \
      "$base_port" "$brokers" "$plugin" "$http_auth" >"$dir/cluster.env"
    "$redis_script" start --dir "$redis_dir" --base-port "$redis_base"
    if [[ $http_auth == sigv4 && ! -f $dir/credentials ]]; then
      key=AKIA$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F | head -c 16)
      secret=$(head -c 30 /dev/urandom | base64 | tr -d '/+=' | head -c 40)
      (umask 077; echo "$key $secret" >"$dir/credentials")
    fi
    for n in $(seq 1 "$brokers"); do
      write_broker_config "$n"
      start_broker "$n"
    done
    write_haproxy_config
    "$haproxy" -c -f "$dir/haproxy.cfg" >"$dir/haproxy-check.log" 2>&1 ||
      die "HAProxy refused its configuration; see $dir/haproxy-check.log"
    "$haproxy" -f "$dir/haproxy.cfg" -D -p "$dir/haproxy.pid" >>"$dir/haproxy.log" 2>&1 ||
      die "HAProxy did not start; see $dir/haproxy.log"
    wait_listening "$mqtt_lb" HAProxy "$dir/haproxy.log"
    wait_listening "$rest_lb" HAProxy "$dir/haproxy.log"
    say "cluster up: MQTT 127.0.0.1:$mqtt_lb, REST http://127.0.0.1:$rest_lb (HAProxy over $brokers brokers)"
    for n in $(seq 1 "$brokers"); do
      say "  broker $n: MQTT 127.0.0.1:$(broker_mqtt "$n"), REST http://127.0.0.1:$(broker_rest "$n"), log $dir/broker$n/mosquitto.log"
    done
    say "  Redis Cluster: $("$redis_script" nodes --dir "$redis_dir")"
    [[ $http_auth == sigv4 ]] && say "  REST key (SigV4, region us-east-1): $dir/credentials"
    exit 0
    ;;

  stop)
    stop_pid_file "$dir/haproxy.pid"
    for n in $(seq 1 "$brokers"); do stop_pid_file "$dir/broker$n/mosquitto.pid"; done
    redis_args=(stop --dir "$redis_dir")
    $keep && redis_args+=(--keep)
    "$redis_script" "${redis_args[@]}" >/dev/null 2>&1 || true
    if ! $keep && [[ -d $dir ]]; then
      for n in $(seq 1 "$brokers"); do rm -rf "${dir:?}/broker$n"; done
      rm -f "$dir"/haproxy.* "$dir/haproxy-check.log" "$dir/credentials" "$dir/cluster.env"
      rm -rf "$redis_dir"
      rmdir "$dir" 2>/dev/null || true
    fi
    say "stopped"
    ;;

  status)
    printf '%-10s %-8s %s\n' PROCESS PID PORTS
    printf '%-10s %-8s %s\n' haproxy "$(pid_from "$dir/haproxy.pid" || echo -)" "mqtt $mqtt_lb, rest $rest_lb"
    for n in $(seq 1 "$brokers"); do
      printf '%-10s %-8s %s\n' "broker$n" "$(pid_from "$dir/broker$n/mosquitto.pid" || echo -)" \
        "mqtt $(broker_mqtt "$n"), rest $(broker_rest "$n")"
    done
    "$redis_script" status --dir "$redis_dir"
    ;;

  stop-broker)
    (( broker_arg >= 1 && broker_arg <= brokers )) || die "no broker $broker_arg (1..$brokers)"
    stop_pid_file "$dir/broker$broker_arg/mosquitto.pid" KILL
    say "broker $broker_arg killed"
    ;;

  start-broker)
    (( broker_arg >= 1 && broker_arg <= brokers )) || die "no broker $broker_arg (1..$brokers)"
    start_broker "$broker_arg"
    say "broker $broker_arg started"
    ;;

  *)
    usage
    ;;
esac

#!/usr/bin/env bash
# Installs every Debian 12 package needed to build, run and test
# mosquitto-shadow. Safe to run again: packages already installed are
# skipped, and the package index is refreshed only when something is missing.
#
# Usage: scripts/install-deps.sh [--build-only | --docker]   (as root, on Debian 12)
#   --build-only   only what building needs (no test clients, no Node.js):
#                  for the Docker image's build stage.
#   --docker       only the optional Docker group below, nothing else.
set -euo pipefail

build_only=false
docker_only=false
case "${1:-}" in
  "") ;;
  --build-only) build_only=true ;;
  --docker) docker_only=true ;;
  *) echo "usage: $0 [--build-only | --docker]" >&2; exit 2 ;;
esac

log() { echo "install-deps: $*"; }
die() { echo "install-deps: error: $*" >&2; exit 1; }

# Optional, not installed by default: a Docker engine (Debian's docker.io,
# 20.10), Compose v1 (docker-compose 1.29) and debootstrap, which makes the
# image's base without Docker Hub (docker/make-base-image.sh). The end-to-end
# Docker test (ctest -L docker-e2e) runs this group itself on CI.
DOCKER_PACKAGES=(docker.io docker-compose debootstrap)

# Build and run.
PACKAGES=(
  ca-certificates
  cmake g++ make pkg-config
  mosquitto mosquitto-clients mosquitto-dev libmosquitto-dev
  librocksdb-dev rapidjson-dev libssl-dev openssl
  libboost-dev libcpp-httplib-dev libcli11-dev libhiredis-dev
)
if $docker_only; then
  PACKAGES=("${DOCKER_PACKAGES[@]}")
fi
# Tests, benchmarks and client interoperability checks.
if ! $build_only && ! $docker_only; then
  PACKAGES+=(
    catch2 libbenchmark-dev
    python3 python3-paho-mqtt python3-boto3 python3-yaml awscli curl jq
    redis-server redis-tools
    # The cluster topology (scripts/cluster.sh): a load balancer in front of the brokers.
    haproxy
    # The Debian package: scripts/package.sh and its test (tests/package).
    dpkg-dev help2man lintian
  )
fi

if [[ ! -r /etc/os-release ]]; then
  die "cannot read /etc/os-release; this script supports Debian 12 only"
fi
# shellcheck source=/dev/null
os_id=$(. /etc/os-release && echo "${ID:-}")
# shellcheck source=/dev/null
os_version=$(. /etc/os-release && echo "${VERSION_ID:-}")
if [[ $os_id != debian ]]; then
  die "this script supports Debian 12 only (found '${os_id:-unknown}'); install the packages listed in it by hand"
fi
if [[ $os_version != 12 ]]; then
  log "warning: tested on Debian 12, found Debian ${os_version:-unknown}; continuing"
fi

# Node.js runs the JavaScript SDK tests. Some images already carry a newer
# Node.js (with its own npm) from another source; only fall back to Debian's
# packages when there is no node at all, so the two never fight.
if $build_only || $docker_only; then
  :
elif ! command -v node >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
elif ! command -v npm >/dev/null 2>&1; then
  log "warning: node is installed but npm is not; the JavaScript SDK tests need npm"
fi

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
for pkg in "${PACKAGES[@]}"; do
  installed "$pkg" || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  log "all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  die "missing ${#missing[@]} package(s): ${missing[*]}; installing them needs root: sudo $0"
fi
log "installing ${#missing[@]} package(s): ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"

# On a machine with systemd, installing the mosquitto package starts the
# system broker on port 1883, which would take the port scripts/run-broker.sh
# uses. We only wanted the binary, so stop and disable a service we just
# installed ourselves; a broker that was set up before is left alone.
if [[ " ${missing[*]} " == *" mosquitto "* ]] && [[ -d /run/systemd/system ]] &&
   systemctl is-active --quiet mosquitto 2>/dev/null; then
  log "stopping and disabling the system mosquitto service the package just started (port 1883)"
  systemctl disable --now mosquitto || log "warning: could not stop mosquitto.service"
fi

# The same for redis-server: the tests and scripts/redis-cluster.sh start their
# own Redis processes; the packaged service would only hold port 6379.
if [[ " ${missing[*]} " == *" redis-server "* ]] && [[ -d /run/systemd/system ]] &&
   systemctl is-active --quiet redis-server 2>/dev/null; then
  log "stopping and disabling the system redis-server service the package just started (port 6379)"
  systemctl disable --now redis-server || log "warning: could not stop redis-server.service"
fi

log "done"

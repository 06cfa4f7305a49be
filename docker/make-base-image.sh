#!/bin/sh
# Makes the base image of docker/Dockerfile on a machine that cannot pull
# from Docker Hub: a Debian 12 root file system from a Debian mirror
# (`debootstrap --variant=minbase bookworm`, the way the official Debian
# images are made), imported into the local Docker engine under the name the
# Dockerfile's FROM uses, debian:bookworm-slim. With Docker Hub you need none
# of this: `docker build` pulls the official image.
#
# Usage: docker/make-base-image.sh [--force]   (as root; needs debootstrap)
#   --force   make and import it again even if the tag exists already.
# Environment:
#   SHADOW_BASE_IMAGE    tag to create (default debian:bookworm-slim)
#   SHADOW_DEBIAN_MIRROR mirror (default: the one apt on this machine uses,
#                        else http://deb.debian.org/debian)
#
# The tag is checked first, so a second run is a no-op: the minutes of
# debootstrap are only spent once per Docker engine.
set -eu

tag=${SHADOW_BASE_IMAGE:-debian:bookworm-slim}
force=false
case "${1:-}" in
  "") ;;
  --force) force=true ;;
  *) echo "usage: $0 [--force]" >&2; exit 2 ;;
esac

say() { echo "make-base-image: $*"; }
die() { echo "make-base-image: error: $*" >&2; exit 1; }

command -v docker >/dev/null 2>&1 || die "docker is not installed (apt-get install docker.io)"
docker info >/dev/null 2>&1 || die "no Docker engine answers (start dockerd, or check DOCKER_HOST)"

if ! $force && docker image inspect "$tag" >/dev/null 2>&1; then
  say "$tag exists already; nothing to do (--force makes it again)"
  exit 0
fi

[ "$(id -u)" -eq 0 ] || die "debootstrap needs root; try: sudo $0"
command -v debootstrap >/dev/null 2>&1 || die "debootstrap is not installed (apt-get install debootstrap)"

# The mirror apt already uses here is known to be reachable: the first
# deb.debian.org-style "URIs:" (deb822) or "deb" line that serves bookworm.
mirror=${SHADOW_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list \
             2>/dev/null | sed -n -e 's|^URIs: *\(http[^ ]*/debian\)/*$|\1|p' \
                              -e 's|^deb  *\(http[^ ]*/debian\)/*  *bookworm .*|\1|p' | head -n 1)
  mirror=${mirror:-http://deb.debian.org/debian}
fi

root=$(mktemp -d /var/tmp/shadow-base-XXXXXX)
trap 'rm -rf "$root"' EXIT INT TERM

say "debootstrap --variant=minbase bookworm from $mirror (a few minutes)"
start=$(date +%s)
if ! debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1; then
  tail -n 20 "$root.log" >&2
  rm -f "$root.log"
  die "debootstrap failed (full log above); check that $mirror is reachable"
fi
rm -f "$root.log"

# The package sources of the official image: the release, its updates and
# the security archive, so `apt-get install` in the Dockerfile gets the same
# versions as on an up-to-date Debian 12 machine.
security=$(echo "$mirror" | sed 's|/debian$|/debian-security|')
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
# Nothing of the download is needed in the image.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/tmp/*

say "importing as $tag"
tar -C "$root" --numeric-owner -c . |
  docker import --change 'CMD ["bash"]' \
    --message "debootstrap --variant=minbase bookworm $mirror (docker/make-base-image.sh)" - "$tag" >/dev/null
say "made $tag in $(( $(date +%s) - start )) s: $(docker image inspect --format '{{.Size}}' "$tag" | \
  sed 's/......$//') MB"

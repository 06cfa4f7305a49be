#!/bin/sh
# One-shot set-up of the stack's secrets (the `certs` service of
# docker/compose.yml; in the image: /usr/local/bin/shadow-init-certs).
# Creates, only when missing:
#   in SHADOW_CA_DIR (default /mosquitto/ca, the `ca` volume, mounted by this
#   service only):
#     ca.key ca.srl                        the CA's private key and serial
#     and a copy of every certificate and key below (the working set of
#     scripts/gen-certs.sh, which keeps what exists)
#   in SHADOW_CERTS_DIR (default /mosquitto/certs, the `certs` volume,
#   mounted by the broker and the examples):
#     ca.crt server.crt server.key         CA certificate, broker certificate
#     <device>.crt <device>.key            one client certificate per device
#                                          name in SHADOW_DEVICES (CN = name)
#     rest-credentials                     one REST API access key
#                                          (ACCESS_KEY_ID SECRET_ACCESS_KEY)
# So the CA key never reaches a running container, and a broker or device
# that is broken into cannot issue certificates.
# Running it again keeps every existing file, so the CA and the key survive
# restarts; delete the volumes to start over. Certificates come from
# scripts/gen-certs.sh (SHADOW_GEN_CERTS names it; default: next to this
# script in the image).
set -eu

ca_dir=${SHADOW_CA_DIR:-/mosquitto/ca}
dir=${SHADOW_CERTS_DIR:-/mosquitto/certs}
gen=${SHADOW_GEN_CERTS:-/usr/local/bin/gen-certs.sh}
devices=${SHADOW_DEVICES:-dev1 application}

mkdir -p "$ca_dir" "$dir"
# A stack made before the CA moved out kept ca.key in the certs volume: take
# that CA over (so issued certificates stay valid), then drop the key there.
if [ ! -f "$ca_dir/ca.key" ] && [ -f "$dir/ca.key" ]; then
  echo "init-certs: moving the CA key from $dir to $ca_dir"
  for f in "$dir"/*.crt "$dir"/*.key "$dir/ca.srl"; do
    [ -f "$f" ] && cp -p "$f" "$ca_dir/"
  done
fi

# shellcheck disable=SC2086  # one argument per device name
sh "$gen" "$ca_dir" $devices

# Publish everything but the CA's key and serial to the certs volume.
for f in "$ca_dir"/*.crt "$ca_dir"/*.key; do
  case ${f##*/} in
    ca.key) continue ;;
  esac
  cmp -s "$f" "$dir/${f##*/}" 2>/dev/null || cp -p "$f" "$dir/"
done
rm -f "$dir/ca.key" "$dir/ca.srl"

creds=$dir/rest-credentials
if [ -s "$creds" ]; then
  echo "init-certs: kept REST API key in $creds"
else
  # AWS-shaped: AKID + 16 upper-case hex digits, 40-character secret.
  key_id="AKID$(openssl rand -hex 8 | tr 'a-f' 'A-F')"
  secret=$(openssl rand -base64 30)
  umask 077
  {
    echo "# REST API access key of this stack, made by shadow-init-certs."
    echo "# Format: ACCESS_KEY_ID SECRET_ACCESS_KEY (docs/configuration.md)."
    echo "$key_id $secret"
  } >"$creds.tmp"
  mv "$creds.tmp" "$creds"
  echo "init-certs: made REST API key $key_id in $creds"
fi

#!/bin/sh
# One-shot set-up of the stack's secrets (the `certs` service of
# docker/compose.yml; in the image: /usr/local/bin/shadow-init-certs).
# Creates, only when missing, in SHADOW_CERTS_DIR (default /mosquitto/certs):
#   ca.crt ca.key server.crt server.key   test CA and broker certificate
#   <device>.crt <device>.key            one client certificate per device
#                                        name in SHADOW_DEVICES (CN = name)
#   rest-credentials                     one REST API access key
#                                        (ACCESS_KEY_ID SECRET_ACCESS_KEY)
# Running it again keeps every existing file, so the CA and the key survive
# restarts; delete the volume to start over. Certificates come from
# scripts/gen-certs.sh (SHADOW_GEN_CERTS names it; default: next to this
# script in the image).
set -eu

dir=${SHADOW_CERTS_DIR:-/mosquitto/certs}
gen=${SHADOW_GEN_CERTS:-/usr/local/bin/gen-certs.sh}
devices=${SHADOW_DEVICES:-dev1 application}

# shellcheck disable=SC2086  # one argument per device name
sh "$gen" "$dir" $devices

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

#!/bin/sh
# Generates a throw-away PKI for local and test brokers:
#   OUTDIR/ca.crt, ca.key               self-signed CA
#   OUTDIR/server.crt, server.key       SAN DNS:localhost, IP:127.0.0.1; serverAuth
#   OUTDIR/<device>.crt, <device>.key   CN=<device>; clientAuth (one pair per device)
#
# Usage: scripts/gen-certs.sh OUTDIR [device ...]
#
# Idempotent: files that already exist are kept, so devices can be added later
# and the CA stays the same. Delete OUTDIR to start over.
set -eu

if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
  echo "usage: $0 OUTDIR [device ...]" >&2
  exit 2
fi

out=$1
shift
mkdir -p "$out"
umask 077
days=3650

say() { echo "gen-certs: $*"; }

# True when $1.crt and $1.key exist and the certificate was signed by our CA
# (a re-made CA silently invalidates older leaves, so those are re-made too).
have_leaf() {
  [ -f "$1.crt" ] && [ -f "$1.key" ] &&
    openssl verify -CAfile "$out/ca.crt" "$1.crt" >/dev/null 2>&1
}

# Signs $1.csr with the CA into $1.crt using the extensions file $2.
sign() {
  openssl x509 -req -in "$1.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" \
    -CAcreateserial -CAserial "$out/ca.srl" -days "$days" -sha256 \
    -extfile "$2" -out "$1.crt" 2>/dev/null
  rm -f "$1.csr" "$2"
}

if [ ! -f "$out/ca.crt" ] || [ ! -f "$out/ca.key" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$days" \
    -subj "/O=mosquitto-shadow test/CN=mosquitto-shadow test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$out/ca.key" -out "$out/ca.crt" 2>/dev/null
  say "made CA $out/ca.crt"
else
  say "kept CA $out/ca.crt"
fi

if ! have_leaf "$out/server"; then
  openssl req -newkey rsa:2048 -nodes -sha256 -subj "/O=mosquitto-shadow test/CN=localhost" \
    -keyout "$out/server.key" -out "$out/server.csr" 2>/dev/null
  ext=$out/server.ext
  cat >"$ext" <<'EOF'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1
EOF
  sign "$out/server" "$ext"
  say "made server cert $out/server.crt (DNS:localhost, IP:127.0.0.1)"
else
  say "kept server cert $out/server.crt"
fi

for dev in "$@"; do
  case $dev in
    */* | "" | .*) echo "gen-certs: bad device name '$dev'" >&2; exit 2 ;;
  esac
  if have_leaf "$out/$dev"; then
    say "kept device cert $out/$dev.crt"
    continue
  fi
  openssl req -newkey rsa:2048 -nodes -sha256 -subj "/O=mosquitto-shadow test/CN=$dev" \
    -keyout "$out/$dev.key" -out "$out/$dev.csr" 2>/dev/null
  ext=$out/$dev.ext
  cat >"$ext" <<'EOF'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
EOF
  sign "$out/$dev" "$ext"
  say "made device cert $out/$dev.crt (CN=$dev)"
done

# Certificates are public; keys stay 0600. The broker may run as another user,
# so readable files are left to the caller (chmod) if it needs that.
chmod 644 "$out"/*.crt

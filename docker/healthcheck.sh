#!/bin/sh
# Health check of a broker with the shadow plugin (HEALTHCHECK of
# docker/Dockerfile and docker/compose.yml; in the image:
# /usr/local/bin/shadow-healthcheck). Healthy means:
#   1. the plain MQTT listener is open (read from /proc/net/tcp, without
#      connecting: an MQTT connection would put three connect and disconnect
#      lines into the broker log per check, ~26,000 a day at a 10 s interval);
#   2. the plugin answers from its database: a signed REST request for the
#      classic shadow of a thing that cannot exist (a fresh name per run)
#      gets the plugin's 404 (shadowctl exit status 2). This also checks the
#      REST API key. Nothing is written, nothing is logged.
# The check does not see a broker whose MQTT loop hangs while its sockets
# stay open; the REST API answers from its own threads.
# Exit status 0: healthy, 1: not.
#
# SHADOW_HEALTH_MQTT_PORT     the plain MQTT listener (1883)
# SHADOW_HEALTH_ENDPOINT      the REST API (http://127.0.0.1:8080)
# SHADOW_HEALTH_CREDENTIALS   its key (/mosquitto/certs/rest-credentials)
set -u

mqtt_port=${SHADOW_HEALTH_MQTT_PORT:-1883}
endpoint=${SHADOW_HEALTH_ENDPOINT:-http://127.0.0.1:8080}
creds=${SHADOW_HEALTH_CREDENTIALS:-/mosquitto/certs/rest-credentials}
thing="healthcheck-$(date +%s)-$$"

# /proc/net/tcp{,6}: "sl: LOCAL_HEX_ADDR:HEX_PORT REMOTE:0000 0A" for a
# socket in LISTEN state (0A).
hex_port=$(printf '%04X' "$mqtt_port")
if ! grep -q ": [0-9A-F]*:$hex_port [0-9A-F]*:0000 0A " /proc/net/tcp /proc/net/tcp6 2>/dev/null; then
  echo "unhealthy: nothing listens on the MQTT port $mqtt_port"
  exit 1
fi

reply=$(shadowctl --endpoint "$endpoint" --credentials-file "$creds" --timeout-s 5 --json \
          get "$thing" 2>&1)
case $? in
  2) echo "healthy: MQTT port $mqtt_port open, the shadow plugin answers on $endpoint"; exit 0 ;;
  0) echo "unhealthy: the plugin returned a shadow for $thing, which nobody made: $reply" ;;
  6) echo "unhealthy: the REST API at $endpoint cannot be reached (the check needs plugin_opt_http_listen): $reply" ;;
  *) echo "unhealthy: unexpected answer from $endpoint: $reply" ;;
esac
exit 1

#!/bin/sh
# Health check of a broker with the shadow plugin (HEALTHCHECK of
# docker/Dockerfile; in the image: /usr/local/bin/shadow-healthcheck).
# It asks the plugin for the classic shadow of a thing that cannot exist (a
# fresh name per run) and expects the plugin's 404 on get/rejected, so a
# healthy result means: the broker accepts MQTT connections on the plain
# listener, and the plugin is loaded and answers from its database. Nothing
# is written. Exit status 0: healthy, 1: not.
# SHADOW_HEALTH_HOST / SHADOW_HEALTH_PORT: the plain listener (127.0.0.1:1883).
set -u

host=${SHADOW_HEALTH_HOST:-127.0.0.1}
port=${SHADOW_HEALTH_PORT:-1883}
thing="healthcheck-$(date +%s)-$$"
base="\$aws/things/$thing/shadow"

if ! reply=$(mosquitto_rr -h "$host" -p "$port" -i "$thing" -q 1 \
               -t "$base/get" -e "$base/get/rejected" -n -W 5 2>&1); then
  echo "unhealthy: no reply from the shadow plugin on $host:$port: $reply"
  exit 1
fi
case $reply in
  *'"code":404'*) echo "healthy: the shadow plugin answers on $host:$port"; exit 0 ;;
esac
echo "unhealthy: unexpected reply: $reply"
exit 1

#!/bin/bash
# Container health check: exit 0 when TracePulse answers GET /healthz with 200, 1 otherwise.
# Plain bash (/dev/tcp), because the slim image has no curl or wget. Checks 127.0.0.1, so it
# works with TRACEPULSE_HOST=0.0.0.0 (the image default) or 127.0.0.1.
set -u
port=${TRACEPULSE_PORT:-3000}
exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
printf 'GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
IFS= read -r -t 4 status <&3 || exit 1
case $status in
  "HTTP/1."?" 200 "*) exit 0 ;;
esac
echo "tracepulse healthcheck: ${status%$'\r'}" >&2
exit 1

#!/bin/bash
# Runs inside a systemd-nspawn container booted by tests/deploy/systemd-boot.test.ts, as root,
# with systemd as PID 1. Installs TracePulse with edge/install.sh, exercises the real unit and
# writes KEY=VALUE results to /var/tmp/out/results for the test to check. Always powers off.
set -u
out=/var/tmp/out/results
: > "$out"
r() { printf '%s=%s\n' "$1" "$2" >> "$out"; }
show() { systemctl show tracepulse -p "$1" --value; }
trap 'journalctl -u tracepulse --no-pager -o cat > /var/tmp/out/journal.txt 2>&1; systemctl poweroff' EXIT

wait_healthy() {
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null http://127.0.0.1:3000/healthz && return 0
    sleep 0.2
  done
  return 1
}

sh /src/edge/install.sh --binary /opt/tracepulse/tracepulse > /var/tmp/out/install1.txt 2>&1
r install_rc $?
r enabled "$(systemctl is-enabled tracepulse)"
wait_healthy; r healthy $?
r active "$(show ActiveState)/$(show SubState)"

pid=$(show MainPID)
# First value of a /proc/PID/status line. (No awk: in the volatile container /etc, and so the
# /etc/alternatives link behind awk, is empty.)
status_field() {
  local key value rest
  while read -r key value rest; do
    if [ "$key" = "$1:" ]; then echo "$value"; return; fi
  done < "/proc/$pid/status"
}
uid=$(status_field Uid)
r uid "$uid"
r cap_eff "$(status_field CapEff)"
r cap_bnd "$(status_field CapBnd)"
r no_new_privs "$(status_field NoNewPrivs)"
r seccomp "$(status_field Seccomp)"
r umask "$(status_field Umask)"
r data_link "$(readlink /var/lib/tracepulse)"
r data_files "$(cd /var/lib/private/tracepulse && echo *)"
r data_mode "$(stat -c %a /var/lib/private/tracepulse)"
r db_owner_is_service "$([ "$(stat -c %u /var/lib/private/tracepulse/tracepulse.db)" = "$uid" ] && echo yes || echo no)"
r db_mode "$(stat -c %a /var/lib/private/tracepulse/tracepulse.db)"

body='{"id":"boot-1","eventType":"CHARGING_FAULT","service":"evse_manager_1","errorCode":"MREC11CableCheckFault","correlationId":"tx-boot"}'
r post "$(curl -sS -XPOST -H 'content-type: application/json' -d "$body" http://127.0.0.1:3000/webhook/event)"
r events "$(curl -sS 'http://127.0.0.1:3000/api/events?correlationId=tx-boot')"

# A second install changes nothing and does not restart the service.
sh /src/edge/install.sh --binary /opt/tracepulse/tracepulse > /var/tmp/out/install2.txt 2>&1
r install2_rc $?
r same_pid_after_reinstall "$([ "$(show MainPID)" = "$pid" ] && echo yes || echo no)"

# Graceful stop: SIGTERM, exit 0, well inside TimeoutStopSec.
start=$(date +%s%N)
systemctl stop tracepulse
r stop_ms $(( ($(date +%s%N) - start) / 1000000 ))
r stop_result "$(show Result)"
r stop_status "$(show ExecMainStatus)"

# The event survived the stop.
systemctl start tracepulse
wait_healthy; r healthy_again $?
r events_after_restart "$(curl -sS 'http://127.0.0.1:3000/api/events?correlationId=tx-boot')"

# Invalid settings: exit 78, no restart loop.
systemctl stop tracepulse
cp /etc/tracepulse/tracepulse.env /var/tmp/env.good
echo 'TRACEPULSE_PORT=eighty' >> /etc/tracepulse/tracepulse.env
systemctl start tracepulse
sleep 8
r bad_config_state "$(show ActiveState)"
r bad_config_status "$(show ExecMainStatus)"
r bad_config_restarts "$(show NRestarts)"
cp /var/tmp/env.good /etc/tracepulse/tracepulse.env
systemctl reset-failed tracepulse

# Uninstall keeps settings and data.
systemctl start tracepulse
sh /src/edge/install.sh --uninstall > /var/tmp/out/uninstall.txt 2>&1
r uninstall_rc $?
r after_uninstall "$(systemctl is-active tracepulse)"
r unit_gone "$([ -e /etc/systemd/system/tracepulse.service ] && echo no || echo yes)"
r env_kept "$([ -e /etc/tracepulse/tracepulse.env ] && echo yes || echo no)"
r data_kept "$([ -e /var/lib/private/tracepulse/tracepulse.db ] && echo yes || echo no)"
r finished yes

#!/bin/sh
# Installs TracePulse on a charger gateway as a systemd service (see docs/gateway.md).
#
#   sh edge/install.sh                         install for this machine's architecture and start
#   sh edge/install.sh --binary ./tracepulse   install that executable instead
#   sh edge/install.sh --root /srv/image       install into an image tree, start nothing
#   sh edge/install.sh --uninstall [--purge]   remove binary and unit (--purge: settings and data too)
#
# Run from a release folder or a checkout: it looks for dist/, systemd/, edge/ and
# system-map.yaml next to its own folder. Running it twice changes nothing; it never
# overwrites /etc/tracepulse/tracepulse.env or /etc/tracepulse/system-map.yaml.
set -eu

usage() {
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
}

die() {
  echo "install.sh: $*" >&2
  exit 1
}

say() {
  echo "  $*"
}

ROOT=/
BINARY=
ACTION=install
PURGE=no

while [ $# -gt 0 ]; do
  case "$1" in
    --root) [ $# -ge 2 ] || die "--root needs a folder"; ROOT=$2; shift 2 ;;
    --root=*) ROOT=${1#--root=}; shift ;;
    --binary) [ $# -ge 2 ] || die "--binary needs a path"; BINARY=$2; shift 2 ;;
    --binary=*) BINARY=${1#--binary=}; shift ;;
    --uninstall) ACTION=uninstall; shift ;;
    --purge) PURGE=yes; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

[ "$PURGE" = no ] || [ "$ACTION" = uninstall ] || die "--purge only goes with --uninstall"

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)

# R is prepended to every target path: empty for the live system, the folder otherwise.
[ -n "$ROOT" ] || die "--root must not be empty"
[ -d "$ROOT" ] || die "--root $ROOT is not a folder"
ROOT=$(cd "$ROOT" && pwd)
if [ "$ROOT" = / ]; then R=; else R=$ROOT; fi

if [ -z "$R" ] && [ "$(id -u)" != 0 ]; then
  die "installing into / needs root (or use --root DIR)"
fi

# systemd is the init system of the target only when we install into / on a booted systemd.
systemd_running() {
  [ -z "$R" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1
}

BIN_DST=$R/usr/local/bin/tracepulse
UNIT_DST=$R/etc/systemd/system/tracepulse.service
ETC_DIR=$R/etc/tracepulse
ENV_DST=$ETC_DIR/tracepulse.env
MAP_DST=$ETC_DIR/system-map.yaml
CHANGED=no

# Copies $1 to $2 with mode $3 unless $2 already has the same bytes and mode.
put() {
  if [ -f "$2" ] && cmp -s "$1" "$2"; then
    chmod "$3" "$2"
    say "unchanged $2"
    return 0
  fi
  mkdir -p "$(dirname "$2")"
  # Copy next to the target, then rename: a running service never sees a half-written file.
  cp "$1" "$2.tmp.$$"
  chmod "$3" "$2.tmp.$$"
  mv -f "$2.tmp.$$" "$2"
  CHANGED=yes
  say "installed $2"
}

# Copies $1 to $2 with mode $3 only if $2 does not exist: the operator's copy always wins.
put_once() {
  if [ -e "$2" ]; then
    say "kept existing $2"
    return 0
  fi
  mkdir -p "$(dirname "$2")"
  cp "$1" "$2.tmp.$$"
  chmod "$3" "$2.tmp.$$"
  mv -f "$2.tmp.$$" "$2"
  say "created $2"
}

pick_binary() {
  if [ -n "$BINARY" ]; then
    echo "$BINARY"
    return 0
  fi
  machine=$(uname -m)
  case "$machine" in
    x86_64|amd64) echo "$SRC/dist/tracepulse-linux-x64" ;;
    aarch64|arm64) echo "$SRC/dist/tracepulse-linux-arm64" ;;
    *) die "no TracePulse build for architecture '$machine' (supported: x86_64, aarch64); pass --binary PATH" ;;
  esac
}

install_all() {
  bin=$(pick_binary)
  [ -f "$bin" ] || die "executable not found: $bin (build it with scripts/build, or pass --binary PATH)"
  for f in "$SRC/systemd/tracepulse.service" "$SRC/edge/tracepulse.env.example" "$SRC/system-map.yaml"; do
    [ -f "$f" ] || die "missing $f: run install.sh from a TracePulse checkout or release folder"
  done

  echo "Installing TracePulse into ${R:-/}"
  put "$bin" "$BIN_DST" 0755
  put "$SRC/systemd/tracepulse.service" "$UNIT_DST" 0644
  mkdir -p "$ETC_DIR"
  chmod 0755 "$ETC_DIR"
  # 0600: the env file holds tokens; systemd reads it as root before dropping privileges.
  put_once "$SRC/edge/tracepulse.env.example" "$ENV_DST" 0600
  put_once "$SRC/system-map.yaml" "$MAP_DST" 0644
  # No user to create and no data folder to make: the unit uses DynamicUser=yes and
  # StateDirectory=tracepulse, so systemd makes /var/lib/tracepulse, owned by the service,
  # at first start. /etc/passwd is never touched.
  say "service user: dynamic (DynamicUser=yes), data in /var/lib/tracepulse, created by systemd at start"

  if systemd_running; then
    systemctl daemon-reload
    systemctl enable tracepulse.service
    if [ "$CHANGED" = yes ]; then
      # restart also starts it when stopped; a new binary or unit takes effect now.
      systemctl restart tracepulse.service
      say "restarted tracepulse.service"
    else
      systemctl start tracepulse.service
    fi
    say "status: systemctl status tracepulse; logs: journalctl -u tracepulse -f"
  else
    enable_offline
    echo "systemd is not managing ${R:-/} here, so nothing was started. On the gateway, run:"
    echo "  systemctl daemon-reload && systemctl enable --now tracepulse"
  fi
  echo "Settings: /etc/tracepulse/tracepulse.env (then: systemctl restart tracepulse)"
}

# Without a running systemd, enable the unit by creating the same link `systemctl enable` would
# (WantedBy=multi-user.target), so an image tree boots with TracePulse on.
enable_offline() {
  wants=$R/etc/systemd/system/multi-user.target.wants
  link=$wants/tracepulse.service
  if [ -L "$link" ]; then
    say "already enabled: $link"
    return 0
  fi
  mkdir -p "$wants"
  ln -s /etc/systemd/system/tracepulse.service "$link"
  say "enabled: $link"
}

uninstall_all() {
  echo "Removing TracePulse from ${R:-/}"
  if systemd_running; then
    systemctl disable --now tracepulse.service 2>/dev/null || true
  fi
  for f in "$R/etc/systemd/system/multi-user.target.wants/tracepulse.service" "$UNIT_DST" "$BIN_DST"; do
    if [ -e "$f" ] || [ -L "$f" ]; then
      rm -f "$f"
      say "removed $f"
    fi
  done
  if systemd_running; then
    systemctl daemon-reload
  fi
  if [ "$PURGE" = yes ]; then
    for d in "$ETC_DIR" "$R/var/lib/tracepulse" "$R/var/lib/private/tracepulse"; do
      if [ -e "$d" ] || [ -L "$d" ]; then
        rm -rf "$d"
        say "purged $d"
      fi
    done
  else
    say "kept settings in /etc/tracepulse and data in /var/lib/tracepulse (--purge removes them)"
  fi
}

case "$ACTION" in
  install) install_all ;;
  uninstall) uninstall_all ;;
esac

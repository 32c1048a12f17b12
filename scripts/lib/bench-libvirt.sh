#!/usr/bin/env bash
# libvirtd inside lab hosts, for scripts/bench's three-way comparison.
#
#   scripts/lib/bench-libvirt.sh start hI...   start libvirtd in each host's namespace
#   scripts/lib/bench-libvirt.sh stop hI...    destroy its guests and stop it (its mounts die with it)
#   scripts/lib/bench-libvirt.sh uri hI        qemu+tcp://ADDR/system
#
# Each host's libvirtd runs in the host's network namespace and in a private
# mount namespace of its own, with <lab>/libvirt/hI/{etc,run,lib,cache,log}
# bound over /etc/libvirt, /run/libvirt, /var/lib/libvirt, /var/cache/libvirt
# and /var/log/libvirt: two libvirtds on one machine must not share sockets,
# state or the QEMU driver's files. It listens on TCP port 16509 of the host's
# lab address with no TLS and no authentication (lab only: the lab network
# has no uplink), has its own host UUID (libvirt refuses to migrate to a host
# with the same UUID), runs QEMU as root without a security driver or cgroups
# (none of which exist for it here), and tells targets to receive migration
# data on the host's lab address. The guests' serial consoles go to
# /var/log/libvirt/console-NAME.log, i.e. <lab>/libvirt/hI/log/ from outside.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

LAB_DIR="$(realpath -m "${FERRY_LAB_DIR:-$FERRY_REPO/.lab}")"
addr() { echo "198.51.100.$((10 + ${1#h}))"; }

start_one() {
  local h=$1 d="$LAB_DIR/libvirt/$1" a; a=$(addr "$h")
  [ -e "/run/netns/ferry-$h" ] || die "no lab host $h (scripts/lab up)"
  if [ -s "$d/libvirtd.pid" ] && kill -0 "$(cat "$d/libvirtd.pid")" 2>/dev/null; then return 0; fi
  rm -rf "$d/run" "$d/lib" "$d/cache"
  mkdir -p "$d/etc/qemu" "$d/run" "$d/lib" "$d/cache" "$d/log"
  cat >"$d/etc/libvirtd.conf" <<CONF
# Written by scripts/lib/bench-libvirt.sh for lab host $h (benchmarks only).
listen_tls = 0
listen_tcp = 1
listen_addr = "$a"
tcp_port = "16509"
auth_tcp = "none"
auth_unix_rw = "none"
unix_sock_group = "root"
unix_sock_rw_perms = "0700"
host_uuid = "00000000-0000-4000-8000-0000000000$(printf '%02x' "${h#h}")"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
CONF
  cat >"$d/etc/qemu.conf" <<CONF
# Written by scripts/lib/bench-libvirt.sh for lab host $h (benchmarks only).
user = "root"
group = "root"
dynamic_ownership = 0
security_driver = "none"
cgroup_controllers = [ ]
stdio_handler = "file"
migration_address = "$a"
migration_host = "$a"
remember_owner = 0
namespaces = [ ]
CONF
  : >"$d/etc/libvirt.conf"
  : >"$d/log/libvirtd.log"
  # shellcheck disable=SC2016
  setsid ip netns exec "ferry-$h" unshare --mount --propagation private env D="$d" bash -c '
    set -e
    mount --bind "$D/etc" /etc/libvirt
    mount --bind "$D/run" /run/libvirt 2>/dev/null || { mkdir -p /run/libvirt; mount --bind "$D/run" /run/libvirt; }
    mount --bind "$D/lib" /var/lib/libvirt
    mount --bind "$D/cache" /var/cache/libvirt
    mount --bind "$D/log" /var/log/libvirt
    exec libvirtd --listen --pid-file "$D/libvirtd.pid" --config /etc/libvirt/libvirtd.conf
  ' </dev/null >>"$d/log/libvirtd.out" 2>&1 &
  local i
  for i in $(seq 200); do
    if virsh -c "qemu+tcp://$a/system" version >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  tail -n 20 "$d/log/libvirtd.out" "$d/log/libvirtd.log" >&2 || true
  die "$h: libvirtd does not answer on qemu+tcp://$a/system"
}

stop_one() {
  local h=$1 d="$LAB_DIR/libvirt/$1" pid
  [ -s "$d/libvirtd.pid" ] || return 0
  pid=$(cat "$d/libvirtd.pid")
  # Its guests first (QEMU is not its child once daemonized; find them by their libvirt paths).
  virsh -c "qemu+tcp://$(addr "$h")/system" list --name 2>/dev/null | while read -r dom; do
    [ -n "$dom" ] && virsh -c "qemu+tcp://$(addr "$h")/system" destroy "$dom" >/dev/null 2>&1 || true
  done || true
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$d/libvirtd.pid"
}

cmd=${1:-}; shift || true
case "$cmd" in
  start) for h in "$@"; do start_one "$h"; done ;;
  stop) for h in "$@"; do stop_one "$h"; done ;;
  uri) echo "qemu+tcp://$(addr "$1")/system" ;;
  *) sed -n '2,8p' "$0" >&2; exit 2 ;;
esac

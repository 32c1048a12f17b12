# Shared bash helpers for Ferry's scripts. Source it; do not run it.
# shellcheck shell=bash

# Repository root: the parent of scripts/.
FERRY_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

_ferry_prog="$(basename "$0")"

log()  { printf '%s: %s\n' "$_ferry_prog" "$*" >&2; }
warn() { printf '%s: warning: %s\n' "$_ferry_prog" "$*" >&2; }
die()  { printf '%s: error: %s\n' "$_ferry_prog" "$*" >&2; exit 1; }

require_root() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (it creates network namespaces and starts sshd/NFS); try: sudo $0 $*"
}

require_cmds() {
  local missing=() c
  for c in "$@"; do command -v "$c" >/dev/null 2>&1 || missing+=("$c"); done
  [ ${#missing[@]} -eq 0 ] || die "missing commands: ${missing[*]} (run scripts/setup-deps)"
}

# now_ms: wall clock in milliseconds.
now_ms() { date +%s%3N; }

# elapsed SINCE_MS: seconds since SINCE_MS with one decimal.
elapsed() {
  local d=$(( $(now_ms) - $1 ))
  printf '%d.%01d' $((d / 1000)) $(((d % 1000) / 100))
}

# wait_for TIMEOUT_S DESCRIPTION CMD...: poll CMD every 50 ms until it succeeds.
wait_for() {
  local timeout=$1; shift
  local deadline=$(( $(now_ms) + timeout * 1000 ))
  until "$@" >/dev/null 2>&1; do
    [ "$(now_ms)" -lt "$deadline" ] || return 1
    sleep 0.05
  done
}

# proc_alive PID: true if PID is running. A zombie counts as gone: here the
# container's init may take seconds to reap orphans.
proc_alive() {
  local st
  st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  st=${st##*) }
  [ "${st%% *}" != Z ]
}

# pid_alive PIDFILE: true if PIDFILE names a live process.
pid_alive() {
  local pid
  [ -s "$1" ] || return 1
  pid=$(cat "$1" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  proc_alive "$pid"
}

# stop_pids TIMEOUT_S PID...: SIGTERM, wait up to TIMEOUT_S, then SIGKILL.
stop_pids() {
  local timeout=$1; shift
  local pids=() p
  for p in "$@"; do [[ "$p" =~ ^[0-9]+$ ]] && proc_alive "$p" && pids+=("$p"); done
  [ ${#pids[@]} -gt 0 ] || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  local deadline=$(( $(now_ms) + timeout * 1000 )) alive
  while :; do
    alive=()
    for p in "${pids[@]}"; do proc_alive "$p" && alive+=("$p"); done
    [ ${#alive[@]} -gt 0 ] || return 0
    [ "$(now_ms)" -lt "$deadline" ] || break
    sleep 0.05
  done
  kill -KILL "${alive[@]}" 2>/dev/null || true
  for _ in $(seq 40); do
    for p in "${alive[@]}"; do proc_alive "$p" && break; done
    proc_alive "$p" || return 0
    sleep 0.05
  done
}

#!/usr/bin/env bash
# Ansible acceptance test (issue #6): the playbook installs the agents and the
# coordinator on lab hosts that have nothing but sshd, coord then sees every
# host up, a second run changes nothing, and --check works before and after.
# ansible-lint runs first. See Ansible/README.md.
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/common.sh"

usage() {
  cat <<EOF
Usage: Tests/ansible/run.sh [--hosts N] [--no-lint]

  1. ansible-lint on Ansible/ (from the venv scripts/setup-deps makes)
  2. a fresh lab with only sshd: scripts/lab down (if one runs), scripts/lab
     up --no-agents --hosts N (default 3)
  3. ansible-playbook --check on the bare hosts: succeeds, installs nothing
  4. ansible-playbook: installs and starts every agent and coord
  5. coord hosts --json (the coord and coord.yaml the playbook installed):
     every host up, with the memory the inventory gave it; every agent runs
     inside its host's network namespace
  6. ansible-playbook again: changed=0 on every host
  7. ansible-playbook --check again: changed=0
  8. a changed variable (ferry_agent_memory_mib on h1) restarts h1's agent
     only, and coord sees the new value; a run without it puts it back

Leaves the lab up with the agents Ansible installed (scripts/lab down ends
it). Needs root. FERRY_BIN_DIR: where ferry-agent and coord are (default
<repo>/.build/debug); FERRY_LAB_DIR as for scripts/lab; FERRY_ANSIBLE_LINT:
the ansible-lint to run (default /opt/ferry/ansible-lint/bin/ansible-lint).
EOF
}

hosts=3 lint=1
while [ $# -gt 0 ]; do
  case "$1" in
    --hosts) hosts=${2:-}; shift 2 || die "--hosts needs a number" ;;
    --no-lint) lint=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ "$hosts" =~ ^[1-9][0-9]*$ ]] || die "--hosts must be a positive number"
if [ "$hosts" -lt 2 ]; then
  echo "Tests/ansible/run.sh: using 2 hosts (the restart check needs a host to leave alone)"
  hosts=2
fi
require_root
require_cmds ansible-playbook python3 ip

cd "$FERRY_REPO"
BIN_DIR="$(realpath -m "${FERRY_BIN_DIR:-$FERRY_REPO/.build/debug}")"
LAB_DIR="$(realpath -m "${FERRY_LAB_DIR:-$FERRY_REPO/.lab}")"
export FERRY_BIN_DIR="$BIN_DIR" FERRY_LAB_DIR="$LAB_DIR"
export ANSIBLE_CONFIG="$FERRY_REPO/Ansible/ansible.cfg" ANSIBLE_NOCOLOR=1
for b in ferry-agent coord; do
  [ -x "$BIN_DIR/$b" ] || die "$BIN_DIR/$b is missing: run 'swift build' (or set FERRY_BIN_DIR)"
done
COORD="$LAB_DIR/ansible/coordinator/bin/coord"
COORD_CONFIG_FILE="$LAB_DIR/ansible/coordinator/coord.yaml"
LOGS="$LAB_DIR/ansible/test"

failures=0 checks=0 report=()
pass() { checks=$((checks + 1)); printf '  ok    %s\n' "$*"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); printf '  FAIL  %s\n' "$*" >&2; }
expect() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

# playbook NAME ARGS...: runs the playbook on the lab, output in $LOGS/NAME.log;
# sets RC and TOOK (seconds).
playbook() {
  local name=$1; shift
  local t0; t0=$(now_ms)
  RC=0
  ansible-playbook -i "$INVENTORY" Ansible/site.yml "$@" </dev/null >"$LOGS/$name.log" 2>&1 || RC=$?
  TOOK=$(elapsed "$t0")
  report+=("$(printf '%-26s %5ss  %s' "playbook $name" "$TOOK" "$(recap "$LOGS/$name.log" summary)")")
  if [ "$RC" != 0 ]; then
    echo "--- ansible-playbook $name failed (exit $RC); the failed tasks in $LOGS/$name.log:" >&2
    grep -B2 -A15 -E '^(fatal|failed):|FAILED!|UNREACHABLE!' "$LOGS/$name.log" | head -n 120 >&2
    echo "--- its last lines:" >&2
    tail -n 25 "$LOGS/$name.log" >&2
  fi
}

# recap LOG summary | recap LOG total FIELD | recap LOG HOST FIELD:
# numbers from the playbook's PLAY RECAP (-1 when there is none).
recap() {
  python3 - "$@" <<'PY'
import re, sys
log, what = sys.argv[1], sys.argv[2:]
hosts = {}
text = open(log, encoding="utf-8", errors="replace").read()
if "PLAY RECAP" in text:
    for line in text.split("PLAY RECAP", 1)[1].splitlines():
        m = re.match(r"^(\S+)\s+:\s+(.*)$", line)
        if m:
            hosts[m.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
if what == ["summary"]:
    if not hosts:
        print("no recap")
    else:
        print(" ".join(f"{h}:changed={c['changed']}"
                       + ("" if c["failed"] + c["unreachable"] == 0 else f",failed={c['failed']},unreachable={c['unreachable']}")
                       for h, c in hosts.items()))
elif what[0] == "total":
    print(sum(c.get(what[1], 0) for c in hosts.values()) if hosts else -1)
else:
    print(hosts.get(what[0], {}).get(what[1], -1))
PY
}

# coord_hosts MIB [HOST MIB]...: coord hosts --json, with the coord and config
# the playbook installed, lists exactly h1..hN, all up, each offering MIB MiB
# (or the MIB given for a named host). Retries for a few seconds: the agents'
# probes run right after they start.
coord_hosts() {
  local out="$LOGS/coord-hosts.json"
  for _ in $(seq 20); do
    if "$COORD" --config "$COORD_CONFIG_FILE" hosts --json >"$out" 2>"$LOGS/coord-hosts.err" \
      && python3 - "$out" "$hosts" "$@" 2>"$LOGS/coord-hosts.problems" <<'PY'
import json, sys
path, n, default_mib, overrides = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
want_mib = {f"h{i}": default_mib for i in range(1, n + 1)}
want_mib.update(dict(zip(overrides[::2], map(int, overrides[1::2]))))
hosts = json.load(open(path))["hosts"]
problems = []
if [h["name"] for h in hosts] != list(want_mib):
    problems.append(f"hosts {[h['name'] for h in hosts]}, expected {list(want_mib)}")
for h in hosts:
    if h["state"] != "up":
        problems.append(f"{h['name']} is {h['state']}: {h.get('reason')}")
    elif h["name"] in want_mib and h["inventory"]["memory"]["totalBytes"] != want_mib[h["name"]] << 20:
        problems.append(f"{h['name']} offers {h['inventory']['memory']['totalBytes'] >> 20} MiB, expected {want_mib[h['name']]}")
if problems:
    print("; ".join(problems), file=sys.stderr)
    sys.exit(1)
PY
    then return 0; fi
    sleep 1
  done
  cat "$LOGS/coord-hosts.err" "$LOGS/coord-hosts.problems" >&2
  return 1
}

agent_pid() { cat "$LAB_DIR/hosts/$1/agent.pid" 2>/dev/null || echo none; }

# agents_in_their_namespaces: every agent's pid runs inside its host's netns.
agents_in_their_namespaces() {
  local i pid ns ok=0
  for ((i = 1; i <= hosts; i++)); do
    pid=$(agent_pid "h$i")
    ns=$(ip netns identify "$pid" 2>/dev/null || true)
    if [ "$ns" != "ferry-h$i" ]; then echo "h$i: agent pid $pid is in netns '${ns:-?}'" >&2; ok=1; fi
  done
  return "$ok"
}

# nothing_installed: no file the roles write exists, no agent was started.
nothing_installed() {
  local i
  for ((i = 1; i <= hosts; i++)); do
    [ ! -e "$LAB_DIR/hosts/h$i/ansible" ] || { echo "h$i: $LAB_DIR/hosts/h$i/ansible exists" >&2; return 1; }
    [ ! -e "$LAB_DIR/hosts/h$i/agent.pid" ] || { echo "h$i: agent.pid exists" >&2; return 1; }
  done
  [ ! -e "$LAB_DIR/ansible/coordinator" ] || { echo "coordinator files exist" >&2; return 1; }
}

is_zero() { [ "$1" = 0 ]; }
positive() { [ "$1" -gt 0 ] 2>/dev/null; }

t_start=$(now_ms)

echo "==> ansible-lint"
if [ "$lint" = 1 ]; then
  LINT=${FERRY_ANSIBLE_LINT:-/opt/ferry/ansible-lint/bin/ansible-lint}
  [ -x "$LINT" ] || LINT=$(command -v ansible-lint || true)
  if [ -z "$LINT" ]; then
    fail "ansible-lint is not installed (run scripts/setup-deps)"
  else
    t0=$(now_ms) lint_log=$(mktemp)
    # ansible-lint wants its venv's bin first in PATH (it runs ansible-galaxy and ansible-playbook from there).
    if (cd Ansible && PATH="$(dirname "$LINT"):$PATH" "$LINT" --nocolor) >"$lint_log" 2>&1; then
      pass "ansible-lint $("$LINT" --nocolor --version 2>/dev/null | head -n 1 | awk '{print $2}') (profile production) passes on Ansible/ in $(elapsed "$t0")s"
    else
      cat "$lint_log" >&2
      fail "ansible-lint reports problems (above)"
    fi
    rm -f "$lint_log"
  fi
else
  echo "  skipped (--no-lint)"
fi

echo "==> a fresh lab whose hosts have only sshd"
if ip link show dev ferry-br0 >/dev/null 2>&1; then scripts/lab down; fi
rm -rf "$LAB_DIR/ansible" "$LAB_DIR"/hosts/h*/ansible
scripts/lab up --no-agents --hosts "$hosts"
INVENTORY=$(scripts/lab inventory)
mkdir -p "$LOGS"

echo "==> --check on bare hosts"
playbook check-bare --check --diff
expect "ansible-playbook --check succeeds on bare hosts (${TOOK}s)" is_zero "$RC"
expect "--check reports what it would change" positive "$(recap "$LOGS/check-bare.log" total changed)"
expect "--check installed and started nothing" nothing_installed

echo "==> install"
playbook install
expect "ansible-playbook installs the agents and coord (${TOOK}s)" is_zero "$RC"
expect "coord hosts --json lists h1..h$hosts, all up, 4096 MiB each" coord_hosts 4096
expect "every agent runs in its own host's network namespace" agents_in_their_namespaces
expect "scripts/lab status sees every agent up" bash -c 'scripts/lab status >/dev/null'

echo "==> second run"
playbook second-run
expect "second run succeeds (${TOOK}s)" is_zero "$RC"
expect "second run reports changed=0 on every host" is_zero "$(recap "$LOGS/second-run.log" total changed)"

echo "==> --check on installed hosts"
playbook check-installed --check --diff
expect "--check succeeds on installed hosts (${TOOK}s)" is_zero "$RC"
expect "--check on installed hosts reports changed=0" is_zero "$(recap "$LOGS/check-installed.log" total changed)"

echo "==> a configuration change restarts only that agent"
h1_before=$(agent_pid h1) h2_before=$(agent_pid h2)
playbook change-h1 --limit h1 -e ferry_agent_memory_mib=2048
expect "a run with ferry_agent_memory_mib=2048 on h1 succeeds (${TOOK}s)" is_zero "$RC"
expect "it changed h1" positive "$(recap "$LOGS/change-h1.log" h1 changed)"
expect "h1's agent was restarted (pid $h1_before -> $(agent_pid h1))" test "$(agent_pid h1)" != "$h1_before"
expect "h2's agent was left alone (pid $h2_before)" test "$(agent_pid h2)" = "$h2_before"
expect "coord sees h1 offering 2048 MiB" coord_hosts 4096 h1 2048
playbook restore-h1 --limit h1
expect "a run without the override puts h1 back (${TOOK}s)" positive "$(recap "$LOGS/restore-h1.log" h1 changed)"
expect "coord sees every host at 4096 MiB again" coord_hosts 4096

echo
echo "==> Tests/ansible/run.sh: $((checks - failures))/$checks checks passed in $(elapsed "$t_start")s ($hosts hosts; logs in $LOGS)"
printf '  %s\n' "${report[@]}"
if [ "$failures" != 0 ]; then
  echo "Tests/ansible/run.sh: FAILED" >&2
  exit 1
fi
echo "Tests/ansible/run.sh: PASSED"

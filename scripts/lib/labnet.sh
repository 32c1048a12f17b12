# shellcheck shell=bash
# The lab's network: one bridge in the root namespace, and namespaces joined
# to it by veths. Sourced by scripts/lab and scripts/lab-cluster.

SUBNET=198.51.100
BRIDGE=ferry-br0

# ns_up NS VETH ADDR: namespace with lo up and eth0 (a veth to the bridge).
ns_up() {
  local ns=$1 veth=$2 addr=$3
  [ -e "/run/netns/$ns" ] || ip netns add "$ns"
  if ! ip link show dev "$veth" >/dev/null 2>&1; then
    ip -n "$ns" link del eth0 2>/dev/null || true
    ip link add "$veth" type veth peer name eth0 netns "$ns"
  fi
  ip link set dev "$veth" master "$BRIDGE" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr replace "$addr/24" dev eth0
  ip -n "$ns" link set eth0 up
  # Documentation-range lab: no IPv6 autoconfiguration noise inside hosts.
  ip netns exec "$ns" sh -c 'echo 1 > /proc/sys/net/ipv6/conf/eth0/disable_ipv6' 2>/dev/null || true
}


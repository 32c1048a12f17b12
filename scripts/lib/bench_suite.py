#!/usr/bin/env python3
"""Ferry's migration benchmark suite (issue 7): `scripts/bench suite`.

Runs on a lab that is up (scripts/lab up) and writes, to one folder:
  runs.csv      one row per migration (every figure, outcome, verification)
  summary.csv   median, min and max per configuration, over the runs that
                completed and whose guest was verified alive and intact
  results.md    the summary as Markdown tables
  *.svg         plots (gnuplot), with their data in plots/*.dat and *.gp
  throughput.csv, evacuation.csv, meta.txt (machine, load, command, profile)

Experiments (--only picks some):
  dirty       downtime and total time against the guest's dirty rate
  memory      against guest memory size
  bandwidth   against the migration link's bandwidth (tc on the hosts)
              (these three: pre-copy, post-copy, auto-converge and cold side
              by side, each driven by hand through QMP)
  threeway    one VM and workload migrated three ways: QEMU's defaults through
              its monitor (`migrate -d tcp:...`), `virsh migrate --live`
              (libvirtd started in the lab hosts), `coord migrate --mode auto`
  throughput  the guest's own CPU-loop and memory-copy rates before, during
              and after a migration, per mode (a time series)
  evacuation  `coord evacuate` of N guests at several --parallel, against
              total memory over the measured link (scripts/bench-evacuation)

Every migration gets two downtimes besides QEMU's own figure: the longest gap
between the guest's heartbeats (every 10 ms on its serial console, arrival
times seen on the host: compute downtime) and the longest gap between replies
to a prober pinging the guest every 10 ms from the lab's root namespace
(network downtime).
"""
import argparse
import csv
import json
import os
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = os.path.realpath(os.environ.get("FERRY_LAB_DIR", os.path.join(REPO, ".lab")))
BIN = os.environ.get("FERRY_BIN_DIR", "")
LIBVIRT = os.path.join(REPO, "scripts", "lib", "bench-libvirt.sh")
HOSTS = {"h1": "198.51.100.11", "h2": "198.51.100.12", "h3": "198.51.100.13"}
OTHER = {"h1": "h2", "h2": "h1"}
MODES = ["pre-copy", "post-copy", "auto-converge", "cold"]
WAYS = ["QEMU defaults", "virsh migrate --live", "coord auto"]
PAGE = 4096

# Profiles: what each experiment sweeps and how often. Guest RAM is never a
# multiple of 256 KiB (QEMU 7.2 TCG pre-copy bug, LAB-FACTS.md).
PROFILES = {
    "smallest": dict(runs=1, rates=[1000], mem_k=131064, mems=[131064], link=256, links=[256],
                     modes=["pre-copy"], threeway_rates=[1000], timeout=20, only=["threeway"],
                     throughput_modes=[], evac=None),
    "quick": dict(runs=3, rates=[0, 1000, 4000, 10000, 20000], mem_k=131064,
                  mems=[131064, 262136, 393208], link=256, links=[100, 256, 1000],
                  modes=MODES, threeway_rates=[0, 4000, 20000], timeout=20,
                  only=["dirty", "memory", "bandwidth", "threeway", "throughput", "evacuation"],
                  throughput_modes=MODES, evac=dict(vms=3, parallel="1,3", runs=2, link=256)),  # about 30 min
    "full": dict(runs=5, rates=[0, 1000, 2000, 4000, 7000, 10000, 20000], mem_k=131064,
                 mems=[131064, 262136, 393208, 524280], link=256, links=[50, 100, 256, 1000, 0],
                 modes=MODES, threeway_rates=[0, 1000, 4000, 10000, 20000], timeout=60,
                 only=["dirty", "memory", "bandwidth", "threeway", "throughput", "evacuation"],
                 throughput_modes=MODES, evac=dict(vms=4, parallel="1,2,4", runs=3, link=256)),
}
MEMORY_SWEEP_RATE = 1000     # pages/s in the memory and bandwidth sweeps
BANDWIDTH_SWEEP_RATE = 1000
THROUGHPUT_RATE = 4000
DIRTY_MIB = 32               # dirtied and checked region of every guest


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(args, check=True, timeout=300, **kw):
    out = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)
    if check and out.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} failed ({out.returncode}): {(out.stderr or out.stdout).strip()[-800:]}")
    return out


def netns(host, *args, **kw):
    return run(["ip", "netns", "exec", f"ferry-{host}", *args], **kw)


# ------------------------------------------------------------------ QMP

class QMP:
    def __init__(self, path, timeout=30):
        deadline = time.time() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.time() > deadline:
                    raise RuntimeError(f"no QMP socket at {path}")
                time.sleep(0.05)
        self.sock.settimeout(60)
        self.file = self.sock.makefile("rwb")
        self._read()
        self.cmd("qmp_capabilities")

    def _read(self):
        while True:
            line = self.file.readline()
            if not line:
                raise RuntimeError("QMP connection closed")
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    def cmd(self, name, **args):
        req = {"execute": name}
        if args:
            req["arguments"] = args
        self.file.write(json.dumps(req).encode() + b"\n")
        self.file.flush()
        resp = self._read()
        if "error" in resp:
            raise RuntimeError(f"QMP {name}: {resp['error'].get('desc', resp['error'])}")
        return resp["return"]

    def hmp(self, line):
        return self.cmd("human-monitor-command", **{"command-line": line})

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ------------------------------------------------------------------ watching the guest

class Watcher(threading.Thread):
    """Tails console files (every 5 ms) and pings the guest every 10 ms from
    the lab's root namespace; keeps the host's arrival time of each heartbeat,
    perf line and ping reply."""

    def __init__(self, ip):
        super().__init__(daemon=True)
        self.ip = ip
        self.files = {}          # path -> offset
        self.partial = {}
        self.hb = []             # (t, seq, path)
        self.perf = []           # (t, cpu, mem)
        self.damage = []         # (t, line)
        self.memcheck_rate = None
        self.replies = []        # t of each echo reply
        self.sent = 0
        self.lock = threading.Lock()
        self.stop = False
        Watcher.count = getattr(Watcher, "count", 0) + 1
        self.icmp_id = (os.getpid() + Watcher.count * 7919) & 0xFFFF
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        self.sock.settimeout(0.05)
        threading.Thread(target=self._pinger, daemon=True).start()
        threading.Thread(target=self._receiver, daemon=True).start()

    def add(self, path, from_start=False):
        """Tails PATH from its start or from its current end; a path seen
        before is read afresh (a file deleted and written again)."""
        with self.lock:
            size = 0
            if not from_start and os.path.exists(path):
                size = os.path.getsize(path)
            self.files[path] = size
            self.partial[path] = b""

    @staticmethod
    def _checksum(data):
        if len(data) % 2:
            data += b"\0"
        s = sum(struct.unpack(f"!{len(data) // 2}H", data))
        s = (s >> 16) + (s & 0xFFFF)
        s += s >> 16
        return ~s & 0xFFFF

    def _pinger(self):
        seq = 0
        nxt = time.monotonic()
        while not self.stop:
            seq = (seq + 1) & 0xFFFF
            hdr = struct.pack("!BBHHH", 8, 0, 0, self.icmp_id, seq)
            payload = b"ferry-bench-probe"
            pkt = struct.pack("!BBHHH", 8, 0, self._checksum(hdr + payload), self.icmp_id, seq) + payload
            try:
                self.sock.sendto(pkt, (self.ip, 0))
                self.sent += 1
            except OSError:
                pass
            nxt += 0.010
            delay = nxt - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                nxt = time.monotonic()

    def _receiver(self):
        while not self.stop:
            try:
                data, addr = self.sock.recvfrom(2048)
            except socket.timeout:
                continue
            except OSError:
                continue
            t = time.monotonic()
            ihl = (data[0] & 0x0F) * 4
            if len(data) >= ihl + 8 and addr[0] == self.ip:
                typ, _, _, ident, _ = struct.unpack("!BBHHH", data[ihl:ihl + 8])
                if typ == 0 and ident == self.icmp_id:
                    self.replies.append(t)

    def run(self):
        while not self.stop:
            with self.lock:
                items = list(self.files.items())
            for path, off in items:
                try:
                    with open(path, "rb") as f:
                        f.seek(off)
                        data = f.read()
                except FileNotFoundError:
                    continue
                if not data:
                    continue
                t = time.monotonic()
                with self.lock:
                    self.files[path] = off + len(data)
                    buf = self.partial[path] + data
                    lines = buf.split(b"\n")
                    self.partial[path] = lines.pop()
                for raw in lines:
                    line = raw.decode(errors="replace").strip("\r")
                    i = line.find("FERRY ")
                    if i < 0:
                        if "Kernel panic" in line or "BUG:" in line or "Oops" in line:
                            self.damage.append((t, line))
                        continue
                    line = line[i:]
                    if line.startswith("FERRY hb "):
                        m = re.match(r"FERRY hb seq=(\d+) ", line)
                        if m:
                            self.hb.append((t, int(m.group(1)), path))
                    elif line.startswith("FERRY perf "):
                        f = dict(kv.split("=", 1) for kv in line.split()[2:] if "=" in kv)
                        self.perf.append((t, int(f.get("cpu_iter", 0)), int(f.get("mem_kib", 0))))
                    elif line.startswith("FERRY memcheck"):
                        if " BAD " in line:
                            self.damage.append((t, line))
                        m = re.search(r" rate=(\d+)", line)
                        if m:
                            self.memcheck_rate = int(m.group(1))
                    elif line.startswith("FERRY CORRUPT"):
                        self.damage.append((t, line))
            time.sleep(0.005)

    def close(self):
        self.stop = True
        time.sleep(0.1)
        self.sock.close()

    # --- figures over a window [t0, t1] of host monotonic time
    @staticmethod
    def _gap(times, t0, t1):
        """Longest interval between consecutive arrivals during [t0, t1],
        counting the last arrival before t0 and the first after t1."""
        times = sorted(times)
        before = [t for t in times if t < t0][-1:]
        after = [t for t in times if t > t1][:1]
        pts = before + [t for t in times if t0 <= t <= t1] + after
        if len(pts) < 2:
            return None
        return max(b - a for a, b in zip(pts, pts[1:])) * 1000

    def hb_gap(self, t0, t1):
        with self.lock:
            times = [t for t, _, _ in self.hb]
        return self._gap(times, t0, t1)

    def net_gap(self, t0, t1):
        return self._gap(list(self.replies), t0, t1)

    def wait_heartbeat(self, timeout, since=0.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if any(t > since for t, _, _ in self.hb):
                    return True
            time.sleep(0.05)
        return False

    def check_continuity(self, source_paths, target_path, t0):
        """Verdict on the guest after a migration: heartbeats on the target
        continue the source's sequence (no jump back: a stale page), enough of
        them, and no corruption or kernel error reported."""
        with self.lock:
            src = [s for t, s, p in self.hb if p in source_paths]
            tgt = [s for t, s, p in self.hb if p == target_path and t > t0]
            damage = [d for t, d in self.damage if t > t0]
        if damage:
            return False, f"damage: {damage[0][:120]}"
        if len(tgt) < 50:
            return False, f"only {len(tgt)} heartbeats on the target"
        if any(b <= a for a, b in zip(tgt, tgt[1:])):
            return False, "target heartbeat sequence went back"
        if src and not (src[-1] - 5 <= tgt[0] <= src[-1] + 50):
            return False, f"target's first heartbeat {tgt[0]} does not follow the source's last {src[-1]}"
        return True, f"{len(tgt)} heartbeats continuing from {src[-1] if src else '?'}, no damage"


# ------------------------------------------------------------------ link shaping

def shape(mbit):
    """Shapes what each of h1 and h2 sends to the other host address (the
    migration streams) to MBIT with an HTB class; everything else (the
    guests' own traffic, the prober, SSH) goes through an unshaped class, so
    the network downtime is not the shaper's queue. 0: no shaping."""
    for host in ("h1", "h2"):
        netns(host, "tc", "qdisc", "del", "dev", "eth0", "root", check=False)
        if not mbit:
            continue
        netns(host, "tc", "qdisc", "add", "dev", "eth0", "root", "handle", "1:", "htb", "default", "10")
        netns(host, "tc", "class", "add", "dev", "eth0", "parent", "1:", "classid", "1:10", "htb", "rate", "10gbit")
        netns(host, "tc", "class", "add", "dev", "eth0", "parent", "1:", "classid", "1:20", "htb",
              "rate", f"{mbit}mbit", "ceil", f"{mbit}mbit", "burst", "64k")
        for other, addr in HOSTS.items():
            if other == host:
                continue
            netns(host, "tc", "filter", "add", "dev", "eth0", "parent", "1:", "protocol", "ip", "prio", "1", "u32",
                  "match", "ip", "src", f"{HOSTS[host]}/32", "match", "ip", "dst", f"{addr}/32", "flowid", "1:20")


def mibps(mbit):
    return mbit / 8 * 1e6 / 1048576 if mbit else 1000.0


# ------------------------------------------------------------------ guests run by hand

class RawVM:
    """A lab guest whose QEMU the benchmark starts itself (for the sweeps and
    for QEMU's defaults): same device model as the agent's VMs, diskless."""
    counter = 0

    def __init__(self, work, name, mem_k, rate, octet, perf=False):
        RawVM.counter += 1
        self.work, self.name, self.mem_k, self.rate, self.octet, self.perf = work, name, mem_k, rate, octet, perf
        self.ip = f"198.51.100.{octet}"
        self.mac = f"52:54:00:00:07:{octet:02x}"
        self.tap = f"bt{octet}"
        self.cmdline = (f"console=ttyS0 quiet panic=-1 ferry.name={name} ferry.dirty_mib={DIRTY_MIB} "
                        f"ferry.dirty_rate={rate} ferry.ip={self.ip}/24" + (" ferry.perf_ms=100" if perf else ""))
        self.host = None
        self.instance = 0
        self.qmp = None
        self.console = None
        self.consoles = []
        os.makedirs(work, exist_ok=True)

    def _tap(self, host):
        netns(host, "ip", "link", "del", self.tap, check=False)
        netns(host, "ip", "tuntap", "add", "dev", self.tap, "mode", "tap")
        netns(host, "ip", "link", "set", self.tap, "master", "br0", "up")

    def _start(self, host, extra):
        self.instance += 1
        base = os.path.join(self.work, f"{self.name}.{self.instance}.{host}")
        for suffix in (".qmp", ".console", ".pid"):
            if os.path.exists(base + suffix):
                os.unlink(base + suffix)
        self._tap(host)
        argv = ["qemu-system-x86_64", "-name", self.name, "-accel", "tcg", "-machine", "pc-i440fx-7.2",
                "-cpu", "qemu64", "-m", f"{self.mem_k}k", "-smp", "1", "-nodefaults", "-display", "none",
                "-no-reboot", "-pidfile", base + ".pid",
                "-qmp", f"unix:{base}.qmp,server=on,wait=off",
                "-chardev", f"file,id=console0,path={base}.console,append=on", "-serial", "chardev:console0",
                "-kernel", f"{LAB}/guest/vmlinux", "-initrd", f"{LAB}/guest/initramfs.gz", "-append", self.cmdline,
                "-netdev", f"tap,id=net0,ifname={self.tap},script=no,downscript=no",
                "-device", f"virtio-net-pci,netdev=net0,mac={self.mac}", *extra]
        with open(base + ".log", "ab") as logf:
            subprocess.Popen(["ip", "netns", "exec", f"ferry-{host}", *argv], stdin=subprocess.DEVNULL,
                             stdout=logf, stderr=logf, start_new_session=True)
        for _ in range(200):
            if os.path.exists(base + ".pid"):
                break
            time.sleep(0.05)
        return base

    def boot(self, host, watcher):
        base = self._start(host, [])
        self.host, self.qmp, self.console = host, QMP(base + ".qmp"), base + ".console"
        self.consoles = [self.console]
        watcher.add(self.console, from_start=True)
        if not watcher.wait_heartbeat(180):
            raise RuntimeError(f"{self.name}: no heartbeat within 180 s of boot")

    def incoming(self, host, uri):
        base = self._start(host, ["-incoming", uri])
        return QMP(base + ".qmp"), base + ".console", base + ".pid"

    def kill(self):
        for f in os.listdir(self.work):
            if f.startswith(self.name + ".") and f.endswith(".pid"):
                try:
                    os.kill(int(open(os.path.join(self.work, f)).read()), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
        if self.qmp:
            self.qmp.close()
        for h in ("h1", "h2"):
            netns(h, "ip", "link", "del", self.tap, check=False)


PORTS = iter(range(4444, 4444 + 100000))


def migrate_raw(vm, watcher, mode, link_mbit, timeout, defaults=False):
    """One migration of a RawVM to the other host, driven through QMP. With
    defaults=True: nothing set, the target started with -incoming tcp:0:PORT
    and `migrate -d tcp:...` typed into the source's human monitor, as QEMU's
    documentation does it. Returns a row of figures."""
    src_host, dst_host = vm.host, OTHER[vm.host]
    dst_addr = HOSTS[dst_host]
    port = next(PORTS)  # a fresh port: nothing left from an earlier run listens there
    uri = f"tcp:{dst_addr}:{port}"
    dst, dst_console, dst_pid = vm.incoming(dst_host, f"tcp:0:{port}" if defaults else "defer")
    watcher.add(dst_console, from_start=True)
    src = vm.qmp
    for _ in range(600):  # a previous cancelled migration may still be winding down
        if src.cmd("query-migrate").get("status") not in ("active", "cancelling", "setup", "device", "postcopy-active"):
            break
        time.sleep(0.05)
    row = {"mode": "pre-copy" if defaults else mode}
    try:
        if not defaults:
            # Every capability set explicitly: the source QEMU may have been
            # the target of a post-copy migration before.
            caps = [{"capability": "events", "state": True},
                    {"capability": "postcopy-ram", "state": mode == "post-copy"},
                    {"capability": "auto-converge", "state": mode == "auto-converge"}]
            dst.cmd("migrate-set-capabilities", capabilities=caps[:2])
            src.cmd("migrate-set-capabilities", capabilities=caps)
            # The link (tc) is the limit, not QEMU's own cap (32 MiB/s by default).
            src.cmd("migrate-set-parameters", **{"max-bandwidth": int(mibps(link_mbit) * 1.5 * 1048576),
                                                 "downtime-limit": 300})
            dst.cmd("migrate-incoming", uri=uri)
        else:
            p = src.cmd("query-migrate-parameters")
            row["note"] = (f"QEMU defaults: max-bandwidth {p.get('max-bandwidth', 0) / 1048576:.0f} MiB/s, "
                           f"downtime-limit {p.get('downtime-limit')} ms")
        time.sleep(0.5)
        t0 = time.monotonic()
        row["_t0"] = t0
        if mode == "cold" and not defaults:
            src.cmd("stop")
        if defaults:
            src.hmp(f"migrate -d {uri}")
        else:
            src.cmd("migrate", uri=uri)
        postcopy_started = False
        throttle = 0
        info = {}
        while True:
            info = src.cmd("query-migrate")
            status = info.get("status")
            ram = info.get("ram", {})
            throttle = max(throttle, info.get("cpu-throttle-percentage", 0) or 0)
            if mode == "post-copy" and not postcopy_started and status == "active" and ram.get("dirty-sync-count", 0) >= 2:
                src.cmd("migrate-start-postcopy")
                postcopy_started = True
                row["note"] = f"switched to post-copy after {ram.get('dirty-sync-count')} dirty syncs"
            if status in ("completed", "failed", "cancelled"):
                break
            if time.monotonic() - t0 > timeout and status not in ("postcopy-active", "device"):
                src.cmd("migrate_cancel")
                # Ending the target breaks the stream at once; a cancel alone
                # can take a minute to wind down over a shaped link.
                _kill_pidfile(dst_pid)
                for _ in range(1800):
                    info = src.cmd("query-migrate")
                    if info.get("status") in ("cancelled", "failed", "completed"):
                        break
                    time.sleep(0.05)
                if info.get("status") == "completed":
                    break
                info["status"] = "not converged"
                break
            time.sleep(0.02)
        t_done = time.monotonic()
        ram = info.get("ram", {})
        row.update(outcome=info.get("status"), downtime_qemu_ms=info.get("downtime"),
                   mib_sent=round(ram.get("transferred", 0) / 1048576, 1) if ram else None,
                   iterations=ram.get("dirty-sync-count"), throttle_pct=throttle or None)
        if info.get("status") == "completed":
            # The target may still be loading the last of the state; a cont
            # then is ignored when the source was paused (cold), so wait.
            for _ in range(600):
                if dst.cmd("query-status").get("status") != "inmigrate":
                    break
                time.sleep(0.01)
            if dst.cmd("query-status").get("status") != "running":
                dst.cmd("cont")
            t_end = time.monotonic()
            row["total_ms"] = round((t_end - t0) * 1000)
            time.sleep(1.5)
            ok, why = watcher.check_continuity(vm.consoles, dst_console, t0)
            row["verified"] = "yes" if ok else "NO"
            row["verification"] = why
            row["downtime_hb_ms"] = _r(watcher.hb_gap(t0, t_end + 1.0))
            row["downtime_net_ms"] = _r(watcher.net_gap(t0, t_end + 1.0))
            try:
                src.cmd("quit")
            except (RuntimeError, OSError):
                pass
            src.close()
            vm.host, vm.qmp, vm.console = dst_host, dst, dst_console
            vm.consoles.append(dst_console)
            netns(src_host, "ip", "link", "del", vm.tap, check=False)
            if not ok:
                raise GuestBroken(row)
        else:
            row["total_ms"] = round((t_done - t0) * 1000)
            row["verified"] = "-"
            row["verification"] = "stayed on the source"
            row["downtime_hb_ms"] = _r(watcher.hb_gap(t0, t_done))
            row["downtime_net_ms"] = _r(watcher.net_gap(t0, t_done))
            if mode == "cold":
                src.cmd("cont")
            _kill_pidfile(dst_pid)
            dst.close()
            netns(dst_host, "ip", "link", "del", vm.tap, check=False)
        return row
    except GuestBroken:
        raise
    except Exception:
        _kill_pidfile(dst_pid)
        raise


class GuestBroken(Exception):
    pass


def _kill_pidfile(path):
    try:
        os.kill(int(open(path).read()), signal.SIGKILL)
    except (OSError, ValueError):
        pass


def _r(x):
    return None if x is None else round(x)


# ------------------------------------------------------------------ coord and virsh

class Coord:
    def __init__(self, config):
        self.config = config

    def __call__(self, *args, check=True, timeout=900):
        return run([os.path.join(BIN, "coord"), "--config", self.config, *args], check=check, timeout=timeout)


def coord_spec(name, mem_k, rate, octet):
    return (f'name: "{name}"\nvcpus: 1\nmemory: {mem_k}k\ncpuModel: qemu64\nmachineType: pc-i440fx-7.2\n'
            f"boot:\n  kernel: {LAB}/guest/vmlinux\n  initrd: {LAB}/guest/initramfs.gz\n"
            f'  cmdline: "console=ttyS0 quiet panic=-1 ferry.name={name} ferry.dirty_mib={DIRTY_MIB} '
            f'ferry.dirty_rate={rate} ferry.ip=198.51.100.{octet}/24"\n'
            f'nics:\n  - {{bridge: br0, mac: "52:54:00:00:08:{octet:02x}"}}\n')


def coord_console(host, name):
    return f"{LAB}/hosts/{host}/state/vms/{name}/console.log"


def libvirt_xml(name, mem_k, rate, octet, exact_memory=True):
    """The lab guest as a libvirt domain. libvirt rounds guest memory up to a
    MiB (-m 128 for 131064 KiB), which on QEMU 7.2 under TCG is a size that
    loses dirty pages in pre-copy (LAB-FACTS.md): with exact_memory the
    domain passes QEMU a second -m and memory backend of the exact size
    (qemu:commandline), so libvirt's guest is the same as the others'; the
    128 MiB backend libvirt makes stays, unused."""
    extra = ""
    if exact_memory:
        extra = f"""  <qemu:commandline>
    <qemu:arg value='-m'/><qemu:arg value='{mem_k}k'/>
    <qemu:arg value='-object'/><qemu:arg value='memory-backend-ram,id=ferry.ram,size={mem_k}k'/>
    <qemu:arg value='-machine'/><qemu:arg value='memory-backend=ferry.ram'/>
  </qemu:commandline>
"""
    return f"""<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>{name}</name>
  <memory unit='KiB'>{mem_k}</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>
    <kernel>{LAB}/guest/vmlinux</kernel><initrd>{LAB}/guest/initramfs.gz</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 ferry.name={name} ferry.dirty_mib={DIRTY_MIB} ferry.dirty_rate={rate} ferry.ip=198.51.100.{octet}/24</cmdline></os>
  <cpu mode='custom' match='exact' check='none'><model fallback='forbid'>qemu64</model></cpu>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot><on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <interface type='bridge'><source bridge='br0'/><mac address='52:54:00:00:09:{octet:02x}'/><model type='virtio'/></interface>
    <serial type='file'><source path='/var/log/libvirt/console-{name}.log' append='on'/><target port='0'/></serial>
    <memballoon model='none'/>
  </devices>
{extra}</domain>
"""


def virsh_uri(host):
    return f"qemu+tcp://{HOSTS[host]}/system"


def virsh(host, *args, check=True, timeout=300):
    return run(["virsh", "-c", virsh_uri(host), *args], check=check, timeout=timeout)


def jobinfo(host, name):
    out = virsh(host, "domjobinfo", name, "--completed", check=False).stdout
    f = {}
    for line in out.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            f[k.strip()] = v.strip()

    def num(key):
        m = re.match(r"([\d.]+)\s*(\w+)?", f.get(key, ""))
        if not m:
            return None
        x = float(m.group(1))
        unit = (m.group(2) or "").lower()
        return x * {"kib": 1 / 1024, "gib": 1024, "b": 1 / 1048576}.get(unit, 1)
    return {"downtime_qemu_ms": _r(num("Total downtime")), "qemu_total_ms": _r(num("Time elapsed")),
            "mib_sent": round(num("Data processed"), 1) if num("Data processed") is not None else None,
            "iterations": _r(num("Iteration"))}


# ------------------------------------------------------------------ the suite

class Suite:
    def __init__(self, args, profile):
        self.args, self.p = args, profile
        self.out = args.out
        self.work = os.path.join(self.out, "work")
        os.makedirs(self.work, exist_ok=True)
        self.rows = []
        self.failures = []
        self.octet = 150
        self.link_now = None
        self.csv_path = os.path.join(self.out, "runs.csv")
        self.libvirt_up = False

    def next_octet(self):
        self.octet += 1
        if self.octet > 249:
            self.octet = 151
        return self.octet

    def set_link(self, mbit):
        if self.link_now != mbit:
            shape(mbit)
            self.link_now = mbit

    def record(self, row):
        row = dict(row)
        row.setdefault("recorded", time.strftime("%H:%M:%S"))
        self.rows.append(row)
        fields = CSV_FIELDS
        new = not os.path.exists(self.csv_path)
        with open(self.csv_path, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
            if new:
                w.writeheader()
            w.writerow(row)
        brief = {k: row.get(k) for k in ("experiment", "way", "mode", "rate", "mem_k", "link_mbit", "run", "outcome",
                                          "verified", "downtime_qemu_ms", "downtime_hb_ms", "downtime_net_ms", "total_ms")}
        log(f"  {brief}")
        if row.get("outcome") not in ("completed", "succeeded") or row.get("verified") != "yes":
            self.failures.append(row)

    # --- the sweeps: one guest per (rate, memory), migrated back and forth
    def sweep_point(self, experiment, rate, mem_k, link, modes, runs):
        self.set_link(link)
        name = f"sw{self.octet + 1}"
        vm = RawVM(self.work, name, mem_k, rate, self.next_octet())
        watcher = Watcher(vm.ip)
        watcher.start()
        try:
            log(f"{experiment}: boot {name} ({mem_k}k, {rate} pages/s), link {link or 'unshaped'} Mbit/s")
            vm.boot("h1", watcher)
            time.sleep(2)
            gave_up = set()
            for n in range(runs):
                for mode in modes:
                    if mode in gave_up:
                        continue
                    base = {"experiment": experiment, "way": "QMP by hand", "mode": mode, "rate": rate,
                            "mem_k": mem_k, "link_mbit": link, "run": n + 1, "source": vm.host, "target": OTHER[vm.host]}
                    t = time.monotonic()
                    base["baseline_hb_gap_ms"] = _r(watcher.hb_gap(t - 2, t))
                    base["baseline_net_gap_ms"] = _r(watcher.net_gap(t - 2, t))
                    base["achieved_rate"] = watcher.memcheck_rate
                    try:
                        row = migrate_raw(vm, watcher, mode, link, self.p["timeout"])
                        if row["outcome"] == "not converged" and n + 1 < runs:
                            gave_up.add(mode)
                            row["note"] = f"not repeated: runs {n + 2}-{runs} skipped"
                        self.record({**base, **row})
                    except GuestBroken as e:
                        self.record({**base, **e.args[0]})
                        log(f"{name}: guest broken ({e.args[0]['verification']}); booting a fresh one")
                        vm.kill()
                        vm = RawVM(self.work, name + "b", mem_k, rate, vm.octet)
                        vm.boot("h1", watcher)
                        time.sleep(3)
                    time.sleep(0.5)
        finally:
            watcher.close()
            vm.kill()

    def dirty(self):
        for rate in self.p["rates"]:
            self.sweep_point("dirty", rate, self.p["mem_k"], self.p["link"], self.p["modes"], self.p["runs"])

    def memory(self):
        for mem in self.p["mems"]:
            if "dirty" in self.only and mem == self.p["mem_k"] and MEMORY_SWEEP_RATE in self.p["rates"]:
                self.reuse("dirty", "memory", lambda r: r["rate"] == MEMORY_SWEEP_RATE and r["mem_k"] == mem and r["link_mbit"] == self.p["link"])
                continue
            self.sweep_point("memory", MEMORY_SWEEP_RATE, mem, self.p["link"], self.p["modes"], self.p["runs"])

    def bandwidth(self):
        for link in self.p["links"]:
            if "dirty" in self.only and link == self.p["link"] and BANDWIDTH_SWEEP_RATE in self.p["rates"]:
                self.reuse("dirty", "bandwidth", lambda r: r["rate"] == BANDWIDTH_SWEEP_RATE and r["link_mbit"] == link and r["mem_k"] == self.p["mem_k"])
                continue
            self.sweep_point("bandwidth", BANDWIDTH_SWEEP_RATE, self.p["mem_k"], link, self.p["modes"], self.p["runs"])

    def reuse(self, frm, to, pred):
        """The sweeps share a point (same rate, memory and link): its runs are
        counted in both, not measured twice."""
        for r in [r for r in self.rows if r["experiment"] == frm and pred(r)]:
            self.record({**r, "experiment": to, "note": f"same runs as {frm}"})

    # --- three ways
    def threeway(self):
        link = self.p["link"]
        self.set_link(link)
        config = os.path.join(self.work, "coord.yaml")
        with open(os.path.join(LAB, "coord.yaml")) as f:
            text = f.read()
        with open(config, "w") as f:
            f.write(text + f"migrationLinkMiBps: {mibps(link):.1f}\n")
        coord = Coord(config)
        log("starting libvirtd in h1 and h2")
        run([LIBVIRT, "start", "h1", "h2"], timeout=120, env={**os.environ, "FERRY_LAB_DIR": LAB})
        self.libvirt_up = True
        mem = self.p["mem_k"]
        for rate in self.p["threeway_rates"]:
            for way in self.p.get("ways", WAYS):
                self.threeway_point(way, rate, mem, link, coord)

    def threeway_point(self, way, rate, mem, link, coord):
        octet = self.next_octet()
        name = f"tw{octet}"
        ip = f"198.51.100.{octet}"
        watcher = Watcher(ip)
        watcher.start()
        log(f"threeway: {way}, {name} ({mem}k, {rate} pages/s), link {link} Mbit/s")
        vm = None
        host = "h1"
        try:
            if way == "QEMU defaults":
                vm = RawVM(self.work, name, mem, rate, octet)
                vm.boot("h1", watcher)
            elif way == "coord auto":
                spec = os.path.join(self.work, f"{name}.yaml")
                with open(spec, "w") as f:
                    f.write(coord_spec(name, mem, rate, octet))
                coord("vm", "create", "-f", spec, "--host", "h1")
                watcher.add(coord_console("h1", name), from_start=True)
                if not watcher.wait_heartbeat(180):
                    raise RuntimeError(f"{name}: no heartbeat")
            else:
                xml = os.path.join(self.work, f"{name}.xml")
                with open(xml, "w") as f:
                    f.write(libvirt_xml(name, mem, rate, octet, exact_memory=not self.args.libvirt_rounded))
                for h in ("h1", "h2"):
                    p = f"{LAB}/libvirt/{h}/log/console-{name}.log"
                    if os.path.exists(p):
                        os.unlink(p)
                virsh("h1", "create", xml)
                watcher.add(f"{LAB}/libvirt/h1/log/console-{name}.log", from_start=True)
                if not watcher.wait_heartbeat(180):
                    raise RuntimeError(f"{name}: no heartbeat")
            time.sleep(3)
            for n in range(self.p["runs"]):
                base = {"experiment": "threeway", "way": way, "rate": rate, "mem_k": mem, "link_mbit": link,
                        "run": n + 1, "source": host, "target": OTHER[host]}
                t = time.monotonic()
                base["baseline_hb_gap_ms"] = _r(watcher.hb_gap(t - 2, t))
                base["baseline_net_gap_ms"] = _r(watcher.net_gap(t - 2, t))
                base["achieved_rate"] = watcher.memcheck_rate
                if way == "QEMU defaults":
                    try:
                        row = migrate_raw(vm, watcher, "pre-copy", link, self.p["timeout"], defaults=True)
                    except GuestBroken as e:
                        self.record({**base, **e.args[0]})
                        break
                    row["mode"] = "pre-copy (QEMU defaults)"
                elif way == "coord auto":
                    row = self.coord_run(coord, name, host, watcher)
                else:
                    row = self.virsh_run(name, host, watcher)
                if row.get("outcome") == "not converged" and n + 1 < self.p["runs"]:
                    row["note"] = (row.get("note", "") + f"; not repeated: runs {n + 2}-{self.p['runs']} skipped").lstrip("; ")
                    self.record({**base, **row})
                    break
                self.record({**base, **row})
                if row.get("outcome") in ("completed", "succeeded"):
                    host = OTHER[host]
                elif row.get("verified") == "NO":
                    break
                time.sleep(1)
        finally:
            watcher.close()
            if vm:
                vm.kill()
            if way == "coord auto":
                coord("vm", "kill", name, check=False)
                coord("vm", "delete", name, check=False)
            if way == "virsh migrate --live":
                for h in ("h1", "h2"):
                    virsh(h, "destroy", name, check=False)

    def coord_run(self, coord, name, host, watcher):
        dst = OTHER[host]
        src_console = coord_console(host, name)
        dst_console = coord_console(dst, name)
        if os.path.exists(dst_console):
            os.unlink(dst_console)
        watcher.add(dst_console, from_start=True)
        t0 = time.monotonic()
        out = coord("migrate", name, "--to", dst, "--mode", "auto", "--json", check=False)
        t1 = time.monotonic()
        lines = [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]
        result = next((l["result"] for l in lines if l.get("type") == "result"), None)
        if result is None:
            return {"mode": "-", "outcome": "error", "verified": "-",
                    "verification": (out.stderr or out.stdout).strip()[-200:], "total_ms": round((t1 - t0) * 1000)}
        f = result.get("figures", {})
        ok = result.get("outcome") == "succeeded"
        row = {"mode": f"coord {result.get('mode')}", "outcome": result.get("outcome"),
               "downtime_qemu_ms": f.get("downtimeMsQEMU"), "coord_downtime_hb_ms": _r(f.get("downtimeMsGuest")),
               "total_ms": _r(f.get("totalMs")), "command_ms": round((t1 - t0) * 1000),
               "mib_sent": round(f["bytes"] / 1048576, 1) if f.get("bytes") else None, "iterations": f.get("iterations"),
               "verified": "yes" if ok else ("-" if result.get("outcome") == "rolledBack" else "NO"),
               "verification": str(result.get("verification") or result.get("error") or "")[:200]}
        # Downtimes over the migration itself: from the command's start to its
        # end (it includes the dirty-rate measurement and verification).
        row["downtime_hb_ms"] = _r(watcher.hb_gap(t0, t1))
        row["downtime_net_ms"] = _r(watcher.net_gap(t0, t1))
        if ok:
            ok2, why = watcher.check_continuity([src_console], dst_console, t0)
            if not ok2:
                row["verified"] = "NO"
                row["verification"] = "bench: " + why
        return row

    def virsh_run(self, name, host, watcher):
        dst = OTHER[host]
        dst_console = f"{LAB}/libvirt/{dst}/log/console-{name}.log"
        src_console = f"{LAB}/libvirt/{host}/log/console-{name}.log"
        watcher.add(dst_console)
        t0 = time.monotonic()
        proc = subprocess.Popen(["virsh", "-c", virsh_uri(host), "migrate", "--live", name, virsh_uri(dst)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            out, err = proc.communicate(timeout=self.p["timeout"])
        except subprocess.TimeoutExpired:
            virsh(host, "domjobabort", name, check=False)
            out, err = proc.communicate(timeout=120)
            t1 = time.monotonic()
            done = virsh(dst, "domstate", name, check=False).stdout.strip() == "running"
            if not done:
                return {"mode": "pre-copy (libvirt defaults)", "outcome": "not converged", "verified": "-",
                        "verification": "stayed on the source (domjobabort)", "total_ms": round((t1 - t0) * 1000),
                        "downtime_hb_ms": _r(watcher.hb_gap(t0, t1)), "downtime_net_ms": _r(watcher.net_gap(t0, t1))}
        t1 = time.monotonic()
        if proc.returncode != 0:
            return {"mode": "pre-copy (libvirt defaults)", "outcome": "failed", "verified": "-",
                    "verification": (err or out).strip()[-200:], "total_ms": round((t1 - t0) * 1000)}
        time.sleep(1.5)
        row = {"mode": "pre-copy (libvirt defaults)", "outcome": "completed", "total_ms": round((t1 - t0) * 1000)}
        row.update(jobinfo(dst, name))
        row["downtime_hb_ms"] = _r(watcher.hb_gap(t0, t1 + 1.0))
        row["downtime_net_ms"] = _r(watcher.net_gap(t0, t1 + 1.0))
        ok, why = watcher.check_continuity([src_console], dst_console, t0)
        row["verified"] = "yes" if ok else "NO"
        row["verification"] = why
        return row

    # --- throughput inside the guest
    def throughput(self):
        link = self.p["link"]
        self.set_link(link)
        path = os.path.join(self.out, "throughput.csv")
        with open(path, "w", newline="") as f:
            csv.writer(f).writerow(["mode", "t_s", "cpu_iter", "mem_kib", "migration_end_s", "outcome"])
        for mode in self.p["throughput_modes"]:
            octet = self.next_octet()
            vm = RawVM(self.work, f"tp{octet}", self.p["mem_k"], THROUGHPUT_RATE, octet, perf=True)
            watcher = Watcher(vm.ip)
            watcher.start()
            try:
                log(f"throughput: {mode}, {vm.name} ({THROUGHPUT_RATE} pages/s, perf lines every 100 ms)")
                vm.boot("h1", watcher)
                time.sleep(6)
                t0 = time.monotonic()
                try:
                    row = migrate_raw(vm, watcher, mode, link, self.p["timeout"])
                except GuestBroken as e:
                    row = e.args[0]
                start = row.pop("_t0", t0 + 0.5)
                time.sleep(5)
                end_s = (row.get("total_ms") or 0) / 1000
                with open(path, "a", newline="") as f:
                    w = csv.writer(f)
                    for t, cpu, mem in watcher.perf:
                        if start - 6 <= t <= start + end_s + 8:
                            w.writerow([mode, round(t - start, 3), cpu, mem, round(end_s, 3), row.get("outcome")])
                self.record({"experiment": "throughput", "way": "QMP by hand", "mode": mode, "rate": THROUGHPUT_RATE,
                             "mem_k": self.p["mem_k"], "link_mbit": link, "run": 1, **{k: v for k, v in row.items() if k != "mode"}})
            finally:
                watcher.close()
                vm.kill()

    # --- evacuation
    def evacuation(self):
        e = self.p["evac"]
        self.set_link(0)
        self.link_now = None
        out = os.path.join(self.work, "evacuation")
        cmd = [os.path.join(REPO, "scripts", "bench-evacuation"), "--vms", str(e["vms"]), "--parallel", e["parallel"],
               "--runs", str(e["runs"]), "--link-mbit", str(e["link"]), "--memory", f"{self.p['mem_k']}k",
               "--dirty-rate", "1000", "--probe-mib", "64", "--out", out]
        log("evacuation: " + " ".join(cmd[1:]))
        res = run(cmd, check=False, timeout=3600, env={**os.environ, "FERRY_LAB_DIR": LAB, "FERRY_BIN_DIR": BIN})
        sys.stderr.write(res.stderr[-3000:])
        if res.returncode != 0 or not os.path.exists(os.path.join(out, "results.csv")):
            self.failures.append({"experiment": "evacuation", "verification": res.stderr.strip()[-300:]})
            return
        shutil.copy(os.path.join(out, "results.csv"), os.path.join(self.out, "evacuation.csv"))
        with open(os.path.join(self.out, "evacuation.md"), "w") as f:
            f.write(res.stdout)

    def cleanup(self):
        if self.libvirt_up:
            run([LIBVIRT, "stop", "h1", "h2"], check=False, timeout=120, env={**os.environ, "FERRY_LAB_DIR": LAB})
        try:
            shape(0)
        except RuntimeError:
            pass


CSV_FIELDS = ["experiment", "way", "mode", "rate", "achieved_rate", "mem_k", "link_mbit", "run", "source", "target",
              "outcome", "verified", "downtime_qemu_ms", "downtime_hb_ms", "downtime_net_ms", "coord_downtime_hb_ms",
              "total_ms", "command_ms", "qemu_total_ms", "mib_sent", "iterations", "throttle_pct",
              "baseline_hb_gap_ms", "baseline_net_gap_ms", "verification", "note", "recorded"]


# ------------------------------------------------------------------ summaries and plots

def ok_row(r):
    return str(r.get("outcome")) in ("completed", "succeeded") and r.get("verified") == "yes"


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def stats(values):
    v = sorted(x for x in values if x is not None)
    if not v:
        return None
    return statistics.median(v), v[0], v[-1]


def summarize(rows):
    """Groups runs by configuration: median/min/max of each figure over the
    runs that completed and verified; counts of all runs."""
    groups = {}
    for r in rows:
        if r.get("experiment") in ("throughput",):
            continue
        key = (r["experiment"], r.get("way"), r.get("mode") if r["experiment"] != "threeway" else "",
               int(r["rate"]), int(r["mem_k"]), int(r["link_mbit"]))
        groups.setdefault(key, []).append(r)
    out = []
    for key, rs in groups.items():
        good = [r for r in rs if ok_row(r)]
        s = {"experiment": key[0], "way": key[1], "mode": key[2] or ", ".join(sorted({str(r.get("mode")) for r in rs})),
             "rate": key[3], "mem_k": key[4], "link_mbit": key[5], "runs": len(rs), "ok": len(good),
             "outcomes": ", ".join(sorted({str(r.get("outcome")) + ("" if r.get("verified") in ("yes", "-") else " (NOT verified)") for r in rs}))}
        for fig in ("downtime_qemu_ms", "downtime_hb_ms", "downtime_net_ms", "total_ms", "mib_sent", "iterations"):
            st = stats([num(r.get(fig)) for r in good])
            s[fig] = st
        st = stats([num(r.get("achieved_rate")) for r in rs])
        s["achieved_rate"] = st[0] if st else None
        out.append(s)
    return out


def fmt(st, digits=0):
    if not st:
        return "-"
    m, lo, hi = st
    f = (lambda x: f"{x:.{digits}f}")
    return f"{f(m)} ({f(lo)}–{f(hi)})" if lo != hi else f(m)


def write_summary(out, summary):
    with open(os.path.join(out, "summary.csv"), "w", newline="") as f:
        w = csv.writer(f)
        figs = ("downtime_qemu_ms", "downtime_hb_ms", "downtime_net_ms", "total_ms", "mib_sent", "iterations")
        w.writerow(["experiment", "way", "mode", "rate", "achieved_rate", "mem_k", "link_mbit", "runs", "ok", "outcomes"] +
                   [f"{x}_{s}" for x in figs for s in ("median", "min", "max")])
        for s in summary:
            w.writerow([s["experiment"], s["way"], s["mode"], s["rate"], s["achieved_rate"], s["mem_k"], s["link_mbit"],
                        s["runs"], s["ok"], s["outcomes"]] +
                       [("" if not s[x] else round(s[x][i], 1)) for x in figs for i in range(3)])


def markdown(out, summary, rows, meta):
    lines = [f"# Migration benchmarks ({meta['profile']} profile)", "", "```", *meta["lines"], "```", "",
             "Figures: median (min–max) over the runs that completed and whose guest was verified alive and intact "
             "on the target (`ok` of `runs`). Downtime: QEMU's own figure; the guest's longest heartbeat gap "
             "(compute); the longest gap in replies to a 10 ms ping from the lab's root namespace (network). "
             "Total: migration start to the guest running on the target. Rates in 4 KiB pages/s; the link is "
             "the migration traffic between the hosts, shaped with tc.", ""]
    head = "| {x} | {k} | runs ok | outcomes | downtime QEMU (ms) | heartbeat gap (ms) | ping gap (ms) | total (ms) | MiB sent | iterations |"
    sep = "|---|---|---|---|---|---|---|---|---|---|"
    titles = {"dirty": ("Downtime and total time against dirty rate", "dirty rate (pages/s) [achieved]", "rate"),
              "memory": ("Against guest memory", "guest memory", "mem_k"),
              "bandwidth": ("Against the link's bandwidth", "link (Mbit/s)", "link_mbit"),
              "threeway": ("Three ways: QEMU defaults, virsh, coord auto", "dirty rate (pages/s) [achieved]", "rate")}
    for exp, (title, xlabel, xkey) in titles.items():
        ss = [s for s in summary if s["experiment"] == exp]
        if not ss:
            continue
        ss.sort(key=lambda s: (s[xkey], (MODES.index(s["mode"]) if s["mode"] in MODES else 9), WAYS.index(s["way"]) if s["way"] in WAYS else 9))
        s0 = ss[0]
        fixed = {"rate": f"{s0['rate']} pages/s", "mem_k": f"{s0['mem_k']}k RAM", "link_mbit": f"link {s0['link_mbit'] or 'unshaped'} Mbit/s"}
        lines += [f"## {title}", "", f"Fixed: {', '.join(v for k, v in fixed.items() if k != xkey)}.", "",
                  head.format(x=xlabel, k="how" if exp == "threeway" else "mode"), sep]
        for s in ss:
            x = s[xkey]
            if xkey == "rate" and s["achieved_rate"] is not None:
                x = f"{x} [{s['achieved_rate']:.0f}]"
            if xkey == "mem_k":
                x = f"{s['mem_k']}k"
            if xkey == "link_mbit" and not x:
                x = "unshaped"
            k = f"{s['way']}: {s['mode']}" if exp == "threeway" else s["mode"]
            lines.append(f"| {x} | {k} | {s['ok']}/{s['runs']} | {s['outcomes']} | {fmt(s['downtime_qemu_ms'])} | "
                         f"{fmt(s['downtime_hb_ms'])} | {fmt(s['downtime_net_ms'])} | {fmt(s['total_ms'])} | "
                         f"{fmt(s['mib_sent'], 1)} | {fmt(s['iterations'])} |")
        lines.append("")
    tp = [r for r in rows if r.get("experiment") == "throughput"]
    if tp:
        lines += ["## Throughput inside the guest (time series: throughput-cpu.svg, throughput-mem.svg)", "",
                  "| mode | outcome | verified | total (ms) | heartbeat gap (ms) | ping gap (ms) |", "|---|---|---|---|---|---|"]
        for r in tp:
            lines.append(f"| {r['mode']} | {r.get('outcome')} | {r.get('verified')} | {r.get('total_ms')} | {r.get('downtime_hb_ms')} | {r.get('downtime_net_ms')} |")
        lines.append("")
        ts = os.path.join(out, "throughput-summary.md")
        if os.path.exists(ts):
            lines += ["The guest's work per second of the host's clock (0.5 s windows), against its median in the "
                      "6 s before the migration:", "", open(ts).read(), ""]
    ev = os.path.join(out, "evacuation.md")
    if os.path.exists(ev):
        lines += ["## Evacuation (scripts/bench-evacuation)", "", open(ev).read(), ""]
    bad = [r for r in rows if not ok_row(r) and r.get("experiment") != "throughput"]
    if bad:
        lines += ["## Runs that did not complete or were not verified", "",
                  "| experiment | how | mode | rate | memory | link | run | outcome | verified | why |", "|---|---|---|---|---|---|---|---|---|---|"]
        for r in bad:
            lines.append(f"| {r['experiment']} | {r.get('way')} | {r.get('mode')} | {r.get('rate')} | {r.get('mem_k')}k | "
                         f"{r.get('link_mbit')} | {r.get('run')} | {r.get('outcome')} | {r.get('verified')} | {str(r.get('verification'))[:100]} |")
        lines.append("")
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write("\n".join(lines))


def gnuplot(out, name, title, xlabel, ylabel, series, logx=False, logy=False, xtics=None, vline=None):
    """series: {label: [(x, median, min, max), ...]}. Writes plots/NAME.dat
    (one gnuplot index per series) and plots/NAME.gp, and runs gnuplot."""
    pdir = os.path.join(out, "plots")
    os.makedirs(pdir, exist_ok=True)
    series = {k: sorted(v) for k, v in series.items() if v}
    if not series:
        return
    dat = os.path.join(pdir, f"{name}.dat")
    with open(dat, "w") as f:
        for label, pts in series.items():
            f.write(f"# {label}\n")
            for p in pts:
                f.write(" ".join(f"{x:g}" for x in p) + "\n")
            f.write("\n\n")
    plots = []
    for i, label in enumerate(series):
        plots.append(f"'{dat}' index {i} using 1:2:3:4 with yerrorlines lw 2 pt 7 ps 0.6 title '{label}'")
    gp = [f"set terminal svg size 820,460 dynamic enhanced font 'sans,12' background '#ffffff'",
          f"set output '{os.path.join(out, name + '.svg')}'", f"set title \"{title}\"", f"set xlabel \"{xlabel}\"",
          f"set ylabel \"{ylabel}\"", "set key outside right top", "set grid", "set bars 2",
          "set offsets graph 0.04, graph 0.04, 0, 0",
          "set logscale x" if logx else "", "set logscale y" if logy else "set yrange [0:*]",
          f"set xtics ({xtics})" if xtics else "",
          (f"set arrow from {vline[0]}, graph 0 to {vline[0]}, graph 1 nohead dt 3 lc rgb '#777777'\n"
           f"set label \"{vline[1]}\" at {vline[0]}, graph 0.96 offset 0.5,0 font ',10' tc rgb '#555555'") if vline else "",
          "plot " + ", \\\n  ".join(plots)]
    gpf = os.path.join(pdir, f"{name}.gp")
    with open(gpf, "w") as f:
        f.write("\n".join(l for l in gp if l) + "\n")
    res = run(["gnuplot", gpf], check=False)
    if res.returncode != 0:
        log(f"gnuplot {name}: {res.stderr.strip()[:300]}")


def plots(out, summary):
    def pts(exp, key, xkey, fig, match):
        res = {}
        for s in summary:
            if s["experiment"] != exp or not match(s) or not s[fig]:
                continue
            x = s[xkey] / 1024 if xkey == "mem_k" else s[xkey]
            if xkey == "link_mbit" and not x:
                x = 10000  # unshaped: plotted at 10 Gbit/s
            res.setdefault(key(s), []).append((x, *s[fig]))
        return res
    mode = (lambda s: s["mode"])
    way = (lambda s: s["way"])
    link_pages = None
    dirty_links = {s["link_mbit"] for s in summary if s["experiment"] in ("dirty", "threeway")}
    if len(dirty_links) == 1 and list(dirty_links)[0]:
        link_pages = (round(mibps(list(dirty_links)[0]) * 256), "link capacity")
    names = {"downtime_hb_ms": "Downtime (guest heartbeat gap)", "downtime_net_ms": "Downtime (ping gap)",
             "total_ms": "Total migration time"}
    for exp, xkey, xlabel, logx in (("dirty", "rate", "dirty rate (4 KiB pages/s)", False),
                                    ("memory", "mem_k", "guest memory (MiB)", False),
                                    ("bandwidth", "link_mbit", "migration link (Mbit/s)", True)):
        for fig, ylabel, logy in (("downtime_hb_ms", "downtime: guest heartbeat gap (ms)", True),
                                  ("downtime_net_ms", "downtime: ping gap (ms)", True),
                                  ("total_ms", "total migration time (ms)", True)):
            gnuplot(out, f"{exp}-{fig.replace('_ms', '').replace('_', '-')}",
                    f"{names[fig]} against {xlabel.split(' (')[0]} (median, min-max)",
                    xlabel, ylabel, pts(exp, mode, xkey, fig, lambda s: True), logx=logx, logy=logy,
                    vline=link_pages if exp == "dirty" else None)
    for fig, ylabel in (("downtime_hb_ms", "downtime: guest heartbeat gap (ms)"),
                        ("downtime_net_ms", "downtime: ping gap (ms)"), ("total_ms", "total migration time (ms)")):
        gnuplot(out, f"threeway-{fig.replace('_ms', '').replace('_', '-')}",
                f"{names[fig]}: three ways (median, min-max)",
                "dirty rate (4 KiB pages/s)", ylabel, pts("threeway", way, "rate", fig, lambda s: True), logy=True,
                vline=link_pages)


def host_rates(rs, window=0.5, step=0.1):
    """The guest's work per second of the host's clock, every STEP seconds:
    the counts of the perf lines that arrived in the last WINDOW seconds.
    A pause of the guest shows as zero (no lines arrive)."""
    pts = [(float(r["t_s"]), float(r["cpu_iter"]), float(r["mem_kib"])) for r in rs]
    if not pts:
        return []
    out = []
    t = pts[0][0] + window
    while t <= pts[-1][0]:
        inside = [p for p in pts if t - window < p[0] <= t]
        out.append((t, sum(p[1] for p in inside) / window, sum(p[2] for p in inside) / 1024 / window))
        t += step
    return out


def throughput_plots(out):
    path = os.path.join(out, "throughput.csv")
    if not os.path.exists(path):
        return
    rows = list(csv.DictReader(open(path)))
    if not rows:
        return
    summary = []
    pdir = os.path.join(out, "plots")
    os.makedirs(pdir, exist_ok=True)
    modes = list(dict.fromkeys(r["mode"] for r in rows))
    dat = os.path.join(pdir, "throughput.dat")
    ends = {}
    with open(dat, "w") as f:
        for m in modes:
            rs = [r for r in rows if r["mode"] == m]
            rates = host_rates(rs)
            ends[m] = float(rs[0]["migration_end_s"])
            bc = statistics.median([c for t, c, _ in rates if t < 0] or [1])
            bm = statistics.median([x for t, _, x in rates if t < 0] or [1])
            during = [(c, x) for t, c, x in rates if 0 <= t <= ends[m]]
            after = [(c, x) for t, c, x in rates if t > ends[m] + 1]
            summary.append((m, ends[m], bc, bm, statistics.median([c for c, _ in during]) / bc * 100 if during else None,
                            min(c for c, _ in during) / bc * 100 if during else None,
                            statistics.median([x for _, x in during]) / bm * 100 if during else None,
                            statistics.median([c for c, _ in after]) / bc * 100 if after else None))
            f.write(f"# {m}\n")
            for t, c, x in rates:
                f.write(f"{t:.3f} {100 * c / bc:.1f} {100 * x / bm:.1f}\n")
            f.write("\n\n")
    with open(os.path.join(out, "throughput-summary.md"), "w") as f:
        f.write("| mode | migration (s) | CPU loop before (M iter/s) | memory copy before (MiB/s) | CPU during, median (% of before) | CPU during, lowest 0.5 s (%) | memory during, median (%) | CPU after (%) |\n")
        f.write("|---|---|---|---|---|---|---|---|\n")
        for m, end, bc, bm, cd, cmin, md, ca in summary:
            pc = (lambda v: "-" if v is None else f"{v:.0f}")
            f.write(f"| {m} | {end:.1f} | {bc / 1e6:.1f} | {bm:.0f} | {pc(cd)} | {pc(cmin)} | {pc(md)} | {pc(ca)} |\n")
    for col, what in ((2, "cpu"), (3, "mem")):
        label = "CPU loop rate" if what == "cpu" else "memory copy rate"
        plot = ", \\\n  ".join(f"'{dat}' index {i} using 1:{col} with lines lw 1.5 title '{m} (ends {ends[m]:.1f} s)'"
                               for i, m in enumerate(modes))
        gp = [f"set terminal svg size 860,460 dynamic enhanced font 'sans,12' background '#ffffff'",
              f"set output '{os.path.join(out, f'throughput-{what}.svg')}'",
              f"set title \"{label} inside the guest (host clock, 0.5 s windows, % of before)\"",
              "set xlabel \"seconds since the migration started\"", f"set ylabel \"{label} (% of before)\"",
              "set key outside right top", "set grid", "set yrange [0:*]",
              "set arrow from 0, graph 0 to 0, graph 1 nohead dt 2", f"plot {plot}"]
        gpf = os.path.join(pdir, f"throughput-{what}.gp")
        with open(gpf, "w") as f:
            f.write("\n".join(gp) + "\n")
        res = run(["gnuplot", gpf], check=False)
        if res.returncode != 0:
            log(f"gnuplot throughput: {res.stderr.strip()[:300]}")


def evacuation_plot(out):
    path = os.path.join(out, "evacuation.csv")
    if not os.path.exists(path):
        return
    rows = list(csv.DictReader(open(path)))
    series = {"coord evacuate wall": {}, "first start to last end": {}}
    bound = {}
    sent = {}
    for r in rows:
        p = int(r["parallel"])
        series["coord evacuate wall"].setdefault(p, []).append(float(r["command_s"]))
        series["first start to last end"].setdefault(p, []).append(float(r["migrations_s"]))
        bound[p] = float(r["memory_over_link_s"])
        if r.get("link_mibps"):
            sent.setdefault(p, []).append(float(r["mib_sent"]) / float(r["link_mibps"]))
    data = {k: [(p, statistics.median(v), min(v), max(v)) for p, v in d.items()] for k, d in series.items()}
    data["bound: guest memory / link"] = [(p, b, b, b) for p, b in bound.items()]
    if sent:
        data["bound: MiB sent / link"] = [(p, statistics.median(v), min(v), max(v)) for p, v in sent.items()]
    gnuplot(out, "evacuation", "Evacuation of N guests: --parallel 1 is one after another (median, min-max)",
            "coord evacuate --parallel", "seconds", data, xtics=",".join(str(p) for p in sorted(bound)))


def machine_meta(args, profile_name):
    def sh(cmd):
        try:
            return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20).stdout.strip()
        except subprocess.SubprocessError:
            return "?"
    mem_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)
    return [f"date:      {time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
            f"command:   scripts/bench suite {' '.join(sys.argv[1:])}",
            f"profile:   {profile_name}",
            f"git:       {sh('git -C ' + REPO + ' rev-parse --short HEAD')} ({sh('git -C ' + REPO + ' status --porcelain | wc -l')} files changed)",
            f"machine:   {sh('nproc')} cores, {mem_gib} GiB, {sh('uname -r')}, {sh('. /etc/os-release; echo $PRETTY_NAME')}",
            f"qemu:      {sh('qemu-system-x86_64 --version | head -1')} (TCG: /dev/kvm cannot boot Linux here)",
            f"libvirt:   {sh('libvirtd --version')}",
            f"coord:     {os.path.join(BIN, 'coord')}",
            f"load:      {sh('cat /proc/loadavg')} (at start)"]


def main():
    global BIN
    ap = argparse.ArgumentParser(prog="scripts/bench suite", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_const", dest="profile", const="quick", help="the quick profile (default; < 30 min)")
    g.add_argument("--full", action="store_const", dest="profile", const="full", help="more rates, sizes, links and runs")
    g.add_argument("--smallest", action="store_const", dest="profile", const="smallest",
                   help="the quick profile's smallest case, for CI: one run of each way at one rate; "
                        "exits non-zero if any run fails or is not verified")
    ap.add_argument("--only", help="comma-separated experiments: dirty,memory,bandwidth,threeway,throughput,evacuation")
    ap.add_argument("--runs", type=int, help="runs per configuration (overrides the profile)")
    ap.add_argument("--rates", help="dirty rates of the dirty sweep, e.g. 0,4000 (overrides the profile)")
    ap.add_argument("--ways", help="ways of the three-way comparison: qemu,virsh,coord (overrides the profile)")
    ap.add_argument("--modes", help="modes of the sweeps, e.g. pre-copy,cold (overrides the profile)")
    ap.add_argument("--timeout", type=int, help="seconds before a migration that has not converged is cancelled (profile: 20, full 60)")
    ap.add_argument("--libvirt-rounded", action="store_true",
                    help="let libvirt round guest memory up to a MiB, as it does (exposes QEMU 7.2's TCG bug)")
    ap.add_argument("--out", help="output folder (default <lab>/bench/<profile>-<time>)")
    ap.add_argument("--plots-only", action="store_true", help="remake results.md and plots from an --out folder's runs.csv")
    args = ap.parse_args()
    profile_name = args.profile or "quick"
    profile = dict(PROFILES[profile_name])
    if args.runs:
        profile["runs"] = args.runs
    if args.timeout:
        profile["timeout"] = args.timeout
    if args.ways:
        profile["ways"] = [w for w in WAYS if w.split()[0].lower() in args.ways.lower().split(",")]
    if args.rates:
        profile["rates"] = profile["threeway_rates"] = [int(x) for x in args.rates.split(",")]
    if args.modes:
        profile["modes"] = profile["throughput_modes"] = args.modes.split(",")
        if set(profile["modes"]) - set(MODES):
            sys.exit(f"modes are {', '.join(MODES)}")
    only = args.only.split(",") if args.only else profile["only"]
    unknown = set(only) - set(PROFILES["quick"]["only"])
    if unknown:
        sys.exit(f"unknown experiment(s): {', '.join(sorted(unknown))}")
    if not BIN:
        envf = os.path.join(LAB, "lab.env")
        BIN = os.path.join(REPO, ".build", "debug")
        if os.path.exists(envf):
            for line in open(envf):
                if line.startswith("BIN_DIR="):
                    BIN = line.split("=", 1)[1].strip()
    args.out = os.path.abspath(args.out or os.path.join(LAB, "bench", f"{profile_name}-{time.strftime('%Y%m%d-%H%M%S')}"))
    os.makedirs(args.out, exist_ok=True)

    if args.plots_only:
        rows = list(csv.DictReader(open(os.path.join(args.out, "runs.csv"))))
        meta_lines = open(os.path.join(args.out, "meta.txt")).read().splitlines() if os.path.exists(os.path.join(args.out, "meta.txt")) else []
        finish(args.out, rows, {"profile": profile_name, "lines": meta_lines})
        return 0

    if os.geteuid() != 0:
        sys.exit("scripts/bench suite must run as root (raw ICMP prober, namespaces, tc)")
    if not os.path.exists(os.path.join(LAB, "lab.env")):
        sys.exit(f"no lab at {LAB}: run scripts/lab up first")
    if os.path.exists(os.path.join(args.out, "runs.csv")):
        os.unlink(os.path.join(args.out, "runs.csv"))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    meta = machine_meta(args, profile_name)
    with open(os.path.join(args.out, "meta.txt"), "w") as f:
        f.write("\n".join(meta) + "\n")
    log(f"profile {profile_name}: {', '.join(only)}; output in {args.out}")
    suite = Suite(args, profile)
    suite.only = only
    t0 = time.monotonic()
    errors = []
    try:
        for exp in ("dirty", "memory", "bandwidth", "threeway", "throughput", "evacuation"):
            if exp in only:
                te = time.monotonic()
                try:
                    getattr(suite, exp)()
                except Exception as e:  # one experiment failing must not lose the others' results
                    log(f"{exp}: ERROR {type(e).__name__}: {e}")
                    errors.append(f"{exp}: {e}")
                log(f"{exp}: done in {time.monotonic() - te:.0f} s")
    finally:
        suite.cleanup()
    meta.append(f"load:      {open('/proc/loadavg').read().strip()} (at the end)")
    meta.append(f"duration:  {time.monotonic() - t0:.0f} s")
    with open(os.path.join(args.out, "meta.txt"), "w") as f:
        f.write("\n".join(meta) + "\n")
    rows = list(csv.DictReader(open(suite.csv_path))) if os.path.exists(suite.csv_path) else []
    finish(args.out, rows, {"profile": profile_name, "lines": meta})
    print(open(os.path.join(args.out, "results.md")).read())
    log(f"suite done in {time.monotonic() - t0:.0f} s: {len(rows)} runs, output in {args.out}")
    for e in errors:
        log(f"ERROR {e}")
    if profile_name == "smallest":
        # A peer's migration that did not converge (it happens to virsh and QEMU's
        # defaults now and then on this loaded TCG lab) is a measurement, not a
        # broken harness; a run of coord that fails, or any guest found broken, is.
        not_converged = [r for r in rows if r.get("outcome") == "not converged" and r.get("way") != "coord auto"]
        for r in not_converged:
            log(f"note: {r['way']} did not converge at {r['rate']} pages/s (a result, not a harness failure)")
        bad = [r for r in rows if not ok_row(r) and r not in not_converged]
        if errors or not rows or bad:
            log(f"FAILED: {len(rows)} runs, {len(bad)} not completed and verified, {len(errors)} errors")
            return 1
        expected = {w for w in WAYS}
        missing = expected - {r["way"] for r in rows}
        if missing:
            log(f"FAILED: no row for {', '.join(sorted(missing))}")
            return 1
        for svg in ("threeway-downtime-hb.svg", "threeway-total.svg"):
            svg = os.path.join(args.out, svg)
            if not os.path.exists(svg) or not os.path.getsize(svg):
                log(f"FAILED: {svg} is empty")
                return 1
    return 1 if errors else 0


def finish(out, rows, meta):
    for r in rows:
        for k in ("rate", "mem_k", "link_mbit"):
            r[k] = int(r.get(k) or 0)
    summary = summarize(rows)
    write_summary(out, summary)
    throughput_plots(out)
    markdown(out, summary, rows, meta)
    plots(out, summary)
    evacuation_plot(out)


if __name__ == "__main__":
    sys.exit(main())

"""Opens N TCP connections to a harness and keeps them open, then prints
what holding them costs the harness: RSS, open fds, threads, accept
errors, and the admission decisions its event log shows. Used by
bench/hold10k.sh; bounded in count and time."""

import argparse
import json
import os
import resource
import select
import socket
import sys
import time


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return {"rss_mb": int(out["VmRSS"].split()[0]) / 1024, "threads": int(out["Threads"]),
            "fds": len(os.listdir(f"/proc/{pid}/fd"))}


def count_events(path):
    counts = {}
    with open(path) as f:
        for line in f:
            e = json.loads(line)
            key = e["event"] if e["event"] != "admission" else "admission:" + e["decision"]
            counts[key] = counts.get(key, 0) + 1
    return counts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--events", required=True)
    ap.add_argument("--max-seconds", type=float, default=120)
    ap.add_argument("--sources", type=int, default=1,
                    help="source addresses 127.0.0.1 ... 127.0.0.N, round robin: one address "
                         "has ~28,000 ephemeral ports to one destination")
    ap.add_argument("--rss-bound-mb", type=float, default=200)
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < a.count + 100:
        sys.exit(f"ulimit -n is {soft}: raise it above {a.count + 100}")
    deadline = time.monotonic() + a.max_seconds
    before = proc_status(a.pid)
    socks, pending = [], []
    t0 = time.monotonic()
    poller = select.epoll()
    for i in range(a.count):
        s = socket.socket()
        s.setblocking(False)
        if a.sources > 1:
            s.bind((f"127.0.0.{1 + i % a.sources}", 0))
        s.connect_ex(("127.0.0.1", a.port))
        pending.append(s)
        if len(pending) >= 256 or i == a.count - 1:
            by_fd = {s.fileno(): s for s in pending}
            for fd in by_fd:
                poller.register(fd, select.EPOLLOUT)
            while by_fd and time.monotonic() < deadline:
                for fd, _ in poller.poll(1.0):
                    poller.unregister(fd)
                    socks.append(by_fd.pop(fd))
            pending = list(by_fd.values())
    connect_s = time.monotonic() - t0
    # Wait until the harness has decided on every connection.
    while time.monotonic() < deadline:
        c = count_events(a.events)
        if c.get("admission:refused", 0) + c.get("admission:admitted", 0) >= a.count:
            break
        time.sleep(0.5)
    time.sleep(1)
    during = proc_status(a.pid)
    c = count_events(a.events)
    failed = sum(1 for s in socks if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
    print(f"connections opened: {len(socks)} of {a.count} in {connect_s:.1f} s "
          f"({failed} with a socket error)")
    print(f"harness decisions: admitted {c.get('admission:admitted', 0)}, "
          f"refused (held) {c.get('admission:refused', 0)}; accept errors "
          f"{c.get('accept-error', 0)}")
    print(f"{'':<22}{'RSS MB':>8}{'fds':>8}{'threads':>9}")
    print(f"{'before':<22}{before['rss_mb']:>8.1f}{before['fds']:>8}{before['threads']:>9}")
    print(f"{'holding ' + str(len(socks)):<22}{during['rss_mb']:>8.1f}{during['fds']:>8}"
          f"{during['threads']:>9}")
    per = (during["rss_mb"] - before["rss_mb"]) * 1024 / max(len(socks), 1)
    print(f"per held connection: {per:.2f} KB RSS")
    for s in socks + pending:
        s.close()
    ok = (len(socks) == a.count and c.get("accept-error", 0) == 0
          and during["rss_mb"] < a.rss_bound_mb and during["threads"] == before["threads"])
    print(f"target (< {a.rss_bound_mb:.0f} MB RSS, 0 accept errors, threads unchanged):",
          "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

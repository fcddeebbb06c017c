#!/usr/bin/env python3
"""api_load — the control API under load: HTTP clients make mixed requests
(GET /connections, GET a listener's toxics, POST and DELETE a toxic) while
bench/handshake_bench drives fast-fail connections (reset-at-x224-request)
through the same harness, and a follower reads every line through GET
/events. Prints the API's requests/s, the harness's connections/s, and
whether the follower saw every connection's accept and close (none lost).
Prints figures; not a test. Loopback only; every process it starts ends.

    bench/api_load.py [BUILD_DIR] [--seconds S] [--clients N] [--rate N]
"""

import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "client-tests"))
import rfharness as rf  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default="./build")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--rate", type=int, default=1000,
                    help="connections per second the harness is given (default 1000)")
    a = ap.parse_args()
    os.environ["RDPFAULT_BIN"] = os.path.join(a.build, "rdpfault")
    bench = os.path.join(a.build, "bench", "handshake_bench")
    h = rf.Harness(extra_args=["--api", "127.0.0.1:0", "--default", "reset-at-x224-request",
                               "-q"], port_base=False)
    h.start()
    try:
        api = next(e for e in h.events() if e["event"] == "start")["api"]
        host, port = api.split(":")
        lst = f"/listeners/127.0.0.1:{h.port}"
        stop = time.monotonic() + a.seconds
        counts, errors = [0] * a.clients, [0] * a.clients

        def client(i):
            c = http.client.HTTPConnection(host, int(port), timeout=10)
            k = 0
            while time.monotonic() < stop:
                k += 1
                if k % 4 == 0:
                    c.request("POST", lst + "/toxics",
                              json.dumps({"type": "latency", "name": f"t{i}-{k}",
                                          "attributes": {"latency": 0}}))
                elif k % 4 == 1:
                    c.request("DELETE", f"{lst}/toxics/t{i}-{k - 1}")
                elif k % 4 == 2:
                    c.request("GET", "/connections")
                else:
                    c.request("GET", lst + "/toxics")
                r = c.getresponse()
                r.read()
                counts[i] += 1
                errors[i] += r.status >= 400 and r.status != 404
            c.close()

        seen = {"accept": set(), "close": set(), "missed": False}

        def follower():
            c = http.client.HTTPConnection(host, int(port), timeout=30)
            since = 0
            while time.monotonic() < stop + 5:
                c.request("GET", f"/events?since={since}&wait=500")
                page = json.loads(c.getresponse().read())
                seen["missed"] |= page["missed"]
                for e in page["events"]:
                    if e["event"] in ("accept", "close"):
                        seen[e["event"]].add(e["conn"])
                since = page["next"]

        threads = [threading.Thread(target=client, args=(i,)) for i in range(a.clients)]
        threads.append(threading.Thread(target=follower))
        for t in threads:
            t.start()
        # The connections at --rate: a burst of rate/20 every 50 ms.
        t0 = time.monotonic()
        burst, ok, failed = max(1, a.rate // 20), 0, 0
        tick = t0
        while time.monotonic() < stop:
            load = subprocess.run([bench, "--port", str(h.port), "--mode", "cut",
                                   "--connections", str(burst), "--concurrency", "8",
                                   "--json"], capture_output=True, text=True)
            res = json.loads(load.stdout) if load.stdout.strip().startswith("{") else {}
            ok += int(res.get("ok", 0))
            failed += int(res.get("failed", burst))
            tick += 0.05
            time.sleep(max(0.0, tick - time.monotonic()))
        load_s = time.monotonic() - t0
        for t in threads:
            t.join()
        res = {"ok": ok, "rate_per_s": round(ok / load_s, 1), "failed": failed}
        total = sum(counts)
        print(f"API: {total} requests in {a.seconds:.0f} s by {a.clients} clients: "
              f"{total / a.seconds:.0f}/s (goal >= 1000), errors {sum(errors)}")
        print(f"harness meanwhile: {res['ok']} connections in {load_s:.1f} s: "
              f"{res['rate_per_s']}/s (goal >= 1000), {res['failed']} failed")
        acc, clo = len(seen["accept"]), len(seen["close"])
        print(f"GET /events follower: {acc} accepts and {clo} closes seen of "
              f"{res.get('ok', '?')} connections; lines missed: {seen['missed']} "
              f"(goal: every one, none missed)")
    finally:
        h.stop()
        h.cleanup()


if __name__ == "__main__":
    main()

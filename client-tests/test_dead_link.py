"""A client whose link dies after activation is noticed and closed.

In a network namespace of the test's own: Xvfb, the harness with a short
TCP keep-alive (--keepalive 1,1,2) and xfreerdp reach an active session on
healthy-tls; then nftables drops every packet on the namespace's loopback,
both ways, as a dead VPN or a pulled cable would. The harness's keep-alive
probes go unanswered and the connection ends as `client-gone` within a few
seconds, its peer thread and memory given back; with keep-alive off it
would stay `active` for good.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import rfharness as rf  # noqa: E402

INNER = textwrap.dedent(r"""
    import json, os, subprocess, sys, time
    sys.path.insert(0, sys.argv[1])
    import rfharness as rf
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    out = {}
    with rf.Display() as d, rf.Harness(extra_args=["--keepalive", "1,1,2"]) as h:
        c = rf.xfreerdp(h.port, "healthy-tls", display=d.name)
        h.wait_for(lambda ev: any(e.get("phase") == "active" for e in ev), timeout=30,
                   what="an active session")
        conn = [e["conn"] for e in h.events() if e.get("phase") == "active"][0]
        time.sleep(1)
        # The link dies: every packet on this namespace's loopback dropped.
        for cmd in (["nft", "add", "table", "inet", "deadlink"],
                    ["nft", "add", "chain", "inet", "deadlink", "in",
                     "{ type filter hook input priority 0; policy drop; }"],
                    ["nft", "add", "chain", "inet", "deadlink", "out",
                     "{ type filter hook output priority 0; policy drop; }"]):
            subprocess.run(cmd, check=True)
        t0 = time.monotonic()
        got = h.wait_for(lambda ev: [e for e in ev if e["event"] == "close"
                                     and e["conn"] == conn], timeout=30, what="its close")
        out = {"close": got[0], "after_s": round(time.monotonic() - t0, 1)}
        subprocess.run(["nft", "delete", "table", "inet", "deadlink"])
        c.stop()
    print(json.dumps(out))
""")


def can_run():
    return (os.geteuid() == 0 and shutil.which("nft") and shutil.which("xfreerdp") and
            subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0)


class DeadLink(unittest.TestCase):
    @unittest.skipUnless(can_run(), "needs root, network namespaces, nft and xfreerdp")
    def test_keepalive_closes_a_dead_session(self):
        p = subprocess.run(["unshare", "-n", sys.executable, "-c", INNER, HERE],
                           capture_output=True, text=True, timeout=120, env=dict(os.environ))
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        r = json.loads(p.stdout.strip().splitlines()[-1])
        close = r["close"]
        self.assertEqual(close["reason"], "client-gone", close)
        self.assertEqual(close["last_phase"], "active", close)
        # 1 s idle + 2 probes 1 s apart (or the 3 s user timeout).
        self.assertLess(r["after_s"], 10, r)


if __name__ == "__main__":
    unittest.main(verbosity=2)

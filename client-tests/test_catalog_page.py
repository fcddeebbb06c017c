"""The catalog page at the control API's GET / in headless Chromium: one
row per scenario with its port, what it reproduces, the commands to try it
and each client's expectation; the live connections filled in by the page's
own script from GET /connections; text from the scenario files escaped.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfharness as rf  # noqa: E402


class CatalogPage(unittest.TestCase):
    def chromium(self, *args):
        # No background networking: this machine's network is loopback only.
        p = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                            "--disable-quic", "--no-first-run", "--disable-background-networking",
                            "--disable-component-update", "--disable-sync",
                            "--virtual-time-budget=4000", "--user-data-dir=" + self.profile,
                            *args], capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        return p.stdout

    def setUp(self):
        if not shutil.which("chromium"):
            self.skipTest("chromium is not installed (bash .ci/deps)")
        self.profile = tempfile.mkdtemp(prefix="rfchromium-")

    def tearDown(self):
        shutil.rmtree(self.profile, ignore_errors=True)

    def test_page(self):
        args = ["--api", "127.0.0.1:0", "--set", "cert-weak.summary=<b>bold</b> & co"]
        with rf.Harness(extra_args=args, timeout_ms=20000) as h:
            api = next(e for e in h.events() if e["event"] == "start")["api"]
            n = len([e for e in h.events() if e["event"] == "start"][0]["listeners"])
            # A live connection to slow-vpn, held open while the page loads.
            s = socket.create_connection(("127.0.0.1", h.port), timeout=10)
            s.sendall(rf.x224_request("slow-vpn", protocols=0x1))
            rf.read_confirm(s)
            dom = self.chromium("--dump-dom", f"http://{api}/")
            shot = os.path.join(h.tmp, "page.png")
            self.chromium(f"--screenshot={shot}", "--window-size=1400,1000", f"http://{api}/")
            self.assertGreater(os.path.getsize(shot), 10000)
            s.close()
        rows = re.findall(r'<tr id="sc-([a-z0-9-]+)">', dom)
        self.assertEqual(len(rows), n - 1)  # every scenario's listener, not --listen's
        self.assertEqual(rows, sorted(rows))
        row = dom[dom.index('<tr id="sc-slow-vpn">'):]
        row = row[:row.index("</tr>")]
        port = h.scenario_port(70)
        self.assertIn(f'<td class="port">{port}</td>', row)
        self.assertIn(f"xfreerdp /v:127.0.0.1:{port} /u:slow-vpn /p:x /cert:ignore", row)
        self.assertIn(f"rdesktop -u slow-vpn 127.0.0.1:{port}", row)
        self.assertIn("Network: latency both latency=120 jitter=30", row)
        self.assertIn("Network: bandwidth downstream rate=128", row)
        self.assertIn('data-live="slow-vpn">1<', row)  # the page's script counted it
        self.assertRegex(dom, r'id="nlive">[1-9]')
        conns = dom[dom.index('<table id="conns">'):]
        self.assertIn("<td>slow-vpn</td>", conns[:conns.index("</table>")])
        hrdp = dom[dom.index('<tr id="sc-healthy-rdp">'):]
        self.assertIn("/sec:rdp", hrdp[:hrdp.index("</tr>")])  # its measured arguments
        weak = dom[dom.index('<tr id="sc-cert-weak">'):]
        weak = weak[:weak.index("</tr>")]
        self.assertIn("&lt;b&gt;bold&lt;/b&gt; &amp; co", weak)
        self.assertNotIn("<b>bold</b>", weak)


if __name__ == "__main__":
    unittest.main()

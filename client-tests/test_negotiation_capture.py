"""Wire test: a plaintext capture of each negotiation-failure scenario,
dissected by tshark, shows an X.224 Connection Confirm carrying
RDP_NEG_FAILURE with the intended code, and no malformed-packet mark; and
nothing follows the failure from the server but its FIN.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfharness as rf  # noqa: E402

# scenario -> (what the client offers, failure code the server must send)
CASES = {
    "ssl-required": (0x0, 1),             # RDP only; the server requires TLS
    "ssl-not-allowed": (0x3, 2),          # TLS+NLA; the server allows RDP only
    "cert-not-on-server": (0x3, 3),       # written by the harness
    "neg-inconsistent-flags": (0x3, 4),   # written by the harness
    "nla-required": (0x1, 5),             # TLS only; the server requires NLA
    "neg-ssl-with-user-auth-required": (0x3, 6),
}


@unittest.skipUnless(shutil.which("tshark"), "tshark is not installed")
class NegotiationCapture(unittest.TestCase):
    def test_failures_on_the_wire(self):
        with rf.Harness() as h, tempfile.TemporaryDirectory() as tmp:
            ports = {n: h.scenario_port(o) for n, o in self.offsets().items()}
            pcap = os.path.join(tmp, "neg.pcap")
            flt = " or ".join(f"tcp port {p}" for p in ports.values())
            cap = subprocess.Popen(["tshark", "-i", "lo", "-f", flt, "-w", pcap, "-q"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            try:
                rf.wait_capturing(cap)
                for name, (offer, _) in CASES.items():
                    s = socket.create_connection(("127.0.0.1", ports[name]), timeout=5)
                    s.sendall(rf.x224_request("probe", protocols=offer))
                    cc = rf.read_confirm(s)
                    self.assertEqual(len(cc), 19, name)
                    # Nothing but the close after a failure.
                    s.settimeout(5)
                    self.assertEqual(s.recv(1), b"", f"{name}: bytes after RDP_NEG_FAILURE")
                    s.close()
                time.sleep(1.0)
            finally:
                cap.send_signal(signal.SIGINT)
                cap.wait(15)
            decode = []
            for p in ports.values():
                decode += ["-d", f"tcp.port=={p},tpkt"]
            out = subprocess.run(
                ["tshark", "-r", pcap, *decode, "-Y", "rdp || _ws.malformed", "-T", "fields",
                 "-e", "tcp.srcport", "-e", "rdp.neg_type", "-e", "rdp.negFailure.failureCode",
                 "-e", "_ws.malformed"], capture_output=True, text=True, check=True).stdout
            rows = [ln.split("\t") for ln in out.splitlines() if ln.strip()]
            self.assertFalse([r for r in rows if len(r) > 3 and r[3]], f"malformed:\n{out}")
            for name, (_, code) in CASES.items():
                mine = [r for r in rows if r[0] == str(ports[name]) and r[1] == "0x03"]
                self.assertEqual(len(mine), 1, f"{name}: {out}")
                self.assertEqual(int(mine[0][2], 0), code, name)

    def offsets(self):
        import json
        out = subprocess.run([rf.rdpfault_binary(), "list", "--json"], capture_output=True,
                             text=True, check=True).stdout
        return {s["name"]: s["port_offset"] for s in json.loads(out) if s["name"] in CASES}


if __name__ == "__main__":
    unittest.main(verbosity=2)

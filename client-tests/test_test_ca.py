"""Test-CA mode with xfreerdp: when the client trusts the harness's test CA
(serve --ca-dir; SSL_CERT_FILE for xfreerdp), it tells the certificate
scenarios apart instead of seeing one self-signed certificate: expired (10),
not yet valid (9), a name mismatch, and a good certificate that connects.
The CA is made once and kept across restarts.
"""

import hashlib
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfharness as rf  # noqa: E402


class TestCa(unittest.TestCase):
    def test_client_trusting_the_ca_names_each_fault(self):
        ca_dir = tempfile.mkdtemp(prefix="rfca-")
        ca = os.path.join(ca_dir, "rdpfault-ca.crt")
        with rf.Display() as display, rf.Harness(extra_args=["--ca-dir", ca_dir]) as h:
            self.assertEqual(oct(os.stat(os.path.join(ca_dir, "rdpfault-ca.key")).st_mode & 0o777),
                             "0o600")
            first = hashlib.sha256(open(ca, "rb").read()).hexdigest()
            env = {"SSL_CERT_FILE": ca}
            cases = [(13, None, None), (10, 143, "certificate has expired (10)"),
                     (11, 143, "certificate is not yet valid (9)"),
                     (12, 143, "CERTIFICATE NAME MISMATCH")]
            for offset, code, line in cases:
                c = rf.Client(["xfreerdp", f"/v:localhost:{h.scenario_port(offset)}", "/u:x",
                               "/p:x", "/size:800x600"], display.name, env)
                rc = c.wait(20 if code else 5)
                out = c.output()
                c.stop()
                if code is None:
                    self.assertIsNone(rc, f"offset {offset}: should connect:\n{out[-2000:]}")
                else:
                    self.assertEqual(rc, code, out[-2000:])
                    self.assertIn(line, out)
                self.assertNotIn("self-signed certificate (18)", out)
        # A second start keeps the same CA: a client's trust survives restarts.
        with rf.Harness(extra_args=["--ca-dir", ca_dir]):
            self.assertEqual(hashlib.sha256(open(ca, "rb").read()).hexdigest(), first)


if __name__ == "__main__":
    unittest.main(verbosity=2)

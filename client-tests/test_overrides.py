"""`--set` reaches the wire: a scenario field changed on the command line
is what the server really does. tls-version-mismatch set to TLS 1.3 only
refuses a TLS 1.2 client and accepts a TLS 1.3 one; credssp-logon-failure
set to STATUS_ACCOUNT_DISABLED makes xfreerdp report exactly that.
"""

import os
import ssl
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfharness as rf  # noqa: E402

TLS13 = ["--set", "tls-version-mismatch.security.tls_min=1.3",
         "--set", "tls-version-mismatch.security.tls_max=1.3"]


def tls_handshake(port, max_version):
    """TLS on tls-version-mismatch's cookie: the version, or an exception."""
    return rf.tls_version(port, "tls-version-mismatch", max_version)


class Overrides(unittest.TestCase):
    def test_tls_13_only(self):
        with rf.Harness(extra_args=TLS13) as h:
            self.assertEqual(tls_handshake(h.port, ssl.TLSVersion.TLSv1_3), "TLSv1.3")
            with self.assertRaises(ssl.SSLError):
                tls_handshake(h.port, ssl.TLSVersion.TLSv1_2)
            faults = h.matching(lambda e: e["event"] == "fault", 1)
            self.assertTrue(faults and faults[0]["tls_versions"] == "1.3-1.3", faults)

    def test_credssp_code(self):
        extra = ["--set", "credssp-logon-failure.faults[0].params.code=STATUS_ACCOUNT_DISABLED"]
        with rf.Display() as display, rf.Harness(extra_args=extra) as h:
            c = rf.xfreerdp(h.port, "credssp-logon-failure", "rdpfault-nla", ["/cert:ignore"],
                            display.name)
            rc = c.wait(30)
            out = c.output()
            c.stop()
            self.assertIn("STATUS_ACCOUNT_DISABLED", out)
            self.assertIn("ERRCONNECT_ACCOUNT_DISABLED", out)
            self.assertNotEqual(rc, 134, "a logon failure, not the code that was set")
            failed = h.matching(lambda e: e["event"] == "credssp-failed", 1)
            self.assertEqual(failed[0]["error_code"], "0xC0000072")


if __name__ == "__main__":
    unittest.main(verbosity=2)

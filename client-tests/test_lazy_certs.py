"""Certificates made after the listeners open: a connection that arrives
before its scenario's certificate exists waits for it and gets its own
(never another scenario's), with dates relative to now; the wait is in the
event log. The maker is slowed by $RDPFAULT_TEST_CERT_DELAY_MS so that the
connections surely come first.
"""

import datetime
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfharness as rf  # noqa: E402


def tls_cert(port, cookie):
    """The DER certificate the server presents to a TLS client that
    selected `cookie`."""
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.sendall(rf.x224_request(cookie, protocols=0x1))
    cc = rf.read_confirm(s, timeout=20)
    assert cc[-8] == 0x02 and cc[-4:] == b"\x01\x00\x00\x00", cc.hex()  # RDP_NEG_RSP: TLS
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    t = ctx.wrap_socket(s)
    t.settimeout(20)
    der = t.getpeercert(binary_form=True)
    t.close()
    return der


def describe(der):
    """subject CN, notBefore, notAfter of a DER certificate (openssl)."""
    p = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-subject", "-dates",
                        "-dateopt", "iso_8601"], input=der, capture_output=True, check=True)
    out = dict(ln.split("=", 1) for ln in p.stdout.decode().splitlines())
    when = lambda v: datetime.datetime.strptime(v.strip(), "%Y-%m-%d %H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)
    return out["subject"].strip(), when(out["notBefore"]), when(out["notAfter"])


class LazyCertificates(unittest.TestCase):
    def test_early_connections_wait_for_their_own_certificate(self):
        with tempfile.TemporaryDirectory() as d:
            ready, events = os.path.join(d, "ready"), os.path.join(d, "events")
            port = rf.free_ports(1)[0]
            env = dict(os.environ, RDPFAULT_TEST_CERT_DELAY_MS="150")
            p = subprocess.Popen([rf.rdpfault_binary(), "serve", "--listen", f"127.0.0.1:{port}",
                                  "--ready-file", ready, "--events", events],
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 preexec_fn=rf._die_with_parent)
            deadline = time.monotonic() + 20
            while not os.path.exists(ready):
                self.assertIsNone(p.poll())
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.01)
            # Ready, and at 150 ms a certificate, 86 of them: these two
            # come long before theirs would in catalog order.
            got = {}
            names = ["cert-expired", "cert-not-yet-valid", "cert-hostname-mismatch"]

            def fetch(name):
                got[name] = tls_cert(port, name)
            threads = [threading.Thread(target=fetch, args=(n,)) for n in names]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            p.send_signal(signal.SIGTERM)
            _, err = p.communicate(timeout=30)
            self.assertEqual(p.returncode, 0, err)
            with open(events) as f:
                ev = [json.loads(ln) for ln in f]
        now = datetime.datetime.now(datetime.timezone.utc)
        subject, nb, na = describe(got["cert-expired"])
        self.assertIn("localhost", subject)
        self.assertLess(na, now)                      # expired: relative to now
        self.assertGreater(na, now - datetime.timedelta(days=400))
        subject, nb, na = describe(got["cert-hostname-mismatch"])
        self.assertIn("wrong-host.invalid", subject)  # its own, not another's
        self.assertLess(nb, now)
        self.assertGreater(na, now)
        subject, nb, na = describe(got["cert-not-yet-valid"])
        self.assertIn("localhost", subject)
        self.assertGreater(nb, now)                   # not yet valid: relative to now
        scen = {e["conn"]: e["scenario"] for e in ev if e["event"] == "scenario"}
        waits = {scen[e["conn"]]: e["waited_ms"] for e in ev if e["event"] == "certificate-wait"}
        self.assertEqual(sorted(waits), sorted(names), ev)
        self.assertTrue(all(w > 0 for w in waits.values()), waits)
        # Asked for first: each waited far less than the whole catalog takes.
        self.assertTrue(all(w < 86 * 150 / 2 for w in waits.values()), waits)
        self.assertFalse(any(e["event"] == "close" and e["reason"].startswith("internal-error")
                             for e in ev))

    def test_certificate_export_still_has_dates_relative_to_now(self):
        with tempfile.TemporaryDirectory() as d:
            p = subprocess.run([rf.rdpfault_binary(), "cert", "export", "--out", d],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(os.path.join(d, "certs", "cert-expired.crt"), "rb") as f:
                pem = f.read()
        der = ssl.PEM_cert_to_DER_cert(pem.decode())
        _, nb, na = describe(der)
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertLess(na, now)
        self.assertLess(abs((now - na) - datetime.timedelta(days=30)),
                        datetime.timedelta(hours=1))


if __name__ == "__main__":
    unittest.main(verbosity=2)

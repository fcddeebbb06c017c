"""A stalled connection costs no busy thread, and other connections go on:
twenty clients stalled inside the TLS handshake (stall-at-tls) leave the
harness's CPU near zero, while a healthy X.224 + TLS handshake on the same
harness completes at once.
"""

import os
import socket
import ssl
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfharness as rf  # noqa: E402

STALLED = 20


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tls_client(port, cookie, timeout):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(rf.x224_request(cookie, protocols=0x1))
    rf.read_confirm(s, timeout)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx.wrap_socket(s)


class Stall(unittest.TestCase):
    def test_stalled_connections_hold_no_busy_thread(self):
        with rf.Harness(timeout_ms=20000) as h:
            outcomes = []

            def stalled():
                try:
                    tls_client(h.port, "stall-at-tls", 15).close()
                    outcomes.append("completed")
                except (OSError, ssl.SSLError):
                    outcomes.append("failed")

            threads = [threading.Thread(target=stalled) for _ in range(STALLED)]
            for t in threads:
                t.start()
            h.wait_for(lambda ev: len([e for e in ev if e["event"] == "fault"
                                       and e["action"] == "stall"]) >= STALLED,
                       what=f"{STALLED} stalls")
            before = cpu_seconds(h.proc.pid)
            time.sleep(3)
            used = cpu_seconds(h.proc.pid) - before
            self.assertLess(used, 0.3, f"the harness used {used:.2f} s of CPU in 3 s "
                                       f"with {STALLED} stalled connections")
            # Another connection goes through meanwhile.
            t0 = time.monotonic()
            c = tls_client(h.port, "healthy-tls", 5)
            self.assertIn(c.version(), ("TLSv1.2", "TLSv1.3"))
            c.close()
            self.assertLess(time.monotonic() - t0, 2.0)
            rc, took = h.stop()  # ends the stalls
            self.assertEqual(rc, 0)
            for t in threads:
                t.join(20)
            self.assertEqual(outcomes.count("completed"), 0, outcomes)


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""FreeRDP's bulk compressors made on first use and kept from one peer for
the next (server/freerdp/bulkpool.c): TLS connections that end before any
compressed data never make theirs; xfreerdp sessions, whose data the
server compresses, make the ones they use and hand them on reset, and the
next sessions on them still reach an active desktop that xfreerdp decodes
without an error. The stop event's bulk_contexts counts say which
happened.
"""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfharness as rf  # noqa: E402

PER_PEER = 6  # an MPPC, an NCRUSH and an XCRUSH context for each direction


class BulkPool(unittest.TestCase):
    def test_tls_connections_make_no_contexts(self):
        n = 5
        with rf.Harness() as h:
            for _ in range(n):
                self.assertTrue(rf.tls_version(h.port, "healthy-tls", timeout=10).startswith("TLS"))
                # One at a time: each peer ends (and hands its contexts
                # on) before the next begins.
                h.matching(lambda e: e["event"] == "close", 1 + _)
                time.sleep(0.2)
            rc, _ = h.stop()
            self.assertEqual(rc, 0)
            bulk = h.events()[-1]["bulk_contexts"]
        # Each peer (the connections', and the harness's own at its start)
        # was given its six and freed them unused: none was made.
        self.assertGreaterEqual(bulk["never_made"], (n + 1) * PER_PEER, bulk)
        self.assertEqual(bulk["made"], 0, bulk)
        self.assertEqual(bulk["reused"], 0, bulk)

    def test_sessions_on_used_contexts_stay_correct(self):
        with rf.Display() as d, rf.Harness() as h:
            for i in range(3):
                c = rf.xfreerdp(h.port, "healthy-tls", display=d.name)
                try:
                    h.matching(lambda e: e.get("phase") == "active", i + 1, timeout=30,
                               what="active sessions")
                    time.sleep(1.5)  # the desktop's updates, compressed, decoded
                    self.assertIsNone(c.proc.poll(), c.output())  # still connected
                finally:
                    c.stop()
                out = c.output()
                bad = [line for line in out.splitlines()
                       if "decompress" in line.lower() or "bulk" in line.lower()]
                self.assertEqual(bad, [], out)
                h.matching(lambda e: e["event"] == "close", i + 1)
            rc, _ = h.stop()
            self.assertEqual(rc, 0)
            bulk = h.events()[-1]["bulk_contexts"]
        # The first session made the contexts the server compressed with;
        # the second and third ran on them, reset before they were handed
        # on; the rest of each peer's six were never made.
        self.assertGreaterEqual(bulk["made"], 1, bulk)
        self.assertGreaterEqual(bulk["reused"], 2, bulk)
        self.assertEqual(bulk["reset"], bulk["reused"], bulk)
        self.assertGreaterEqual(bulk["never_made"], 3 * PER_PEER // 2, bulk)


if __name__ == "__main__":
    unittest.main()

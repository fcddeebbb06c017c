"""Network conditions on a real harness, over loopback, with raw sockets:
each type's effect as a client sees it (timing, bytes, FIN or RST), its
triggers, its events and the close event's totals, the seeded toxicity,
and memory held flat while a client pushes into a black hole.
"""

import os
import socket
import ssl
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfharness as rf  # noqa: E402

REQUEST = rf.x224_request(None, protocols=0x1)


def harness(*conditions, scenario="healthy-tls", extra=(), env=None):
    args = ["--default", scenario]
    for c in conditions:
        args += ["--network", c]
    return rf.Harness(extra_args=args + list(extra), port_base=False, timeout_ms=20000, env=env)


# The memory figures are the harness's, not an instrumented build's
# quarantine of freed blocks (ignored by a normal build).
NO_QUARANTINE = {"ASAN_OPTIONS": ":".join(
    x for x in (os.environ.get("ASAN_OPTIONS", ""), "quarantine_size_mb=0") if x)}


def connect(h, timeout=10):
    return socket.create_connection(("127.0.0.1", h.port), timeout=timeout)


def confirm_after(h, timeout=10):
    """Seconds from the request to the whole Connection Confirm."""
    s = connect(h, timeout)
    t0 = time.monotonic()
    s.sendall(REQUEST)
    cc = rf.read_confirm(s, timeout)
    dt = time.monotonic() - t0
    return s, cc, dt


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def tls_over(s, timeout):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s.settimeout(timeout)
    return ctx.wrap_socket(s)


def closed_event(h, conn):
    return h.wait_for(lambda ev: next((e for e in ev if e["event"] == "close"
                                       and e["conn"] == conn), None), what="close")


class Conditions(unittest.TestCase):
    def test_latency_each_direction(self):
        for stream in ("downstream", "upstream"):
            with harness(f"latency:{stream}:latency=200") as h:
                s, cc, dt = confirm_after(h)
                self.assertEqual(len(cc), 19)
                self.assertGreaterEqual(dt, 0.2, stream)
                self.assertLess(dt, 0.6, stream)
                s.close()
                conn = h.nth_connection(1)
                ev = h.first(conn, "network")
                self.assertEqual((ev["type"], ev["stream"], ev["applied"], ev["origin"]),
                                 ("latency", stream, True, "--network"))
                self.assertEqual(ev["attributes"], {"latency": 200, "jitter": 0})
                totals = closed_event(h, conn)["network"][stream]
                self.assertGreaterEqual(totals["delayed_bytes"], 19 if stream == "downstream"
                                        else len(REQUEST))
                for e in h.events():
                    self.assertEqual(rf.schema_errors(e, "events"), [], e)

    def test_bandwidth(self):
        with harness("bandwidth:rate=0.1") as h:  # 100 bytes/s: 19 bytes in 190 ms
            s, cc, dt = confirm_after(h)
            self.assertEqual(len(cc), 19)
            self.assertGreaterEqual(dt, 0.18)
            s.close()

    def test_slicer(self):
        with harness("slicer:average_size=1,delay=20000") as h:
            s = connect(h)
            t0 = time.monotonic()
            s.sendall(REQUEST)
            reads, got = 0, b""
            while len(got) < 19:
                chunk = s.recv(1024)
                self.assertTrue(chunk)
                got += chunk
                reads += 1
            dt = time.monotonic() - t0
            self.assertGreaterEqual(reads, 10)  # 19 one-byte slices, 20 ms apart
            self.assertGreaterEqual(dt, 0.3)
            s.close()

    def test_limit_data_closes(self):
        with harness("limit_data:bytes=10") as h:
            s = connect(h)
            s.sendall(REQUEST)
            got = b""
            while True:
                chunk = s.recv(1024)
                if not chunk:
                    break
                got += chunk
            self.assertEqual(len(got), 10)  # then the FIN
            conn = h.nth_connection(1)
            end = h.wait_for(lambda ev: h.first(conn, "network-end"), what="network-end")
            self.assertEqual((end["type"], end["action"]), ("limit_data", "close"))
            close = closed_event(h, conn)
            self.assertEqual(close["reason"], "network-close")
            self.assertEqual(close["bytes_to_client"], 10)
            s.close()

    def test_reset_peer(self):
        with harness("reset_peer:timeout=300") as h:
            s, cc, dt = confirm_after(h)
            self.assertEqual(len(cc), 19)
            t0 = time.monotonic()
            with self.assertRaises(ConnectionResetError):
                s.recv(1024)
            self.assertGreaterEqual(time.monotonic() - t0 + dt, 0.25)
            self.assertEqual(closed_event(h, h.nth_connection(1))["reason"], "network-reset")
            s.close()

    def test_timeout_drops_then_closes(self):
        with harness("timeout:timeout=400") as h:
            s = connect(h)
            t0 = time.monotonic()
            s.sendall(REQUEST)
            self.assertEqual(s.recv(1024), b"")  # no byte, then the FIN
            self.assertGreaterEqual(time.monotonic() - t0, 0.38)
            s.close()

    def test_slow_close_holds_the_fin(self):
        # close-at-x224-confirm: the Confirm, then (the client quiet for
        # 200 ms) the FIN, here held 600 ms more.
        with harness("slow_close:delay=600", scenario="close-at-x224-confirm") as h:
            s, cc, dt = confirm_after(h)
            self.assertEqual(len(cc), 19)
            self.assertLess(dt, 0.3)
            t0 = time.monotonic()
            self.assertEqual(s.recv(1024), b"")
            self.assertGreaterEqual(time.monotonic() - t0 + dt, 0.78)
            s.close()

    def test_blackhole_drop_keeps_memory_flat(self):
        with harness("blackhole:both", env=NO_QUARANTINE) as h:
            s = connect(h)
            s.sendall(REQUEST)
            s.settimeout(1.5)
            with self.assertRaises(socket.timeout):
                s.recv(1024)
            before = rss_kb(h.proc.pid)
            s.settimeout(60)
            block = b"\0" * (1 << 20)
            for _ in range(1024):  # 1 GiB, read and discarded by the harness
                s.sendall(block)
            grown = rss_kb(h.proc.pid) - before
            self.assertLess(grown, 8 * 1024, f"RSS grew {grown} KB")
            s.close()
            totals = closed_event(h, h.nth_connection(1))["network"]
            self.assertGreaterEqual(totals["upstream"]["dropped_bytes"], 1 << 30)

    def test_blackhole_window_closes(self):
        with harness("blackhole:upstream:window=1", env=NO_QUARANTINE) as h:
            s = connect(h)
            s.sendall(REQUEST)
            before = rss_kb(h.proc.pid)
            s.settimeout(2)
            sent = 0
            block = b"\0" * 65536
            try:
                for _ in range(1024):  # at most 64 MiB: stops when the window closes
                    sent += s.send(block)
            except socket.timeout:
                pass
            self.assertLess(sent, 16 << 20, "the window never closed")
            self.assertLess(rss_kb(h.proc.pid) - before, 4 * 1024)
            s.close()

    def test_mtu_blackhole_hangs_at_the_certificate(self):
        with harness("mtu_blackhole:mtu=600") as h:
            s, cc, _ = confirm_after(h)
            with self.assertRaises((socket.timeout, ssl.SSLError, OSError)):
                tls_over(s, 2).do_handshake()
            s.close()
            totals = closed_event(h, h.nth_connection(1))["network"]["downstream"]
            self.assertGreater(totals["dropped_bytes"], 600)
        with harness("mtu_blackhole:mtu=16384") as h:  # every record fits: it completes
            s, cc, _ = confirm_after(h)
            tls_over(s, 5).do_handshake()
            s.close()

    def test_trigger_from_phase(self):
        with harness("blackhole:upstream:from_phase=tls-client-hello") as h:
            s, cc, _ = confirm_after(h)
            self.assertEqual(len(cc), 19)  # X.224 passes
            with self.assertRaises((socket.timeout, ssl.SSLError, OSError)):
                tls_over(s, 1.5).do_handshake()
            s.close()
            conn = h.nth_connection(1)
            trig = h.first(conn, "network-trigger")
            self.assertEqual(trig["phase"], "tls-client-hello")
            self.assertEqual(trig["trigger"], {"from_phase": "tls-client-hello"})
            self.assertEqual(trig["at_offset"], len(REQUEST))

    def test_loss_retransmits(self):
        # Every segment lost 8 times: 1+2+...+128 ms = 255 ms late, every time.
        with harness("loss:rate=1,retransmit_ms=1") as h:
            s, cc, dt = confirm_after(h)
            self.assertEqual(len(cc), 19)
            self.assertGreaterEqual(dt, 0.25)
            s.close()

    def test_toxicity_is_seeded(self):
        def applied(seed):
            with harness("latency:latency=1,toxicity=0.5", extra=("--seed", str(seed))) as h:
                for _ in range(16):
                    s, _, _ = confirm_after(h)
                    s.close()
                ev = h.wait_for(lambda ev: [e for e in ev if e["event"] == "network"]
                                if len([e for e in ev if e["event"] == "network"]) == 16
                                else None, what="16 network events")
                return [e["applied"] for e in sorted(ev, key=lambda e: e["conn"])]
        a, b, c = applied(7), applied(7), applied(8)
        self.assertEqual(a, b)
        self.assertTrue(0 < sum(a) < 16, a)
        self.assertNotEqual(a, c)


if __name__ == "__main__":
    unittest.main()

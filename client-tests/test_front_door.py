"""Front-door test: raw TCP clients against `rdpfault serve`. Malformed,
truncated, oversize and foreign first messages each close their own
connection with a logged reason while the harness keeps serving; a request
split into many segments is still read whole; the cookie picks the scenario
and the Connection Confirm on the wire says what that scenario's server
accepts; SIGTERM stops the harness in under a second with the event log
complete.
"""

import os
import random
import socket
import ssl
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfharness as rf  # noqa: E402


def confirm_fields(data):
    """(type, value) of the RDP_NEG_RSP/FAILURE in a Connection Confirm."""
    if len(data) < 19 or data[5] & 0xF0 != 0xD0:
        return None
    return data[11], struct.unpack("<I", data[15:19])[0]


class FrontDoor(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.h = rf.Harness(timeout_ms=1500).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.h.__exit__(None, None, None)

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.h.port), timeout=5)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def close_of(self, conn, timeout=10):
        return self.h.wait_for(lambda ev: next((e for e in ev if e["conn"] == conn
                                                and e["event"] == "close"), None),
                               timeout=timeout, what=f"close of connection {conn}")

    def test_200_bad_requests_in_a_row(self):
        rng = random.Random(20261121)
        good = rf.x224_request("healthy-tls")
        sent = []  # (kind, expected close-reason prefix)
        before = len(self.h.connections())
        for i in range(200):
            kind = ["garbage", "truncated", "oversize", "tls-hello", "http", "bad-li"][i % 6]
            s = self.connect()
            if kind == "garbage":
                data = bytes([rng.choice([b for b in range(256) if b != 3])]) + \
                    bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))
                expect = "bad-request: tpkt-version"
            elif kind == "truncated":
                data = good[:rng.randrange(1, len(good))]
                expect = "client-closed-before-request"
            elif kind == "oversize":
                data = b"\x03\x00\xff\xff" + bytes(rng.randrange(256) for _ in range(64))
                expect = "bad-request: oversize"
            elif kind == "tls-hello":
                data = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(32)
                expect = "bad-request: tpkt-version"
            elif kind == "http":
                data = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
                expect = "bad-request: tpkt-version"
            else:
                data = bytearray(good)
                data[4] = 0x55  # X.224 length indicator disagrees with TPKT
                data = bytes(data)
                expect = "bad-request: x224-li"
            s.sendall(data)
            if kind == "truncated":
                s.shutdown(socket.SHUT_WR)
            # The harness answers a bad request by closing: read to EOF.
            s.settimeout(5)
            try:
                while s.recv(4096):
                    pass
            except ConnectionResetError:
                pass
            s.close()
            sent.append((kind, expect))
        conns = self.h.wait_for(lambda ev: (lambda c: c if len(c) >= before + 200 else None)(
            [e["conn"] for e in ev if e["event"] == "accept"]), what="200 accepts")[before:]
        self.assertEqual(len(conns), 200)
        for conn, (kind, expect) in zip(conns, sent):
            close = self.close_of(conn)
            self.assertTrue(close["reason"].startswith(expect),
                            f"{kind}: close reason {close['reason']!r}, expected {expect!r}")
            if expect.startswith("bad-request"):
                bad = self.h.first(conn, "bad-request")
                self.assertIsNotNone(bad, f"{kind}: no bad-request event")
                self.assertEqual("bad-request: " + bad["error"], expect)
                self.assertTrue(bad["why"])
        # Still serving: a good request gets its Connection Confirm.
        s = self.connect()
        s.sendall(good)
        self.assertEqual(confirm_fields(rf.read_confirm(s)), (0x02, 0x1))  # RDP_NEG_RSP, SSL
        s.close()
        self.assertIsNone(self.h.proc.poll())

    def test_request_split_into_single_bytes(self):
        s = self.connect()
        for b in rf.x224_request("healthy-tls"):
            s.send(bytes([b]))
            time.sleep(0.003)
        self.assertEqual(confirm_fields(rf.read_confirm(s)), (0x02, 0x1))
        s.close()

    def test_cookie_selects_scenario_and_the_wire_shows_it(self):
        s = self.connect()
        me = s.getsockname()
        # healthy-rdp accepts RDP Standard Security only: a client that offers
        # SSL|HYBRID gets RDP_NEG_FAILURE SSL_NOT_ALLOWED_BY_SERVER (2).
        s.sendall(rf.x224_request("HEALTHY-RDP", protocols=0x3))
        self.assertEqual(confirm_fields(rf.read_confirm(s)), (0x03, 2))
        s.close()
        conn = self.h.conn_of(me)
        sel = self.h.first(conn, "scenario")
        self.assertEqual((sel["scenario"], sel["selected_by"]), ("healthy-rdp", "cookie"))
        confirm = self.h.wait_for(lambda ev: next((e for e in ev if e["conn"] == conn
                                                   and e.get("phase") == "x224-confirm"), None))
        self.assertEqual(confirm["failure"], "SSL_NOT_ALLOWED_BY_SERVER")

    def test_silent_client_times_out(self):
        s = self.connect()
        me = s.getsockname()
        t0 = time.monotonic()
        s.settimeout(10)
        self.assertEqual(s.recv(1), b"")  # the harness closes
        took = time.monotonic() - t0
        s.close()
        self.assertGreater(took, 1.2)
        self.assertLess(took, 4.0)
        conn = self.h.conn_of(me)
        self.assertEqual(self.close_of(conn)["reason"], "request-timeout")

    def test_stalled_after_confirm_hits_the_deadline(self):
        s = self.connect()
        me = s.getsockname()
        s.sendall(rf.x224_request("healthy-tls"))
        rf.read_confirm(s)
        s.settimeout(10)
        try:
            self.assertEqual(s.recv(1), b"")
        except ConnectionResetError:
            pass
        s.close()
        conn = self.h.conn_of(me)
        close = self.close_of(conn)
        self.assertEqual(close["reason"], "deadline")
        self.assertEqual(close["last_phase"], "x224-confirm")


    def goodbye_then_late_fin(self, goodbye):
        """TLS up with healthy-tls, then the client's goodbye (`goodbye(tls)`
        returns the socket to read on), then its FIN a whole second after the
        server's: FreeRDP ends on the goodbye, long before the client's FIN.
        Returns the close event."""
        s = self.connect()
        me = s.getsockname()
        s.sendall(rf.x224_request("healthy-tls", protocols=0x1))
        self.assertEqual(confirm_fields(rf.read_confirm(s))[0], 0x02)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        tls = ctx.wrap_socket(s, server_hostname="localhost")
        sock = goodbye(tls)
        sock.settimeout(5)
        try:  # the server's side ends: its FIN
            while sock.recv(4096):
                pass
        except (ssl.SSLError, OSError):
            pass
        time.sleep(1.0)
        sock.close()
        conn = self.h.conn_of(me)
        return self.close_of(conn)

    def test_client_close_notify_then_late_fin_is_client_closed(self):
        def close_notify(tls):
            try:
                return tls.unwrap()  # sends close_notify, reads the server's
            except (ssl.SSLError, OSError):
                return tls
        close = self.goodbye_then_late_fin(close_notify)
        self.assertEqual(close["reason"], "client-closed", close)

    def test_client_ultimatum_then_late_fin_is_client_closed(self):
        # MCS Disconnect Provider Ultimatum (rn-user-requested), as FreeRDP's
        # client library sends it on disconnect: TPKT, X.224 Data, 2 bytes.
        def ultimatum(tls):
            tls.sendall(bytes.fromhex("0300000902f0802180"))
            return tls
        close = self.goodbye_then_late_fin(ultimatum)
        self.assertEqual(close["reason"], "client-closed", close)


class Stop(unittest.TestCase):
    def test_sigterm_stops_within_a_second_with_the_log_flushed(self):
        with rf.Harness() as h:
            held = []
            for i in range(20):  # in the middle of the handshake
                s = socket.create_connection(("127.0.0.1", h.port), timeout=5)
                s.sendall(rf.x224_request("healthy-tls"))
                rf.read_confirm(s)
                held.append(s)
            for i in range(20):  # no request yet
                held.append(socket.create_connection(("127.0.0.1", h.port), timeout=5))
            h.wait_for(lambda ev: len([e for e in ev if e["event"] == "accept"]) >= 40)
            time.sleep(0.2)
            rf.check_clean_stop(self, h, closes=40)
            for s in held:
                s.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""A cut lands at one defined moment, never in a race with the client's own
send: raw clients that write their flight slowly, in pieces, still get the
RST (or FIN) only once they wait in a read, and the fault event says what
was read and sent when it struck.

Each client here sends its bytes in two pieces with a pause shorter than
the quiet window between them; a cut that struck mid-flight would make the
second send fail (EPIPE or ECONNRESET) instead of the read after it.
"""

import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfharness as rf  # noqa: E402

PAUSE_S = 0.12  # shorter than the harness's quiet window (200 ms)


def send_in_two(sock, data, pause=PAUSE_S):
    half = len(data) // 2
    sock.sendall(data[:half])
    time.sleep(pause)
    sock.sendall(data[half:])


def wait_for_end(sock, timeout=10):
    """What the client sees when it reads: 'reset', 'eof' or 'data'."""
    sock.settimeout(timeout)
    got = b""
    try:
        while True:
            b = sock.recv(4096)
            if not b:
                return "eof", got
            got += b
    except ConnectionResetError:
        return "reset", got


class CutMoments(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.h = rf.Harness()
        cls.h.start()

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()
        cls.h.cleanup()

    def fault_of(self, conn, action):
        self.h.wait_for(lambda ev: any(e["conn"] == conn and e["event"] == "close"
                                       for e in ev), what=f"connection {conn} closed")
        ev = self.h.events()
        faults = [e for e in ev if e["conn"] == conn and e["event"] == "fault"
                  and e.get("action") == action]
        self.assertEqual(len(faults), 1, [e for e in ev if e["conn"] == conn])
        return faults[0]

    def new_conn(self, before):
        self.h.wait_for(lambda ev: any(e["event"] == "accept" and e["conn"] > before
                                       for e in ev), what="accept")
        return max(e["conn"] for e in self.h.events() if e["event"] == "accept")

    def last_conn(self):
        return max([e["conn"] for e in self.h.events() if e["event"] == "accept"], default=0)

    def test_reset_at_tcp_accept_waits_for_the_whole_request(self):
        """The request written in two pieces: both sends succeed, the read
        after them gets the RST."""
        before = self.last_conn()
        s = socket.create_connection(("127.0.0.1", self.h.scenario_port(100)), timeout=5)
        send_in_two(s, rf.x224_request("someone"))
        end, _ = wait_for_end(s)
        s.close()
        self.assertEqual(end, "reset")
        f = self.fault_of(self.new_conn(before), "reset")
        self.assertEqual(f["at"], "tcp-accept")
        self.assertEqual(f["moment"], "client-waits")
        self.assertEqual(f["waiting_bytes"], len(rf.x224_request("someone")))
        self.assertEqual(f["sent_bytes"], 0)
        self.assertGreaterEqual(f["waited_ms"], int(PAUSE_S * 1000) - 5)

    def test_reset_at_tcp_accept_of_a_silent_client(self):
        """A client that sends nothing waits for the server: the RST comes
        once it has been quiet for the window."""
        before = self.last_conn()
        s = socket.create_connection(("127.0.0.1", self.h.scenario_port(100)), timeout=5)
        t0 = time.monotonic()
        end, _ = wait_for_end(s)
        s.close()
        self.assertEqual(end, "reset")
        self.assertGreaterEqual(time.monotonic() - t0, 0.15)
        f = self.fault_of(self.new_conn(before), "reset")
        self.assertEqual(f["moment"], "quiescent")
        self.assertEqual(f["waiting_bytes"], 0)

    def test_reset_at_x224_confirm_waits_for_the_clients_answer(self):
        """After the Confirm the client answers (here: bytes in two pieces
        with a pause); the RST comes after the whole answer, none of which
        reached FreeRDP."""
        before = self.last_conn()
        s = socket.create_connection(("127.0.0.1", self.h.scenario_port(102)), timeout=5)
        req = rf.x224_request("someone", protocols=0x1)
        s.sendall(req)
        cc = rf.read_confirm(s)
        answer = b"\x16\x03\x01\x00\x30" + bytes(48)  # the size of a small TLS record
        send_in_two(s, answer)
        end, _ = wait_for_end(s)
        s.close()
        self.assertEqual(end, "reset")
        f = self.fault_of(self.new_conn(before), "reset")
        self.assertEqual(f["at"], "x224-confirm")
        self.assertEqual(f["moment"], "quiescent")
        self.assertEqual(f["read_bytes"], len(req) + len(answer))
        self.assertEqual(f["sent_bytes"], len(cc))
        self.assertEqual(f["held_from_server"], len(answer))

    def test_close_at_x224_confirm_is_a_fin_after_the_answer(self):
        before = self.last_conn()
        s = socket.create_connection(("127.0.0.1", self.h.scenario_port(122)), timeout=5)
        s.sendall(rf.x224_request("someone", protocols=0x1))
        rf.read_confirm(s)
        send_in_two(s, b"\x16\x03\x01\x00\x10" + bytes(16))
        end, _ = wait_for_end(s)
        s.close()
        self.assertEqual(end, "eof")
        f = self.fault_of(self.new_conn(before), "close")
        self.assertEqual(f["at"], "x224-confirm")
        self.assertNotIn("close_notify", f)  # no TLS yet: nothing to notify

    def test_reset_at_x224_request_is_immediate(self):
        before = self.last_conn()
        s = socket.create_connection(("127.0.0.1", self.h.scenario_port(101)), timeout=5)
        s.sendall(rf.x224_request("someone"))
        end, _ = wait_for_end(s)
        s.close()
        self.assertEqual(end, "reset")
        f = self.fault_of(self.new_conn(before), "reset")
        self.assertEqual(f["moment"], "client-waits")
        self.assertLess(f["waited_ms"], 150)

    def test_refusal_by_accept_reset_waits_for_the_request(self):
        """backlog-full-reset's refusal strikes like a cut at tcp-accept."""
        before = self.last_conn()
        s = socket.create_connection(("127.0.0.1", self.h.scenario_port(52)), timeout=5)
        send_in_two(s, rf.x224_request("someone"))
        end, _ = wait_for_end(s)
        s.close()
        self.assertEqual(end, "reset")
        conn = self.new_conn(before)
        self.h.wait_for(lambda ev: any(e["conn"] == conn and e["event"] == "close"
                                       for e in ev), what="close")
        close = [e for e in self.h.events() if e["conn"] == conn and e["event"] == "close"][0]
        self.assertEqual(close["reason"], "refused: accept-reset")


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""Multitransport bootstrapping end to end (the udp-* scenarios).

With the project's own client (rdpfault-mtclient: FreeRDP's client library
plus the UDP attempt and the Initiate Multitransport Response it lacks):
every fallback — proceed, stall, reset, deny — is driven through a real
request, real RDP-UDP SYN datagrams carrying the cookie's SHA-256 and an
E_ABORT response; the client decodes the request inside TLS and the event
log shows the offer, the request, each datagram (matched to its
connection by the cookie hash), the withheld response and the fallback.
A packet capture shows the SYN datagrams arriving at the drop socket, and
the ICMP port unreachable where no socket is. No response at all (the
server's wait runs out), a UDP side that answers garbage and a client that
advertises no UDP are covered too; xfreerdp 2.11 (/multitransport) is held
to what the scenario files say.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfharness as rf  # noqa: E402

OFFSETS = {"udp-fallback-ok": 60, "udp-unreachable-fallback-ok": 61, "udp-fallback-stall": 62,
           "udp-fallback-reset": 63, "udp-fallback-denied": 64}


def mtclient_binary():
    path = os.path.join(os.path.dirname(rf.rdpfault_binary()), "rdpfault-mtclient")
    if not os.access(path, os.X_OK):
        raise unittest.SkipTest(f"{path} is not built")
    return path


def mtclient(port, *args, timeout=40):
    """Runs the project's client; returns (exit code, its JSON lines, stderr)."""
    p = subprocess.run([mtclient_binary(), *args, "127.0.0.1", str(port)], capture_output=True,
                       text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    lines = [json.loads(ln) for ln in p.stdout.splitlines() if ln.startswith("{")]
    return p.returncode, lines, p.stderr


def one(lines, event):
    got = [ln for ln in lines if ln["event"] == event]
    return got[0] if got else None


def mt_events(h, conn, what=None):
    return [e for e in h.events(conn) if e["event"] == "multitransport"
            and (what is None or e["what"] == what)]


def conn_of(h, scenario):
    return [e["conn"] for e in h.events() if e["event"] == "accept"
            and e["listener_scenario"] == scenario]


class ProjectClient(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.h = rf.Harness(timeout_ms=20000)
        cls.h.start()
        # Each scenario once, in parallel: the runs take seconds each.
        cls.runs = {}

        def run(name):
            cls.runs[name] = mtclient(cls.h.scenario_port(OFFSETS[name]))

        threads = [threading.Thread(target=run, args=(n,)) for n in OFFSETS]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        cls.h.wait_for(lambda ev: len([e for e in ev if e["event"] == "close"]) ==
                       len([e for e in ev if e["event"] == "accept"]) >= len(OFFSETS),
                       timeout=30, what="every connection's close")

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()
        cls.h.cleanup()

    def common(self, name):
        """What every udp-* connection shares; returns (conn, client lines)."""
        rc, lines, err = self.runs[name]
        conns = conn_of(self.h, name)
        # FreeRDP's client library may try once more after a transport
        # failure (the reset): the first connection is the one to read.
        self.assertIn(len(conns), (1, 2) if name == "udp-fallback-reset" else (1,),
                      f"{name}: connections {conns}; client said {err[-500:]}")
        c = conns[0]
        offer = mt_events(self.h, c, "client-data")[0]
        self.assertTrue(offer["udp_offered"], offer)
        self.assertEqual(offer["transports"], ["reliable", "lossy", "udp-preferred"])
        server_data = mt_events(self.h, c, "server-data")[0]
        self.assertEqual(server_data["bytes_after"], server_data["bytes_before"] + 8)
        # The client read the block and the request inside TLS.
        seen = one(lines, "server-data")
        self.assertTrue(seen["multitransport"], lines)
        self.assertEqual(seen["message_channel"], server_data["message_channel"])
        self.assertEqual(seen["flags"], server_data["flags"])
        req_srv = mt_events(self.h, c, "request")[0]
        req_cli = one(lines, "request")
        self.assertEqual(req_cli["request_id"], req_srv["request_id"])
        self.assertEqual(req_cli["security_cookie"], req_srv["security_cookie"])
        self.assertEqual(req_cli["protocol"], "reliable")
        self.assertEqual(req_cli["channel"], server_data["message_channel"])
        # The response reached the server, which kept it from FreeRDP.
        resp = mt_events(self.h, c, "response")[0]
        self.assertEqual(resp["request_id"], req_srv["request_id"])
        self.assertEqual(resp["hr_response"], "0x80004004")
        self.assertEqual(resp["hr_name"], "E_ABORT")
        self.assertTrue(resp["withheld_from_freerdp"])
        over = mt_events(self.h, c, "attempt-over")[0]
        self.assertEqual(over["ended"], "answered", over)
        self.assertLess(over["waited_ms"], 4000, over)  # not the 5 s timeout
        return c, lines, rc, req_srv

    def udp_events(self, conn):
        return [e for e in self.h.events(conn) if e["event"] == "udp"]

    def test_fallback_ok(self):
        c, lines, rc, req = self.common("udp-fallback-ok")
        self.assertEqual(rc, 0, lines)
        self.assertTrue(one(lines, "result")["connected"])
        self.assertEqual(mt_events(self.h, c, "fallback")[0]["action"], "proceed")
        self.assertIn("active", self.h.phases(c))
        # Every SYN reached the drop socket, decoded and tied to the
        # connection by its cookie hash; none was answered.
        udp = self.udp_events(c)
        self.assertEqual(len(udp), 3, udp)
        for d in udp:
            self.assertEqual(d["bytes"], 1232)
            self.assertTrue(d["cookie_matched"])
            self.assertEqual(d["request_id"], req["request_id"])
            self.assertEqual(d["syn"]["cookie_sha256"], req["cookie_sha256"])
            self.assertEqual(d["syn"]["uUdpVer"], 0x101)
            self.assertEqual(d["syn"]["snSourceAck"], 0xFFFFFFFF)
            self.assertFalse(d["answered"])
            self.assertTrue(d["first_bytes"].startswith("ffffffff"))
        u = one(lines, "udp")
        self.assertEqual((u["sent"], u["answers"], u["icmp_unreachable"]), (3, 0, False))

    def test_unreachable_fallback_ok(self):
        c, lines, rc, _ = self.common("udp-unreachable-fallback-ok")
        self.assertEqual(rc, 0, lines)
        self.assertTrue(one(lines, "udp")["icmp_unreachable"], lines)
        self.assertEqual(self.udp_events(c), [])
        self.assertIn("active", self.h.phases(c))

    def test_fallback_stall(self):
        c, lines, rc, _ = self.common("udp-fallback-stall")
        self.assertEqual(rc, 1, lines)
        self.assertFalse(one(lines, "result")["connected"])
        self.assertEqual(mt_events(self.h, c, "fallback")[0]["action"], "stall")
        # No Demand Active ever (so no capabilities phase): the client gave
        # up waiting for activation, and closed first.
        self.assertNotIn("capabilities", self.h.phases(c))
        close = self.h.first(c, "close")
        self.assertEqual(close["last_phase"], "licensing")
        self.assertEqual(close["reason"], "client-closed", close)
        self.assertGreater(close["duration_ms"], 8000)

    def test_fallback_reset(self):
        c, lines, rc, _ = self.common("udp-fallback-reset")
        self.assertEqual(rc, 1)
        self.assertEqual(one(lines, "result")["last_error"], "ERRCONNECT_CONNECT_TRANSPORT_FAILED")
        self.assertEqual(mt_events(self.h, c, "fallback")[0]["action"], "reset")
        fault = self.h.first(c, "fault")
        self.assertEqual((fault["action"], fault["at"]), ("reset", "capabilities"))
        self.assertEqual(self.h.first(c, "close")["reason"], "server-reset")

    def test_fallback_denied(self):
        c, lines, rc, _ = self.common("udp-fallback-denied")
        self.assertEqual(rc, 1)
        self.assertEqual(one(lines, "result")["last_error"], "ERRINFO_SERVER_DENIED_CONNECTION")
        fault = self.h.first(c, "fault")
        self.assertEqual((fault["action"], fault["code"], fault["at"]),
                         ("deny", "0x7", "capabilities"))
        self.assertNotIn("confirm-active", self.h.phases(c))


class Variations(unittest.TestCase):
    def test_no_response_garbage_answers_and_no_udp_offer(self):
        sets = ["udp-fallback-ok.multitransport.response_timeout_ms=1500",
                "udp-fallback-ok.multitransport.udp=answer-garbage"]
        args = [x for s in sets for x in ("--set", s)]
        with rf.Harness(extra_args=args) as h:
            port = h.scenario_port(OFFSETS["udp-fallback-ok"])
            # No response: the server's wait runs out, then it proceeds.
            rc, lines, err = mtclient(port, "--hr", "none", "--syns", "2")
            self.assertEqual(rc, 0, err)
            self.assertIsNone(one(lines, "response"))
            u = one(lines, "udp")
            self.assertEqual((u["sent"], u["answers"], u["answer_bytes"]), (2, 2, 128), u)
            c = h.nth_connection(1)
            h.settled(c)  # every line of it on disk
            over = mt_events(h, c, "attempt-over")[0]
            self.assertEqual(over["ended"], "timeout")
            self.assertEqual(over["unanswered"], [mt_events(h, c, "request")[0]["request_id"]])
            self.assertGreaterEqual(over["waited_ms"], 1500)
            self.assertTrue(all(d["answered"] for d in h.events(c) if d["event"] == "udp"))
            # A client that can do lossy only: the scenario offers reliable.
            rc, lines, err = mtclient(port, "--transports", "lossy")
            self.assertEqual(rc, 0, err)
            self.assertIsNone(one(lines, "request"))
            c = h.nth_connection(2)
            h.settled(c)  # every line of it on disk
            self.assertEqual(mt_events(h, c, "not-offered")[0]["why"],
                             "the client offers none of the scenario's protocols")
            # A client that advertises no UDP gets no offer and no request.
            rc, lines, err = mtclient(port, "--transports", "none")
            self.assertEqual(rc, 0, err)
            self.assertFalse(one(lines, "server-data")["multitransport"])
            self.assertIsNone(one(lines, "request"))
            c = h.nth_connection(3)
            h.settled(c)  # every line of it on disk
            self.assertEqual([e["what"] for e in mt_events(h, c)], ["client-data", "not-offered"])
            self.assertIn("active", h.phases(c))

    def test_fallback_after_its_wait_and_the_udp_summary_at_stop(self):
        h = rf.Harness(extra_args=["--set", "udp-fallback-denied.multitransport.fallback_after_ms=1200"])
        h.start()
        try:
            rc, lines, err = mtclient(h.scenario_port(OFFSETS["udp-fallback-denied"]), "--syns", "2")
            self.assertEqual(rc, 1, err)
            self.assertEqual(one(lines, "result")["last_error"], "ERRINFO_SERVER_DENIED_CONNECTION")
            c = h.nth_connection(1)
            h.settled(c)  # every line of it on disk
            over = mt_events(h, c, "attempt-over")[0]
            fb = mt_events(h, c, "fallback")[0]
            self.assertEqual((fb["action"], fb["after_ms"]), ("deny", 1200))
            self.assertGreaterEqual(fb["ts_ms"] - over["ts_ms"], 1200)
            self.assertGreaterEqual(h.first(c, "fault")["ts_ms"], fb["ts_ms"])
            rc, _ = h.stop()
            self.assertEqual(rc, 0)
            sides = {e["scenario"]: e for e in h.events() if e["event"] == "udp-side"}
            # unreachable has no socket; the four others report their totals.
            self.assertEqual(set(sides), set(OFFSETS) - {"udp-unreachable-fallback-ok"})
            d = sides["udp-fallback-denied"]
            self.assertEqual((d["datagrams"], d["syns"], d["cookie_matched"], d["bytes"]),
                             (2, 2, 2, 2464))
        finally:
            h.stop()
            h.cleanup()

    def test_two_requests_reliable_and_lossy(self):
        with tempfile.TemporaryDirectory() as tmp:
            cat = os.path.join(tmp, "scenarios")
            shutil.copytree(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                         "scenarios"), cat)
            path = os.path.join(cat, "udp-fallback-ok.yaml")
            with open(path) as f:
                text = f.read()
            with open(path, "w") as f:
                f.write(text.replace("protocols: [reliable]\n  udp: drop",
                                     "protocols: [reliable, lossy]\n  udp: drop"))
            with rf.Harness(extra_args=["--scenario-dir", cat]) as h:
                rc, lines, err = mtclient(h.scenario_port(OFFSETS["udp-fallback-ok"]),
                                          "--syns", "1")
                self.assertEqual(rc, 0, err)
                self.assertEqual([r["protocol"] for r in lines if r["event"] == "request"],
                                 ["reliable", "lossy"])
                c = h.nth_connection(1)
                h.settled(c)  # every line of it on disk
                over = mt_events(h, c, "attempt-over")[0]
                self.assertEqual((over["requests"], over["responses"], over["ended"]),
                                 (2, 2, "answered"))
                self.assertEqual(sorted(e["syn"]["lossy"] for e in h.events(c)
                                        if e["event"] == "udp"), [False, True])

    def test_bad_usage_exits_2(self):
        for args, says in ((["--hr", "later"], "--hr 'later'"),
                           (["--syns", "-1"], "--syns '-1'"),
                           (["--transports", "tcp"], "unknown 'tcp'")):
            p = subprocess.run([mtclient_binary(), *args, "127.0.0.1", "1"], capture_output=True,
                               text=True, stdin=subprocess.DEVNULL)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn(says, p.stderr)


@unittest.skipUnless(shutil.which("tshark"), "tshark is not installed")
class Capture(unittest.TestCase):
    def test_syn_datagrams_and_port_unreachable_on_the_wire(self):
        with rf.Harness() as h, tempfile.TemporaryDirectory() as tmp:
            drop = h.scenario_port(OFFSETS["udp-fallback-ok"])
            none = h.scenario_port(OFFSETS["udp-unreachable-fallback-ok"])
            pcap = os.path.join(tmp, "udp.pcap")
            cap = subprocess.Popen(["tshark", "-i", "lo", "-f", "udp or icmp", "-w", pcap, "-q"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            try:
                rf.wait_capturing(cap)
                self.assertEqual(mtclient(drop)[0], 0)
                self.assertEqual(mtclient(none)[0], 0)
                time.sleep(1.0)
            finally:
                cap.send_signal(signal.SIGINT)
                cap.wait(15)
            out = subprocess.run(
                ["tshark", "-r", pcap, "-T", "fields", "-e", "udp.dstport", "-e", "udp.length",
                 "-e", "icmp.type", "-e", "icmp.code"],
                capture_output=True, text=True, check=True).stdout
            rows = [ln.split("\t") for ln in out.splitlines() if ln.strip()]
            to_drop = [r for r in rows if r[0] == str(drop) and not r[2]]
            self.assertEqual(len(to_drop), 3, out)
            self.assertTrue(all(r[1] == str(1232 + 8) for r in to_drop), out)
            unreachable = [r for r in rows if r[2] == "3" and r[3] == "3"]
            self.assertGreaterEqual(len(unreachable), 1, out)
            # Answers from the drop socket: none.
            self.assertFalse([r for r in rows if r[0] != str(drop) and r[0] != str(none)
                              and not r[2] and r[0]], out)


class Xfreerdp(unittest.TestCase):
    """xfreerdp 2.11 with /multitransport: it advertises UDP, ignores the
    request (no UDP, no response), so the server's wait runs out first."""

    def test_xfreerdp_against_each_fallback(self):
        if not shutil.which("xfreerdp"):
            self.skipTest("xfreerdp is not installed")
        with rf.Harness(timeout_ms=30000) as h, rf.Display() as d:
            clients = {n: rf.xfreerdp(h.scenario_port(OFFSETS[n]), "x", extra=["/multitransport"],
                                      display=d.name)
                       for n in ("udp-fallback-ok", "udp-fallback-stall", "udp-fallback-reset",
                                 "udp-fallback-denied")}
            try:
                exits = {n: c.wait(40) for n, c in clients.items() if n != "udp-fallback-ok"}
                ok = clients["udp-fallback-ok"]
                self.assertIsNone(ok.wait(1), ok.output()[-2000:])  # still in its session
            finally:
                for c in clients.values():
                    c.stop()
            self.assertEqual(exits["udp-fallback-stall"], 131, clients["udp-fallback-stall"].output()[-1500:])
            self.assertIn("Timeout waiting for activation", clients["udp-fallback-stall"].output())
            self.assertEqual(exits["udp-fallback-reset"], 147)
            self.assertEqual(exits["udp-fallback-denied"], 131)
            self.assertIn("ERRINFO_SERVER_DENIED_CONNECTION", clients["udp-fallback-denied"].output())
            c = conn_of(h, "udp-fallback-ok")[0]
            self.assertIn("active", h.phases(c))
            over = mt_events(h, c, "attempt-over")[0]
            self.assertEqual((over["ended"], over["responses"]), ("timeout", 0))
            self.assertEqual([e for e in h.events(c) if e["event"] == "udp"], [])


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""Schedules (retry testing, "fail the first N, then succeed"): a
listener's connections from each client address get the schedule's
scenarios in turn, from `--listen ADDR:PORT=NAME*N,...,NAME` or the control
API (per client address with "match"); and what xfreerdp's own retry does
against two resets, then healthy, and against one.
"""

import json
import os
import socket
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfharness as rf  # noqa: E402

REQUEST = rf.x224_request(None, protocols=0x1)


def attempt(port, source="127.0.0.1"):
    """'reset', 'closed' or 'confirm' for one raw connection."""
    s = socket.socket()
    s.bind((source, 0))
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    s.sendall(REQUEST)
    try:
        cc = rf.read_confirm(s)
        return "confirm" if len(cc) == 19 else "closed"
    except ConnectionResetError:
        return "reset"
    finally:
        s.close()


def post(api, path, body):
    req = urllib.request.Request(f"http://{api}{path}", method="POST",
                                 data=json.dumps(body).encode())
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


class Schedules(unittest.TestCase):
    def test_listen_schedule(self):
        port = rf.free_ports(1)[0]
        with rf.Harness(listen=f"127.0.0.1:{port}=reset-at-x224-request*2,healthy-tls",
                        port_base=False) as h:
            self.assertEqual([attempt(port) for _ in range(4)],
                             ["reset", "reset", "confirm", "confirm"])
            # Each client address has its own count.
            self.assertEqual([attempt(port, "127.0.0.2") for _ in range(3)],
                             ["reset", "reset", "confirm"])
            sel = [(e["scenario"], e["selected_by"], e["schedule_step"])
                   for e in h.matching(lambda e: e["event"] == "scenario", 7)]
            self.assertEqual(sel[:4], [("reset-at-x224-request", "schedule", 0)] * 2 +
                             [("healthy-tls", "schedule", 1)] * 2)
            start = next(e for e in h.events() if e["event"] == "start")
            self.assertEqual(start["listeners"][0]["schedule"]["steps"],
                             [{"scenario": "reset-at-x224-request", "count": 2},
                              {"scenario": "healthy-tls"}])
            for e in h.events():
                self.assertEqual(rf.schema_errors(e, "events"), [], e)

    def test_a_cookie_for_another_scenario_takes_no_step(self):
        # The accept counts the step before the request says anything; a
        # cookie that then chooses another scenario gives it back, so the
        # client's next connection without one still gets step 0.
        port = rf.free_ports(1)[0]
        with rf.Harness(listen=f"127.0.0.1:{port}=reset-at-x224-request*1,healthy-tls",
                        port_base=False) as h:
            attempt_cookie(port, "neg-inconsistent-flags")  # its RDP_NEG_FAILURE
            self.assertEqual([attempt(port) for _ in range(2)], ["reset", "confirm"])
            sel = [(e["scenario"], e["selected_by"], e.get("schedule_step"))
                   for e in h.matching(lambda e: e["event"] == "scenario", 3)]
            self.assertEqual(sel, [("neg-inconsistent-flags", "cookie", None),
                                   ("reset-at-x224-request", "schedule", 0),
                                   ("healthy-tls", "schedule", 1)])

    def test_bad_schedule_is_a_usage_error(self):
        import subprocess
        for spec, why in (("healthy-tls*0,healthy-tls", "the count is 1-1000000"),
                          ("no-such*2,healthy-tls", "'no-such': no such scenario")):
            p = subprocess.run([rf.rdpfault_binary(), "serve", "--listen",
                                f"127.0.0.1:{rf.free_ports(1)[0]}={spec}", "--api", "off"],
                               capture_output=True, text=True, timeout=30,
                               stdin=subprocess.DEVNULL)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn(why, p.stderr)

    def test_api_schedule_with_match(self):
        with rf.Harness(extra_args=["--api", "127.0.0.1:0"], port_base=False) as h:
            api = next(e for e in h.events() if e["event"] == "start")["api"]
            body = post(api, f"/listeners/127.0.0.1:{h.port}",
                        {"schedule": [{"scenario": "reset-at-x224-request", "count": 1},
                                      {"scenario": "healthy-tls"}],
                         "match": {"client": "127.0.0.3"}})
            self.assertEqual(body["schedule"]["match"], {"client": "127.0.0.3"})
            self.assertEqual(attempt(h.port), "confirm")  # not the matched client
            self.assertEqual([attempt(h.port, "127.0.0.3") for _ in range(2)],
                             ["reset", "confirm"])
            body = post(api, f"/listeners/127.0.0.1:{h.port}", {"schedule": None})
            self.assertIsNone(body["schedule"])


def attempt_cookie(port, cookie, source="127.0.0.1"):
    s = socket.socket()
    s.bind((source, 0))
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    s.sendall(rf.x224_request(cookie, protocols=0x1))
    try:
        cc = rf.read_confirm(s)
        return "confirm" if len(cc) == 19 else "closed"
    except ConnectionResetError:
        return "reset"
    finally:
        s.close()


class ScheduleScenarios(unittest.TestCase):
    """A scenario file with `schedule:` (retry-after-one-reset,
    retry-after-two-resets): served on its own port, by a cookie naming it,
    or as a listener's default, each client address counted."""

    def test_by_port_by_cookie_and_as_default(self):
        port = rf.free_ports(1)[0]
        with rf.Harness(listen=f"127.0.0.1:{port}=retry-after-two-resets") as h:
            # (reset-at-mcs-connect strikes after the X.224 exchange these
            # attempts stop at: the scenario events say which step served.)
            for _ in range(3):
                attempt(port)
            # Its own port (--port-base + 77): a count of its own per address,
            # shared with the cookie that names it on that listener.
            own = h.port_base + 77
            attempt(own, "127.0.0.5")
            attempt_cookie(own, "retry-2", "127.0.0.5")
            attempt(own, "127.0.0.5")
            # By cookie on another listener: the scenario's counts go on.
            attempt_cookie(h.port_base, "retry-after-one-reset", "127.0.0.6")
            attempt_cookie(h.port_base, "retry-after-one-reset", "127.0.0.6")
            sel = [(e["scenario"], e.get("schedule"), e.get("schedule_step"), e["selected_by"])
                   for e in h.matching(lambda e: e["event"] == "scenario", 8)]
            two = "retry-after-two-resets"
            self.assertEqual(sel, [("reset-at-mcs-connect", two, 0, "listener")] * 2 +
                             [("healthy-tls", two, 1, "listener"),
                              ("reset-at-mcs-connect", two, 0, "listener"),
                              ("reset-at-mcs-connect", two, 0, "alias"),
                              ("healthy-tls", two, 1, "listener"),
                              ("reset-at-mcs-connect", "retry-after-one-reset", 0, "cookie"),
                              ("healthy-tls", "retry-after-one-reset", 1, "cookie")])
            acc = [e for e in h.events() if e["event"] == "accept"]
            self.assertEqual(acc[0]["schedule"], two)
            for e in h.events():
                self.assertEqual(rf.schema_errors(e, "events"), [], e)

    def test_steps_checked_across_the_catalog(self):
        import subprocess
        for value, why in (("nope", "schedule[0].scenario: no scenario named 'nope'"),
                           ("retry-after-two-resets",
                            "schedule[0].scenario: 'retry-after-two-resets' is a schedule itself")):
            arg = (f"retry-after-one-reset.schedule=[{{scenario: {value}, count: 1}}, "
                   "{scenario: healthy-tls}]")
            p = subprocess.run([rf.rdpfault_binary(), "list", "--set", arg],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn(f"--set {arg}: {why}", p.stderr)
        p = subprocess.run([rf.rdpfault_binary(), "serve", "--api", "off", "--listen",
                            f"127.0.0.1:{rf.free_ports(1)[0]}=retry-after-one-reset*2,healthy-tls"],
                           capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("'retry-after-one-reset' is a schedule itself", p.stderr)
        p = subprocess.run([rf.rdpfault_binary(), "show", "retry-after-one-reset", "--json"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(json.loads(p.stdout)["schedule"],
                         [{"scenario": "reset-at-mcs-connect", "count": 1},
                          {"scenario": "healthy-tls"}])


class XfreerdpRetries(unittest.TestCase):
    """xfreerdp 2.11 retries a connection reset once: one reset, then healthy,
    reaches the session on its second connection; two resets end it."""

    def run_xfreerdp(self, schedule):
        port = rf.free_ports(1)[0]
        with rf.Display() as display, rf.Harness(listen=f"127.0.0.1:{port}={schedule}",
                                                port_base=False) as h:
            c = rf.xfreerdp(port, "schedule-user", display=display.name)
            deadline = time.monotonic() + 40
            active = False
            while time.monotonic() < deadline and c.proc.poll() is None:
                if any(e.get("phase") == "active" for e in h.events()):
                    active = True
                    break
                time.sleep(0.2)
            rc = c.proc.poll()
            c.stop()
            n = len(h.matching(lambda e: e["event"] == "accept", 2))
            return active, rc, n

    def test_one_reset_then_healthy_connects(self):
        active, rc, n = self.run_xfreerdp("reset-at-mcs-connect*1,healthy-tls")
        self.assertTrue(active)
        self.assertEqual(n, 2)

    def test_two_resets_then_healthy_fails(self):
        active, rc, n = self.run_xfreerdp("reset-at-mcs-connect*2,healthy-tls")
        self.assertFalse(active)
        self.assertEqual((rc, n), (147, 2))  # the third connection, healthy, never comes


if __name__ == "__main__":
    unittest.main()

"""Real-client test: xfreerdp 2.11 (under Xvfb) against the three healthy
scenarios. Each must reach an active session, seen both from the client (it
stays connected) and from the harness (the event log shows phase `active`);
a wrong NLA password must fail as a logon failure; a cookie naming no
scenario falls back to the listener's default.
"""

import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfharness as rf  # noqa: E402

SESSION_S = 4  # how long a connected client is left running


class HealthyScenarios(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.display = rf.Display().__enter__()
        cls.h = rf.Harness().__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.h.__exit__(None, None, None)
        cls.display.__exit__(None, None, None)

    def connect_and_check_active(self, port, user, password, extra=(), scenario=None,
                                 selected_by=None):
        before = set(self.h.connections())
        c = rf.xfreerdp(port, user, password, extra, self.display.name)
        try:
            rc = c.wait(SESSION_S)
            if rc is not None:
                # What the server saw of it, for a failure that is not the client's.
                closes = [e for e in self.h.events() if e["event"] == "close"
                          and e["conn"] not in before]
                self.fail(f"xfreerdp exited {rc} instead of staying connected:\n"
                          f"{c.output()[-3000:]}\nserver closes: {closes}\n"
                          f"harness alive: {self.h.proc.poll() is None}; its stderr:\n"
                          f"{self.h.stderr_text()[-3000:]}")
            conn = self.h.wait_for(
                lambda ev: next((e["conn"] for e in ev if e["event"] == "phase"
                                 and e["phase"] == "active" and e["conn"] not in before), None),
                what="phase active")
        finally:
            c.stop()
        sel = self.h.first(conn, "scenario")
        self.assertEqual(sel["scenario"], scenario)
        self.assertEqual(sel["selected_by"], selected_by)
        phases = self.h.phases(conn)
        # The connection sequence in order, as the harness saw it.
        for p in ["tcp-accept", "x224-request", "x224-confirm", "mcs-connect", "erect-domain",
                  "attach-user", "channel-join", "client-info", "licensing", "capabilities",
                  "confirm-active", "finalization", "active"]:
            self.assertIn(p, phases)
        self.assertEqual(phases, sorted(phases, key=phases.index))
        idx = [phases.index(p) for p in ["tcp-accept", "x224-request", "x224-confirm",
                                          "mcs-connect", "client-info", "capabilities", "active"]]
        self.assertEqual(idx, sorted(idx), f"phases out of order: {phases}")
        close = self.h.wait_for(lambda ev: next((e for e in ev if e["conn"] == conn
                                                 and e["event"] == "close"), None),
                                what="close event")
        self.assertEqual(close["reason"], "client-closed")
        self.assertEqual(close["last_phase"], "active")
        self.assertGreater(close["bytes_to_client"], 1000)
        ts = [e["ts_ms"] for e in self.h.events(conn)]
        self.assertEqual(ts, sorted(ts), "timestamps must be monotonic")
        return conn, phases

    def test_healthy_tls_by_port(self):
        conn, phases = self.connect_and_check_active(self.h.scenario_port(0), "someone", "x",
                                                     scenario="healthy-tls",
                                                     selected_by="listener")
        for p in ["tls-client-hello", "tls-server-hello", "tls-finished"]:
            self.assertIn(p, phases)
        self.assertNotIn("credssp", phases)
        self.assertEqual(self.h.first(conn, "security")["layer"], "tls")

    def test_healthy_nla_by_cookie(self):
        # The default listener serves healthy-tls; /u: selects healthy-nla.
        conn, phases = self.connect_and_check_active(self.h.port, "healthy-nla", "rdpfault-nla",
                                                     scenario="healthy-nla", selected_by="cookie")
        self.assertIn("credssp", phases)
        self.assertEqual(self.h.first(conn, "security")["layer"], "nla")
        self.assertEqual(self.h.first(conn, "request")["cookie"], "healthy-nla")

    def test_nla_survives_its_runtime_directory_removed(self):
        # The account files there are for people to read: NLA's hash comes
        # from memory, so a harness whose runtime directory went away (a
        # tmp cleaner) still authenticates. A fresh harness of its own.
        with rf.Harness() as h:
            shutil.rmtree(h.runtime)
            self.assertFalse(os.path.exists(h.runtime))
            saved, self.h = self.h, h
            try:
                conn, phases = self.connect_and_check_active(
                    h.port, "healthy-nla", "rdpfault-nla", scenario="healthy-nla",
                    selected_by="cookie")
            finally:
                self.h = saved
            self.assertIn("credssp", phases)
            rc, took = h.stop()
            self.assertEqual(rc, 0, h.stderr_text())

    def test_healthy_rdp_encryption_on(self):
        conn, phases = self.connect_and_check_active(self.h.scenario_port(2), "someone", "x",
                                                     extra=["/sec:rdp"], scenario="healthy-rdp",
                                                     selected_by="listener")
        self.assertIn("security-exchange", phases)
        self.assertNotIn("tls-client-hello", phases)
        client = self.h.first(conn, "client")
        # ENCRYPTION_METHOD_40BIT 0x1, 128BIT 0x2, 56BIT 0x8, FIPS 0x10; 0 = none.
        self.assertIn(client["rdp_encryption_method"], (0x1, 0x2, 0x8, 0x10))
        self.assertEqual(self.h.first(conn, "security")["layer"], "rdp")

    def test_unknown_cookie_falls_back_to_listener_default(self):
        self.connect_and_check_active(self.h.scenario_port(2), "no-such-scenario", "x",
                                      extra=["/sec:rdp"], scenario="healthy-rdp",
                                      selected_by="listener")

    def test_unknown_cookie_on_default_port(self):
        self.connect_and_check_active(self.h.port, "nobody", "x", scenario="healthy-tls",
                                      selected_by="listener")

    def test_wrong_nla_password_is_a_logon_failure(self):
        # A harness of its own: FreeRDP 2.11 leaks a little of its NTLM
        # state on a failed logon (tests/sanitizers/ says what), suppressed
        # for this harness alone.
        supp = os.path.join(rf.ROOT, "tests", "sanitizers", "freerdp-ntlm-logon-failure.supp")
        with rf.Harness(env={"LSAN_OPTIONS": f"suppressions={supp}"}) as h:
            self.check_wrong_password(h)

    def check_wrong_password(self, h):
        before = set(h.connections())
        c = rf.xfreerdp(h.scenario_port(1), "healthy-nla", "wrong-password",
                        display=self.display.name)
        rc = c.wait(30)
        out = c.output()
        c.stop()
        self.assertEqual(rc, 134, f"xfreerdp exit code (XF_EXIT_LOGON_FAILURE):\n{out[-3000:]}")
        self.assertIn("STATUS_LOGON_FAILURE", out)
        self.assertIn("ERRCONNECT_LOGON_FAILURE", out)
        conn = h.wait_for(lambda ev: next((e["conn"] for e in ev
                                           if e["event"] == "credssp-failed"
                                           and e["conn"] not in before), None),
                          what="credssp-failed")
        failed = h.first(conn, "credssp-failed")
        self.assertEqual(failed["error_code"], "0xC000006D")
        self.assertTrue(failed["sent"])
        self.assertNotIn("active", h.phases(conn))


class StopWithActiveSessions(unittest.TestCase):
    def test_sigterm_with_active_sessions(self):
        with rf.Display() as display, rf.Harness() as h:
            clients = [rf.xfreerdp(h.scenario_port(0), f"user{i}", "x", display=display.name)
                       for i in range(3)]
            try:
                h.wait_for(lambda ev: len([e for e in ev if e.get("phase") == "active"]) >= 3,
                           what="3 active sessions")
                rf.check_clean_stop(self, h, closes=3, last_phase="active")
                # Each client sees its server go away.
                for c in clients:
                    self.assertIsNotNone(c.wait(15), "xfreerdp kept running after the harness "
                                                     "stopped")
            finally:
                for c in clients:
                    c.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)

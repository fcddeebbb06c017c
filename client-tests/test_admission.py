"""Admission control with loads of raw TCP clients: past max_outstanding
the counts of admitted and refused connections match the limit and the
policy exactly (accept-close: FIN, accept-reset: RST, hold: silence,
syn-drop: the listener stops accepting and SYNs go unanswered), prefill
refuses the first client, the pre-logon timeout frees slots (slowloris),
and past max_sessions a second xfreerdp session is denied at logon.
"""

import errno
import os
import select
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfharness as rf  # noqa: E402

LOAD = 20
LIMIT = 5


def limit_args(name, policy, limit=LIMIT, prefill=0, extra=()):
    args = ["--set", f"{name}.admission.max_outstanding={limit}",
            "--set", f"{name}.admission.policy={policy}",
            "--set", f"{name}.admission.prefill={prefill}"]
    for e in extra:
        args += ["--set", f"{name}.{e}"]
    return args


def connect(port, timeout=5):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return s


def fate(s, wait=1.0):
    """What the server did to a connection it never answered: 'fin',
    'rst' or 'silent' (nothing within `wait`)."""
    s.settimeout(wait)
    try:
        data = s.recv(100)
        return "fin" if data == b"" else f"data {data!r}"
    except ConnectionResetError:
        return "rst"
    except socket.timeout:
        return "silent"


def decisions(h, scenario):
    out = {}
    for e in h.events():
        if e["event"] == "admission" and e.get("scenario") == scenario:
            out.setdefault(e["decision"], []).append(e)
    return out


class Admission(unittest.TestCase):
    def load(self, name, policy):
        """LOAD connections that never send a byte; returns (harness
        events, what happened to each)."""
        with rf.Harness(extra_args=limit_args(name, policy)) as h:
            port = h.scenario_port(h_offset(name))
            socks = [connect(port) for _ in range(LOAD)]
            h.wait_for(lambda ev: len([e for e in ev if e["event"] == "admission"]) >= LOAD,
                       what="an admission decision per connection")
            fates = [fate(s, 0.5) for s in socks]
            d = decisions(h, name)
            for s in socks:
                s.close()
            rc, _ = h.stop()
            self.assertEqual(rc, 0)
            stop = h.events()[-1]
        return d, fates, stop

    def check_counts(self, d, stop, name, policy):
        self.assertEqual(len(d["admitted"]), LIMIT)
        self.assertEqual(len(d["refused"]), LOAD - LIMIT)
        # Each decision carries the count at that moment.
        self.assertEqual([e["outstanding"] for e in d["admitted"]], list(range(1, LIMIT + 1)))
        self.assertTrue(all(e["outstanding"] == LIMIT and e["policy"] == policy
                            for e in d["refused"]))
        summary = stop["admission"][name]
        self.assertEqual(summary["admitted"], LIMIT)
        self.assertEqual(summary["refused"][policy], LOAD - LIMIT)

    def test_accept_close(self):
        d, fates, stop = self.load("backlog-full-close", "accept-close")
        self.check_counts(d, stop, "backlog-full-close", "accept-close")
        # The admitted wait for their request (silence); the rest get a FIN.
        self.assertEqual(fates, ["silent"] * LIMIT + ["fin"] * (LOAD - LIMIT))

    def test_accept_reset(self):
        d, fates, stop = self.load("backlog-full-reset", "accept-reset")
        self.check_counts(d, stop, "backlog-full-reset", "accept-reset")
        self.assertEqual(fates, ["silent"] * LIMIT + ["rst"] * (LOAD - LIMIT))

    def test_hold(self):
        d, fates, stop = self.load("backlog-full-hold", "hold")
        self.check_counts(d, stop, "backlog-full-hold", "hold")
        self.assertEqual(fates, ["silent"] * LOAD)
        # Held connections are the front door's: no peer ever started.
        self.assertEqual(stop["peers_still_running"], 0)

    def test_hold_ends_at_the_prelogon_deadline(self):
        name = "backlog-full-hold"
        with rf.Harness(extra_args=limit_args(name, "hold", limit=1, prefill=1, extra=[
                "admission.prelogon_timeout_ms=800"])) as h:
            s = connect(h.scenario_port(h_offset(name)))
            t0 = time.monotonic()
            self.assertEqual(fate(s, 5), "fin")
            self.assertGreater(time.monotonic() - t0, 0.5)
            close = h.wait_for(lambda ev: [e for e in ev if e["event"] == "close"])[0]
            self.assertEqual(close["reason"], "held-deadline")
            s.close()

    def test_prefill_refuses_the_first_client(self):
        name = "backlog-full-close"  # as the catalog has it: 2 of 2 slots prefilled
        with rf.Harness() as h:
            s = connect(h.scenario_port(h_offset(name)))
            self.assertEqual(fate(s, 2), "fin")
            d = h.wait_for(lambda ev: decisions(h, name).get("refused"))
            self.assertEqual(d[0]["outstanding"], 2)
            self.assertEqual(d[0]["prefill"], 2)
            s.close()

    def test_syn_drop(self):
        name = "backlog-full-syn-drop"
        with rf.Harness(extra_args=limit_args(name, "syn-drop")) as h:
            port = h.scenario_port(h_offset(name))
            admitted = [connect(port) for _ in range(LIMIT)]
            h.wait_for(lambda ev: decisions(h, name).get("listener-paused"),
                       what="the listener paused")
            # Past the limit: the kernel queues one (backlog 0), then drops SYNs.
            late = []
            for _ in range(6):
                s = socket.socket()
                s.setblocking(False)
                self.assertIn(s.connect_ex(("127.0.0.1", port)), (errno.EINPROGRESS, 0))
                late.append(s)
            time.sleep(1.5)
            _, writable, _ = select.select([], late, [], 0)
            self.assertEqual(len(writable), 1, "one in the kernel queue, the rest unanswered")
            self.assertEqual(len(decisions(h, name)["admitted"]), LIMIT)
            # A slot frees: the listener resumes and takes the queued one.
            admitted[0].close()
            h.wait_for(lambda ev: len(decisions(h, name)["admitted"]) == LIMIT + 1,
                       what="the queued connection admitted")
            d = decisions(h, name)
            self.assertGreaterEqual(len(d.get("listener-resumed", [])), 1)
            self.assertNotIn("refused", d)  # syn-drop refuses in the kernel, not here
            for s in admitted[1:] + late:
                s.close()

    def test_slowloris_slots_freed_by_the_prelogon_timeout(self):
        name = "slowloris"
        with rf.Harness(extra_args=["--set", f"{name}.admission.prelogon_timeout_ms=1000"]) as h:
            port = h.scenario_port(h_offset(name))
            slow = [connect(port) for _ in range(5)]      # never send a byte
            h.wait_for(lambda ev: len(decisions(h, name).get("admitted", [])) == 5)
            legit = connect(port)
            self.assertEqual(fate(legit, 0.5), "fin")      # refused while they hold the slots
            for s in slow:
                self.assertEqual(fate(s, 3), "fin")        # the timeout closes them
            again = connect(port)
            h.wait_for(lambda ev: len(decisions(h, name).get("admitted", [])) == 6,
                       what="a slot freed by the timeout")
            self.assertEqual(fate(again, 0.3), "silent")    # admitted: waiting for its request
            again.close()
            legit.close()
            rc, _ = h.stop()
            summary = h.events()[-1]["admission"][name]
            self.assertEqual(summary["freed_by_timeout"], 5)
            self.assertEqual(summary["refused"]["accept-close"], 1)

    def test_session_limit_denies_a_second_xfreerdp(self):
        name = "session-limit"
        with rf.Harness() as h, rf.Display() as display:
            env = dict(os.environ, DISPLAY=display.name)
            argv = ["xfreerdp", f"/v:127.0.0.1:{h.scenario_port(h_offset(name))}", "/u:someone",
                    "/p:x", "/cert:ignore", "/size:640x480"]
            first = rf.subprocess.Popen(argv, env=env, stdin=rf.subprocess.DEVNULL,
                                        stdout=rf.subprocess.DEVNULL, stderr=rf.subprocess.STDOUT)
            try:
                h.wait_for(lambda ev: [e for e in ev if e.get("phase") == "active"], timeout=30,
                           what="the first session active")
                second = rf.subprocess.run(argv, env=env, stdin=rf.subprocess.DEVNULL,
                                           capture_output=True, text=True, timeout=60)
                self.assertEqual(second.returncode, 131, second.stdout[-2000:])
                self.assertIn("ERRINFO_SERVER_DENIED_CONNECTION", second.stdout + second.stderr)
                limited = decisions(h, name)["session-limit"]
                self.assertEqual(len(limited), 1)
                self.assertEqual(limited[0]["active_sessions"], 1)
            finally:
                rf.end_process(first)


_OFFSETS = {}


def h_offset(name):
    if not _OFFSETS:
        import json
        out = rf.subprocess.run([rf.rdpfault_binary(), "list", "--json"], capture_output=True,
                                text=True, check=True).stdout
        _OFFSETS.update({s["name"]: s["port_offset"] for s in json.loads(out)})
    return _OFFSETS[name]


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""The control API against real xfreerdp 2.11 sessions, through the Python
client and `rdpfault ctl`:

- a schedule set on a running harness (two resets, then healthy) reaches
  the session on the third connection: xfreerdp retries a reset once, so
  its first run ends after two connections (exit 147) and the next run's
  connection is the healthy one;
- conditions changed on a live, active session: a latency added, updated
  and removed; an API cut that xfreerdp's auto-reconnect answers with a
  new session; a reset_peer added live, which resets the session and
  every reconnection until xfreerdp gives up (exit 131).
"""

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfharness as rf  # noqa: E402
from rdpfault_api import Client  # noqa: E402

RETRIES = 3


def api_harness():
    return rf.Harness(extra_args=["--api", "127.0.0.1:0"], port_base=False, timeout_ms=20000)


def api_of(h):
    return Client(next(e for e in h.events() if e["event"] == "start")["api"])


class Schedule(unittest.TestCase):
    def test_two_resets_then_healthy_reaches_the_session_on_the_third_connection(self):
        with rf.Display() as display, api_harness() as h:
            api = api_of(h)
            addr = f"127.0.0.1:{h.port}"
            api.update_listener(addr, schedule="reset-at-mcs-connect*2,healthy-tls")
            first = rf.xfreerdp(h.port, "retry-user", display=display.name)
            self.assertEqual(first.wait(60), 147, first.output()[-2000:])
            self.assertEqual(len(h.connections()), 2)  # its own retry, once
            mark = api.events_next()
            second = rf.xfreerdp(h.port, "retry-user", display=display.name)
            e = api.wait_for(lambda e: e.get("phase") == "active", since=mark, timeout=40)
            self.assertIsNone(second.proc.poll())
            second.stop()
            self.assertEqual(e["conn"], 3)
            sel = [(e["scenario"], e["schedule_step"])
                   for e in h.matching(lambda e: e["event"] == "scenario", 3)]
            self.assertEqual(sel, [("reset-at-mcs-connect", 0)] * 2 + [("healthy-tls", 1)])


class LiveSession(unittest.TestCase):
    def ctl(self, api, *args):
        p = subprocess.run([rf.rdpfault_binary(), "ctl", "--api", api, "--json", *args],
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout) if p.stdout.strip() else None

    def test_toxics_and_cuts_on_an_active_session(self):
        with rf.Display() as display, api_harness() as h:
            api = api_of(h)
            where = api.base.split("//", 1)[1]
            addr = f"127.0.0.1:{h.port}"
            c = rf.xfreerdp(h.port, "live-user", display=display.name,
                            extra=["+auto-reconnect", f"/auto-reconnect-max-retries:{RETRIES}"])
            try:
                first = api.wait_for(lambda e: e.get("phase") == "active", timeout=40)["conn"]
                # A latency on the live session: added, updated, removed.
                body = self.ctl(where, "toxic", "add", addr,
                                "latency:downstream:latency=200,name=lag")
                self.assertEqual(body["live_connections"], 1)
                body = self.ctl(where, "toxic", "update", addr, "lag", "latency=0")
                self.assertEqual(body["live_connections"], 1)
                self.ctl(where, "toxic", "remove", addr, "lag")
                added = h.matching(lambda e: e["event"] == "network" and e["conn"] == first, 1)
                self.assertEqual([(e["name"], e.get("added_live"), e.get("phase"))
                                  for e in added], [("lag", True, "active")])
                # Cut through the API: xfreerdp's auto-reconnect opens a new session.
                mark = api.events_next()
                self.assertEqual(self.ctl(where, "cut", str(first))["cut"], "reset")
                second = api.wait_for(lambda e: e.get("phase") == "active" and
                                      e["conn"] != first, since=mark, timeout=40)["conn"]
                self.assertIsNone(c.proc.poll())
                # A reset_peer added live: the session and every reconnection
                # are reset, until xfreerdp's retries run out.
                body = self.ctl(where, "toxic", "add", addr,
                                "reset_peer:downstream:timeout=0,name=rst")
                self.assertEqual(body["live_connections"], 1)
                self.assertEqual(c.wait(60), 131, c.output()[-2000:])
            finally:
                c.stop()
            out = c.output()
            self.assertIn("Network disconnect!", out)
            self.assertIn(f"Attempting reconnect ({RETRIES} of {RETRIES})", out)
            closes = {e["conn"]: e["reason"]
                      for e in h.matching(lambda e: e["event"] == "close", 2 + RETRIES)}
            self.assertEqual(closes[first], "api-reset")
            self.assertEqual(closes[second], "network-reset")
            later = [k for k in closes if k > second]
            self.assertEqual(len(later), RETRIES)  # one connection per retry, each reset
            self.assertEqual({closes[k] for k in later}, {"network-reset"})


if __name__ == "__main__":
    unittest.main()

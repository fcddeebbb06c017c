"""The control API on a real harness (docs/api.md): every endpoint there
is, through HTTP from the standard library — version, scenarios, listeners,
live connections and cutting one, the event log by sequence number with a
long poll, the Prometheus metrics — and its errors: unknown paths and
methods, bad query values, unknown names, a busy or non-loopback --api.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfharness as rf  # noqa: E402
from rdpfault_api import ApiError, Client, parse_schedule  # noqa: E402

REQUEST = rf.x224_request(None, protocols=0x1)


def call(h, method, path):
    """(status, parsed body or text, headers)."""
    req = urllib.request.Request(f"http://{h.api}{path}", method=method)
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            body, status, headers = r.read().decode(), r.status, r.headers
    except urllib.error.HTTPError as e:
        body, status, headers = e.read().decode(), e.code, e.headers
    if headers.get("Content-Type", "").startswith("application/json"):
        return status, json.loads(body), headers
    return status, body, headers


class ApiHarness(rf.Harness):
    def __init__(self, **kw):
        super().__init__(extra_args=["--api", "127.0.0.1:0"], port_base=False, **kw)

    def start(self, attempts=5):
        super().start(attempts)
        start = next(e for e in self.events() if e["event"] == "start")
        self.api = start["api"]


class Api(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.h = ApiHarness(timeout_ms=20000)
        cls.h.start()

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()
        cls.h.cleanup()

    def test_version(self):
        st, body, _ = call(self.h, "GET", "/version")
        self.assertEqual(st, 200)
        self.assertRegex(body["version"], r"^\d+\.\d+\.\d+$")
        self.assertEqual(body["events_schema_version"], 2)

    def test_scenarios_as_list_and_show(self):
        st, body, _ = call(self.h, "GET", "/scenarios")
        self.assertEqual(st, 200)
        listed = json.loads(subprocess.run([rf.rdpfault_binary(), "list", "--json"],
                                           capture_output=True, text=True, check=True).stdout)
        self.assertEqual([s["name"] for s in body], [s["name"] for s in listed])
        st, one, _ = call(self.h, "GET", "/scenarios/slow-vpn")
        self.assertEqual(st, 200)
        shown = json.loads(subprocess.run([rf.rdpfault_binary(), "show", "slow-vpn", "--json"],
                                          capture_output=True, text=True, check=True).stdout)
        self.assertEqual(one["network"], shown["network"])
        self.assertEqual(one["summary"], shown["summary"])
        st, err, _ = call(self.h, "GET", "/scenarios/no-such")
        self.assertEqual((st, err["field"]), (404, "name"))
        self.assertIn("no scenario named 'no-such'", err["error"])

    def test_listeners(self):
        st, body, _ = call(self.h, "GET", "/listeners")
        self.assertEqual(st, 200)
        self.assertEqual([(l["port"], l["scenario"]) for l in body],
                         [(self.h.port, "healthy-tls")])

    def test_connections_and_cut(self):
        s = socket.create_connection(("127.0.0.1", self.h.port), timeout=10)
        s.sendall(REQUEST)
        self.assertEqual(len(rf.read_confirm(s)), 19)
        conn = None
        deadline = time.monotonic() + 10
        while conn is None and time.monotonic() < deadline:
            st, live, _ = call(self.h, "GET", "/connections")
            self.assertEqual(st, 200)
            conn = next((c for c in live if c["scenario"] == "healthy-tls"
                         and c["client"].endswith(f":{s.getsockname()[1]}")), None)
        self.assertIsNotNone(conn)
        self.assertEqual(conn["bytes_from_client"], len(REQUEST))
        self.assertEqual(conn["bytes_to_client"], 19)
        self.assertIn(conn["phase"], ("x224-confirm", "x224-request"))
        st, body, _ = call(self.h, "DELETE", f"/connections/{conn['id']}?mode=reset")
        self.assertEqual((st, body), (200, {"id": conn["id"], "cut": "reset"}))
        with self.assertRaises(ConnectionResetError):
            s.settimeout(5)
            s.recv(100)
        s.close()
        close = self.h.wait_for(lambda ev: next((e for e in ev if e["event"] == "close"
                                                 and e["conn"] == conn["id"]), None))
        self.assertEqual(close["reason"], "api-reset")
        st, err, _ = call(self.h, "DELETE", f"/connections/{conn['id']}")
        self.assertEqual((st, err["field"]), (404, "id"))
        st, err, _ = call(self.h, "DELETE", "/connections/7?mode=sideways")
        self.assertEqual((st, err["field"]), (400, "mode"))
        st, err, _ = call(self.h, "DELETE", "/connections/x")
        self.assertEqual((st, err["field"]), (400, "id"))

    def test_events_by_sequence_and_long_poll(self):
        st, body, _ = call(self.h, "GET", "/events?since=0&limit=1")
        self.assertEqual(st, 200)
        self.assertEqual(body["events"][0]["event"], "start")
        self.assertEqual(body["events"][0]["seq"], 1)
        self.assertEqual(body["next"], 1)
        st, now, _ = call(self.h, "GET", "/events?since=0&limit=1000")
        since = now["next"]
        # Nothing new: the poll waits; a connection during the wait ends it.
        got = {}

        def poll():
            got["t0"] = time.monotonic()
            got["r"] = call(self.h, "GET", f"/events?since={since}&wait=10000")
            got["t1"] = time.monotonic()
        t = threading.Thread(target=poll)
        t.start()
        time.sleep(0.5)
        s = socket.create_connection(("127.0.0.1", self.h.port), timeout=10)
        t.join(15)
        s.close()
        st, body, _ = got["r"]
        self.assertEqual(st, 200)
        self.assertGreaterEqual(got["t1"] - got["t0"], 0.4)
        self.assertLess(got["t1"] - got["t0"], 5)
        self.assertEqual(body["events"][0]["seq"], since + 1)
        self.assertEqual(body["events"][0]["event"], "accept")
        self.assertFalse(body["missed"])
        # A wait with nothing new: an empty answer after the wait.
        st, body, _ = call(self.h, "GET", "/events?since=100000000&wait=300")
        self.assertEqual((st, body["events"]), (200, []))
        for q, field in (("since=-1", "since"), ("wait=999999", "wait"), ("limit=0", "limit"),
                         ("since=x", "since")):
            st, err, _ = call(self.h, "GET", f"/events?{q}")
            self.assertEqual((st, err["field"]), (400, field), q)

    def test_event_stream(self):
        import http.client
        host, port = self.h.api.split(":")
        c = http.client.HTTPConnection(host, int(port), timeout=10)
        c.request("GET", "/events/stream?since=0")
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Content-Type"), "text/event-stream")

        def next_event():
            fields = {}
            while True:
                line = r.fp.readline().decode()
                self.assertTrue(line, "the stream ended")
                if line == "\n":
                    return fields
                k, _, v = line.rstrip("\n").partition(": ")
                fields[k] = v
        first = next_event()
        self.assertEqual((first["id"], first["event"]), ("1", "start"))
        self.assertEqual(json.loads(first["data"])["seq"], 1)
        seen = [first]
        while int(seen[-1]["id"]) < self.h_events_now():
            seen.append(next_event())
        s = socket.create_connection(("127.0.0.1", self.h.port), timeout=10)
        e = next_event()
        while e["event"] != "accept":
            e = next_event()
        self.assertEqual(json.loads(e["data"])["listener"], f"127.0.0.1:{self.h.port}")
        s.close()
        c.close()
        st, err, _ = call(self.h, "GET", "/events/stream?since=x")
        self.assertEqual((st, err["field"]), (400, "since"))

    def h_events_now(self):
        return call(self.h, "GET", "/events?since=0&limit=1000")[1]["next"]

    def test_metrics(self):
        st, text, headers = call(self.h, "GET", "/metrics")
        self.assertEqual(st, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/plain"))
        names = set()
        for line in text.splitlines():
            if line.startswith("#"):
                self.assertRegex(line, r"^# (HELP|TYPE) rdpfault_[a-z_]+ ")
                continue
            self.assertRegex(line, r'^rdpfault_[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? \d+$')
            names.add(line.split("{")[0].split(" ")[0])
        self.assertLessEqual({"rdpfault_connections_total", "rdpfault_connections_live",
                              "rdpfault_events_total", "rdpfault_admission_total"}, names)

    def test_unknown_path_and_method(self):
        st, err, _ = call(self.h, "GET", "/toxics")
        self.assertEqual((st, err["field"]), (404, "path"))
        st, err, headers = call(self.h, "POST", "/version")
        self.assertEqual(st, 405)
        self.assertEqual(headers["Allow"], "GET")
        st, err, headers = call(self.h, "GET", "/connections/3")
        self.assertEqual((st, headers["Allow"]), (405, "DELETE"))


def send(h, method, path, body=None):
    data = None if body is None else (body if isinstance(body, bytes) else
                                      json.dumps(body).encode())
    req = urllib.request.Request(f"http://{h.api}{path}", method=method, data=data)
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            text, status = r.read().decode(), r.status
    except urllib.error.HTTPError as e:
        text, status = e.read().decode(), e.code
    return status, (json.loads(text) if text.strip() else None)


class Toxics(unittest.TestCase):
    """A listener's conditions through the API: new connections get them."""

    def test_add_use_update_remove(self):
        with ApiHarness(timeout_ms=20000) as h:
            lst = f"/listeners/127.0.0.1:{h.port}/toxics"
            st, body = send(h, "POST", lst, {"name": "slow", "type": "latency",
                                             "stream": "downstream",
                                             "attributes": {"latency": 250}})
            self.assertEqual(st, 201, body)
            self.assertEqual(body, {"name": "slow", "type": "latency", "stream": "downstream",
                                    "toxicity": 1.0, "trigger": {},
                                    "attributes": {"latency": 250, "jitter": 0},
                                    "live_connections": 0})
            del body["live_connections"]  # the reply's, not the toxic's
            self.assertEqual(send(h, "GET", lst)[1], [body])
            t0 = time.monotonic()
            s = socket.create_connection(("127.0.0.1", h.port), timeout=10)
            s.sendall(REQUEST)
            self.assertEqual(len(rf.read_confirm(s)), 19)
            self.assertGreaterEqual(time.monotonic() - t0, 0.25)
            s.close()
            ev = h.wait_for(lambda ev: [e for e in ev if e["event"] == "network"])
            self.assertEqual((ev[0]["origin"], ev[0]["name"]), ("api", "slow"))
            st, body = send(h, "POST", lst + "/slow", {"attributes": {"latency": 500}})
            self.assertEqual((st, body["attributes"]["latency"]), (200, 500))
            t0 = time.monotonic()
            s = socket.create_connection(("127.0.0.1", h.port), timeout=10)
            s.sendall(REQUEST)
            rf.read_confirm(s)
            self.assertGreaterEqual(time.monotonic() - t0, 0.5)
            s.close()
            st, body = send(h, "DELETE", lst + "/slow")
            self.assertEqual((st, body), (204, None))
            t0 = time.monotonic()
            s = socket.create_connection(("127.0.0.1", h.port), timeout=10)
            s.sendall(REQUEST)
            rf.read_confirm(s)
            self.assertLess(time.monotonic() - t0, 0.25)
            s.close()
            actions = [e["action"] for e in h.matching(lambda e: e["event"] == "toxic", 3)]
            self.assertEqual(actions, ["added", "updated", "removed"])
            for e in h.events():
                self.assertEqual(rf.schema_errors(e, "events"), [], e)

    def test_listener_disable_enable_scenario_and_reset(self):
        with ApiHarness(timeout_ms=20000) as h:
            path = f"/listeners/127.0.0.1:{h.port}"
            st, body = send(h, "GET", path)
            self.assertEqual((st, body["enabled"], body["scenario"]), (200, True, "healthy-tls"))
            st, body = send(h, "POST", path, {"enabled": False})
            self.assertEqual((st, body["enabled"]), (200, False))
            with self.assertRaises(ConnectionRefusedError):  # the port is closed: RST on SYN
                socket.create_connection(("127.0.0.1", h.port), timeout=5)
            st, body = send(h, "POST", path, {"enabled": True,
                                              "scenario": "neg-inconsistent-flags"})
            self.assertEqual((st, body["enabled"], body["scenario"]),
                             (200, True, "neg-inconsistent-flags"))
            s = socket.create_connection(("127.0.0.1", h.port), timeout=5)
            s.sendall(REQUEST)
            cc = rf.read_confirm(s)
            self.assertEqual(cc[11], 3)  # TYPE_RDP_NEG_FAILURE: the new default's answer
            s.close()
            self.assertEqual(send(h, "POST", path + "/toxics", {"type": "latency"})[0], 201)
            for body, status, field in (({"enabled": "no"}, 400, "enabled"),
                                        ({"scenario": "no-such"}, 404, "scenario"),
                                        ({"address": "127.0.0.1:1"}, 400, ""),
                                        ({"listen": "x"}, 400, "")):
                st, err = send(h, "POST", path, body)
                self.assertEqual((st, err["field"]), (status, field), body)
            st, body = send(h, "POST", "/reset")
            self.assertEqual((st, body), (200, {"reset": True}))
            st, body = send(h, "GET", path)
            self.assertEqual((body["scenario"], body["enabled"], body["toxics"]),
                             ("healthy-tls", True, 0))
            self.assertEqual(send(h, "GET", "/reset")[0], 405)
            self.assertEqual(send(h, "GET", "/listeners/127.0.0.1:1")[0], 404)

    def test_changes_reach_live_connections(self):
        import ssl
        with ApiHarness(timeout_ms=20000) as h:
            lst = f"/listeners/127.0.0.1:{h.port}/toxics"
            self.assertEqual(send(h, "POST", lst, {"name": "lag", "type": "latency",
                                                   "attributes": {"latency": 800}})[0], 201)
            s = socket.create_connection(("127.0.0.1", h.port), timeout=10)
            t0 = time.monotonic()
            s.sendall(REQUEST)
            rf.read_confirm(s)
            self.assertGreaterEqual(time.monotonic() - t0, 0.8)
            st, body = send(h, "POST", lst + "/lag", {"attributes": {"latency": 0}})
            self.assertEqual((st, body["live_connections"]), (200, 1))
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            t0 = time.monotonic()
            tls = ctx.wrap_socket(s)  # on the same connection, now without the delay
            self.assertLess(time.monotonic() - t0, 0.6)
            tls.close()
            self.assertEqual(send(h, "DELETE", lst + "/lag")[0], 204)
            # A black hole on the client's bytes, removed while a connection waits in it.
            self.assertEqual(send(h, "POST", lst, {"name": "hole", "type": "blackhole",
                                                   "stream": "upstream"})[0], 201)
            s = socket.create_connection(("127.0.0.1", h.port), timeout=10)
            s.sendall(REQUEST)
            s.settimeout(0.7)
            with self.assertRaises(socket.timeout):
                s.recv(100)  # the request vanished
            self.assertEqual(send(h, "DELETE", lst + "/hole")[0], 204)
            ev = h.matching(lambda e: e["event"] == "toxic" and e["action"] == "removed", 2)
            self.assertEqual(ev[-1]["live_connections"], 1)
            s.sendall(REQUEST)  # now it passes
            self.assertEqual(len(rf.read_confirm(s, 5)), 19)
            s.close()

    def test_toxic_added_reaches_live_connections(self):
        import ssl
        with ApiHarness(timeout_ms=20000) as h:
            lst = f"/listeners/127.0.0.1:{h.port}/toxics"
            s = socket.create_connection(("127.0.0.1", h.port), timeout=10)
            s.sendall(REQUEST)
            t0 = time.monotonic()
            rf.read_confirm(s)
            self.assertLess(time.monotonic() - t0, 0.5)  # no condition yet
            # Added while the connection is live: its next bytes are late.
            st, body = send(h, "POST", lst, {"name": "lag", "type": "latency",
                                             "attributes": {"latency": 700}})
            self.assertEqual((st, body["live_connections"]), (201, 1))
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            t0 = time.monotonic()
            tls = ctx.wrap_socket(s)
            self.assertGreaterEqual(time.monotonic() - t0, 0.7)
            # A second one stacks after it on the same live chain (added once
            # the server's side of the handshake is done too).
            h.wait_for(lambda ev: any(e.get("phase") == "tls-finished" for e in ev),
                       what="the server's TLS handshake")
            st, body = send(h, "POST", lst, {"name": "more", "type": "latency",
                                             "attributes": {"latency": 500}})
            self.assertEqual((st, body["live_connections"]), (201, 1))
            tls.sendall(b"\x03\x00\x00\x08\x02\xf0\x80\x00")  # a TPKT: FreeRDP ends the peer
            t0 = time.monotonic()
            tls.settimeout(10)
            try:
                tls.recv(10)
            except (OSError, ssl.SSLError):
                pass
            self.assertGreaterEqual(time.monotonic() - t0, 1.2)  # 700 + 500 ms on the way back
            tls.close()
            ev = h.matching(lambda e: e["event"] == "network" and e.get("added_live"), 2)
            self.assertEqual([(e["name"], e["applied"], e["origin"], e["phase"]) for e in ev],
                             [("lag", True, "api", "x224-confirm"),
                              ("more", True, "api", "tls-finished")])
            added = h.matching(lambda e: e["event"] == "toxic" and e["action"] == "added", 2)
            self.assertEqual([e["live_connections"] for e in added], [1, 1])
            for e in h.events():
                self.assertEqual(rf.schema_errors(e, "events"), [], e)

    def test_listeners_created_populated_removed(self):
        with ApiHarness(timeout_ms=20000) as h:
            st, body = send(h, "POST", "/listeners", {"name": "extra", "listen": "127.0.0.1:0",
                                                      "scenario": "neg-inconsistent-flags"})
            self.assertEqual(st, 201, body)
            self.assertEqual((body["kind"], body["name"], body["scenario"], body["enabled"]),
                             ("api", "extra", "neg-inconsistent-flags", True))
            port = body["port"]
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(REQUEST)
            self.assertEqual(rf.read_confirm(s)[11], 3)  # its scenario's RDP_NEG_FAILURE
            s.close()
            st, err = send(h, "POST", "/listeners", {"listen": f"127.0.0.1:{port}"})
            self.assertEqual((st, err["field"]), (409, "listen"))  # the port is taken
            for body, status, field in (({"listen": "0.0.0.0:0"}, 400, "listen"),
                                        ({"listen": "127.0.0.1:99999"}, 400, "listen"),
                                        ({"scenario": "healthy-tls"}, 400, "listen"),
                                        ({"listen": "127.0.0.1:0", "scenario": "x"}, 404,
                                         "scenario"),
                                        ({"listen": "127.0.0.1:0", "upstream": "x"}, 400,
                                         "upstream")):
                st, err = send(h, "POST", "/listeners", body)
                self.assertEqual((st, err["field"]), (status, field), body)
            free = rf.free_ports(2)
            st, body = send(h, "POST", "/populate", [
                {"listen": f"127.0.0.1:{port}", "scenario": "healthy-tls"},  # updated
                {"listen": f"127.0.0.1:{free[0]}", "scenario": "slow-vpn"},   # opened
            ])
            self.assertEqual(st, 200, body)
            self.assertEqual([(b["port"], b["scenario"]) for b in body],
                             [(port, "healthy-tls"), (free[0], "slow-vpn")])
            # A bad item anywhere: nothing applied.
            st, err = send(h, "POST", "/populate", [
                {"listen": f"127.0.0.1:{free[1]}"}, {"listen": "nowhere"}])
            self.assertEqual((st, err["field"]), (400, "listen"))
            names = [l["address"] for l in send(h, "GET", "/listeners")[1]]
            self.assertNotIn(f"127.0.0.1:{free[1]}", names)
            self.assertEqual(send(h, "DELETE", f"/listeners/127.0.0.1:{port}")[0], 204)
            with self.assertRaises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", port), timeout=5)
            self.assertEqual(send(h, "GET", f"/listeners/127.0.0.1:{port}")[0], 404)
            self.assertEqual(send(h, "POST", "/reset")[0], 200)  # the API's listeners go
            self.assertEqual([l["address"] for l in send(h, "GET", "/listeners")[1]],
                             [f"127.0.0.1:{h.port}"])
            for e in h.events():
                self.assertEqual(rf.schema_errors(e, "events"), [], e)

    def test_errors(self):
        with ApiHarness(timeout_ms=20000) as h:
            lst = f"/listeners/127.0.0.1:{h.port}/toxics"
            cases = [
                (b"{not json", 400, ""),
                (b'{"type": "latency", "type": "loss"}', 400, ""),
                ({"type": "lag"}, 400, "type"),
                ({"name": "x"}, 400, "type"),
                ({"type": "latency", "colour": 1}, 400, ""),
                ({"type": "latency", "stream": "sideways"}, 400, "stream"),
                ({"type": "latency", "toxicity": 2}, 400, "toxicity"),
                ({"type": "latency", "attributes": {"latency": -1}}, 400, "attributes"),
                ({"type": "latency", "attributes": {"rate": 1}}, 400, "attributes"),
                ({"type": "latency", "attributes": {"latency": "300"}}, 400, "attributes"),
                ({"type": "latency", "trigger": {"from_phase": "tls"}}, 400, "trigger"),
                ({"type": "latency", "name": "Bad Name"}, 400, "name"),
            ]
            for body, status, field in cases:
                st, err = send(h, "POST", lst, body)
                self.assertEqual((st, err.get("field")), (status, field), body)
                self.assertTrue(err["error"])
            self.assertEqual(send(h, "GET", lst)[1], [])  # nothing half-applied
            self.assertEqual(send(h, "POST", lst, {"type": "blackhole"})[0], 201)
            st, err = send(h, "POST", lst, {"type": "blackhole"})
            self.assertEqual((st, err["field"]), (409, "name"))
            st, err = send(h, "POST", lst + "/blackhole", {"type": "latency"})
            self.assertEqual((st, err["field"]), (400, "type"))
            st, err = send(h, "GET", lst + "/nope")
            self.assertEqual((st, err["field"]), (404, "toxic"))
            st, err = send(h, "GET", "/listeners/127.0.0.1:1/toxics")
            self.assertEqual((st, err["field"]), (404, "listener"))
            st, err = send(h, "DELETE", lst)
            self.assertEqual(st, 405)
            # The harness serves on.
            s = socket.create_connection(("127.0.0.1", h.port), timeout=10)
            s.close()


class PythonClientAndCtl(unittest.TestCase):
    """The same endpoints through client-tests/rdpfault_api.py and `rdpfault ctl`."""

    @classmethod
    def setUpClass(cls):
        cls.h = ApiHarness(timeout_ms=20000)
        cls.h.start()
        cls.api = Client(cls.h.api)

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()
        cls.h.cleanup()

    def ctl(self, *args):
        p = subprocess.run([rf.rdpfault_binary(), "ctl", "--api", self.h.api, *args],
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout, p.stderr

    def test_client_waits_for_a_phase_and_cuts(self):
        mark = self.api.events_next()
        s = socket.create_connection(("127.0.0.1", self.h.port), timeout=10)
        s.sendall(REQUEST)
        e = self.api.wait_for(lambda e: e.get("phase") == "x224-confirm", since=mark, timeout=10)
        self.assertGreater(e["seq"], mark)
        ids = [c["id"] for c in self.api.connections() if c["id"] == e["conn"]]
        self.assertEqual(ids, [e["conn"]])
        self.assertEqual(self.api.cut(e["conn"], mode="close")["cut"], "close")
        rf.read_confirm(s)
        s.settimeout(5)
        self.assertEqual(s.recv(100), b"")  # the FIN
        s.close()
        with self.assertRaises(ApiError) as cm:
            self.api.scenario("no-such")
        self.assertEqual((cm.exception.status, cm.exception.field), (404, "name"))
        with self.assertRaises(ApiError) as cm:
            Client("127.0.0.1:1", timeout=2).version()
        self.assertEqual(cm.exception.status, 0)

    def test_ctl(self):
        rc, out, _ = self.ctl("version")
        self.assertEqual(rc, 0)
        self.assertRegex(out, r"^rdpfault \d+\.\d+\.\d+\n$")
        rc, out, _ = self.ctl("--json", "list")
        self.assertEqual(rc, 0)
        self.assertIn("slow-vpn", [s["name"] for s in json.loads(out)])
        rc, out, _ = self.ctl("list")
        self.assertTrue(out.startswith("NAME"))
        rc, out, _ = self.ctl("listeners")
        self.assertIn(f"127.0.0.1:{self.h.port}", out)
        s = socket.create_connection(("127.0.0.1", self.h.port), timeout=10)
        s.sendall(REQUEST)
        rf.read_confirm(s)
        rc, out, _ = self.ctl("--json", "conns")
        mine = [c for c in json.loads(out)
                if c["client"].endswith(f":{s.getsockname()[1]}")]
        self.assertEqual(len(mine), 1)
        rc, out, _ = self.ctl("cut", str(mine[0]["id"]))
        self.assertEqual((rc, out), (0, f"connection {mine[0]['id']}: reset\n"))
        s.close()
        rc, _, err = self.ctl("cut", str(mine[0]["id"]))
        self.assertEqual(rc, 4)
        self.assertIn("no live relayed connection", err)
        rc, out, _ = self.ctl("events", "--since", "0")
        lines = [json.loads(x) for x in out.splitlines()]
        self.assertEqual(lines[0]["event"], "start")
        self.assertEqual([e["seq"] for e in lines], list(range(1, len(lines) + 1)))
        t0 = time.monotonic()
        rc, out, _ = self.ctl("events", "--since", str(lines[-1]["seq"]), "--follow", "--for",
                              "1")
        self.assertEqual(rc, 0)
        self.assertGreaterEqual(time.monotonic() - t0, 0.9)
        rc, out, _ = self.ctl("metrics")
        self.assertIn("rdpfault_connections_total ", out)
        rc, _, err = self.ctl("show", "no-such")
        self.assertEqual(rc, 4)
        rc, _, err = self.ctl("frobnicate")
        self.assertEqual(rc, 2)
        addr = f"127.0.0.1:{self.h.port}"
        rc, out, err = self.ctl("toxic", "add", addr, "latency:both:latency=120,name=lag")
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["stream"], "both")
        rc, out, _ = self.ctl("toxic", "update", addr, "lag", "latency=240,toxicity=0.5")
        self.assertEqual((json.loads(out)["attributes"]["latency"], json.loads(out)["toxicity"]),
                         (240, 0.5))
        rc, out, _ = self.ctl("toxics", addr)
        self.assertEqual([t["name"] for t in json.loads(out)], ["lag"])
        rc, _, err = self.ctl("toxic", "add", addr, "latency:both:latency=-3")
        self.assertEqual(rc, 5)
        self.assertIn("out of range", err)
        rc, _, err = self.ctl("toxic", "add", addr, "latency:both:oops")
        self.assertEqual(rc, 2)
        rc, out, _ = self.ctl("toxic", "remove", addr, "lag")
        self.assertEqual((rc, out), (0, "removed lag\n"))
        rc, out, _ = self.ctl("listener", addr, "--disable")
        self.assertFalse(json.loads(out)["enabled"])
        rc, out, _ = self.ctl("reset")
        self.assertEqual((rc, out), (0, "reset\n"))
        self.assertTrue(self.api.listener(addr)["enabled"])
        p = subprocess.run([rf.rdpfault_binary(), "ctl", "--api", "127.0.0.1:1", "version"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot reach", p.stderr)


    def test_listeners_and_schedules_from_client_and_ctl(self):
        # Python client: open, schedule (fail once, then healthy), populate, remove.
        body = self.api.create_listener("127.0.0.1:0", scenario="neg-inconsistent-flags",
                                        name="py")
        addr = body["address"]
        port = int(addr.rsplit(":", 1)[1])
        body = self.api.update_listener(addr, schedule="reset-at-x224-request*1,healthy-tls",
                                        match_client="127.0.0.4")
        self.assertEqual(body["schedule"]["steps"],
                         [{"scenario": "reset-at-x224-request", "count": 1},
                          {"scenario": "healthy-tls"}])
        self.assertEqual(attempt(port, "127.0.0.4"), "reset")
        self.assertEqual(attempt(port, "127.0.0.4"), "confirm")
        self.assertEqual(attempt(port), "failure")  # not matched: the listener's scenario
        self.assertIsNone(self.api.update_listener(addr, schedule=None)["schedule"])
        rows = self.api.populate([{"listen": addr, "scenario": "healthy-tls"},
                                  {"listen": "127.0.0.1:0", "name": "py2"}])
        self.assertEqual([r["scenario"] for r in rows], ["healthy-tls", "healthy-tls"])
        with self.assertRaises(ApiError) as cm:
            self.api.update_listener(addr, schedule="no-such*2,healthy-tls")
        self.assertEqual((cm.exception.status, cm.exception.field), (404, "schedule"))
        for r in rows:
            self.api.remove_listener(r["address"])
        self.assertNotIn(addr, [x["address"] for x in self.api.listeners()])
        with self.assertRaises(ValueError):
            parse_schedule("healthy-tls*x")
        # ctl: the same from the shell.
        rc, out, err = self.ctl("listener", "add", "127.0.0.1:0", "--scenario", "healthy-tls",
                                "--name", "sh")
        self.assertEqual(rc, 0, err)
        addr = json.loads(out)["address"]
        port = int(addr.rsplit(":", 1)[1])
        rc, out, err = self.ctl("listener", addr, "--schedule",
                                "reset-at-x224-request*2,healthy-tls")
        self.assertEqual(rc, 0, err)
        self.assertEqual([attempt(port) for _ in range(3)], ["reset", "reset", "confirm"])
        rc, out, _ = self.ctl("listener", "show", addr)
        self.assertEqual(json.loads(out)["schedule"]["steps"][0]["count"], 2)
        rc, out, _ = self.ctl("listener", "update", addr, "--no-schedule")
        self.assertIsNone(json.loads(out)["schedule"])
        rc, _, err = self.ctl("listener", addr, "--schedule", "healthy-tls*")
        self.assertEqual(rc, 2)
        self.assertIn("expected NAME*COUNT", err)
        rc, _, err = self.ctl("listener", addr, "--schedule", "nope*1,healthy-tls")
        self.assertEqual(rc, 4)
        rc, out, _ = self.ctl("listener", "remove", addr)
        self.assertEqual((rc, out), (0, f"removed {addr}\n"))
        rc, _, err = self.ctl("listener", "remove", addr)
        self.assertEqual(rc, 4, err)


def attempt(port, source="127.0.0.1"):
    """'reset', 'failure' (an RDP_NEG_FAILURE) or 'confirm' for one raw connection."""
    s = socket.socket()
    s.bind((source, 0))
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    s.sendall(REQUEST)
    try:
        cc = rf.read_confirm(s)
        return "failure" if cc[11] == 3 else "confirm"
    except ConnectionResetError:
        return "reset"
    finally:
        s.close()


class ApiOptions(unittest.TestCase):
    def test_busy_or_bad_api_address(self):
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        listen = rf.free_ports(1)[0]
        p = subprocess.run([rf.rdpfault_binary(), "serve", "--listen", f"127.0.0.1:{listen}",
                            "--api", f"127.0.0.1:{port}", "--events", os.devnull],
                           capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        busy.close()
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(f"--api 127.0.0.1:{port}: cannot listen", p.stderr)
        for bad, why in (("0.0.0.0:8390", "non-loopback address needs a token"),
                         ("nonsense", "expected ADDR:PORT or off"),
                         ("127.0.0.1:99999", "expected ADDR:PORT or off")):
            p = subprocess.run([rf.rdpfault_binary(), "serve", "--api", bad], capture_output=True,
                               text=True, timeout=30, stdin=subprocess.DEVNULL)
            self.assertEqual(p.returncode, 2, bad)
            self.assertIn(why, p.stderr, bad)

    def test_token(self):
        token = "s3cret-token-of-rdpfault"
        with tempfile.NamedTemporaryFile("w", suffix=".token") as f:
            f.write(token + "\n")
            f.flush()
            for args in (["--api", "127.0.0.1:0", "--api-token-file", f.name],
                         # Any other address needs one; the test reaches it over loopback.
                         ["--api", "0.0.0.0:0", "--api-token", token]):
                with rf.Harness(extra_args=args, port_base=False) as h:
                    start = next(e for e in h.events() if e["event"] == "start")
                    port = int(start["api"].rsplit(":", 1)[1])
                    api = f"127.0.0.1:{port}"
                    for header in (None, "Bearer wrong-token-but-long", f"Basic {token}",
                                   f"Bearer {token}x"):
                        req = urllib.request.Request(f"http://{api}/version")
                        if header:
                            req.add_header("Authorization", header)
                        with self.assertRaises(urllib.error.HTTPError) as cm:
                            urllib.request.urlopen(req, timeout=10)
                        self.assertEqual(cm.exception.code, 401, header)
                        self.assertEqual(cm.exception.headers["WWW-Authenticate"],
                                         'Bearer realm="rdpfault"')
                        body = json.loads(cm.exception.read())
                        self.assertEqual(body["field"], "Authorization")
                    self.assertIn("version", Client(api, token=token).version())
                    with self.assertRaises(ApiError) as cm:
                        Client(api).listeners()
                    self.assertEqual(cm.exception.status, 401)
                    p = subprocess.run([rf.rdpfault_binary(), "ctl", "--api", api, "version"],
                                       capture_output=True, text=True, timeout=30,
                                       env=dict(os.environ, RDPFAULT_API_TOKEN=token))
                    self.assertEqual(p.returncode, 0, p.stderr)
                    p = subprocess.run([rf.rdpfault_binary(), "ctl", "--api", api, "version"],
                                       capture_output=True, text=True, timeout=30)
                    self.assertEqual(p.returncode, 5)
                    self.assertIn("takes a token", p.stderr)
        for args, why in ((["--api", "0.0.0.0:8390"], "a non-loopback address needs a token"),
                          (["--api-token", "short"], "a token is 16-256 characters"),
                          (["--api-token", "has space in it, long"], "visible ASCII only"),
                          (["--api-token-file", "/nonexistent/t"], "No such file")):
            p = subprocess.run([rf.rdpfault_binary(), "serve", *args], capture_output=True,
                               text=True, timeout=30, stdin=subprocess.DEVNULL)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn(why, p.stderr, args)

    def test_api_off(self):
        with rf.Harness(extra_args=["--api", "off"], port_base=False) as h:
            start = next(e for e in h.events() if e["event"] == "start")
            self.assertIsNone(start["api"])


if __name__ == "__main__":
    unittest.main()

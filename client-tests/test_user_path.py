"""User-path test, through the real binary: from a customer's error code
(find) to a scenario a client selects the way mstsc can (a 9-character
cookie, an alias, a port of its own, an .rdp file); ports the kernel
chooses, reported; SIGHUP leaving nothing behind; --set problems blamed on
the argument; list by glob and tag; the event log valid against
docs/events.schema.json.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfharness as rf  # noqa: E402

THE_FOUR = ["denied-after-active", "denied-at-licensing", "server-busy", "udp-fallback-denied"]


def run(*args, timeout=30, cwd=None):
    p = subprocess.run([rf.rdpfault_binary(), *args], capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL, cwd=cwd)
    return p.returncode, p.stdout, p.stderr


def request(port, cookie):
    """Sends a Connection Request with this cookie; returns the reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(rf.x224_request(cookie))
        return rf.read_confirm(s)


def wait_file(path, proc, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            return
        if proc.poll() is not None:
            raise AssertionError(f"the harness exited {proc.returncode}: "
                                 f"{proc.stderr.read()}")
        time.sleep(0.05)
    raise AssertionError(f"{path} never appeared")


def read_events(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


class Selection(unittest.TestCase):
    """What mstsc's cookie selects: the unique name its 9 characters begin,
    an alias; what it cannot select is said in the event and on stderr."""

    @classmethod
    def setUpClass(cls):
        cls.h = rf.Harness()
        cls.h.start()

    @classmethod
    def tearDownClass(cls):
        cls.h.stop()
        cls.h.cleanup()

    def selection(self, cookie):
        before = {e["conn"] for e in self.h.events() if e["event"] == "scenario"}
        self.assertTrue(request(self.h.port, cookie), f"no Connection Confirm for {cookie}")
        ev = self.h.wait_for(lambda evs: [e for e in evs if e["event"] == "scenario"
                                          and e["conn"] not in before],
                             what=f"the scenario event for cookie {cookie}")
        return ev[0]

    def test_mstsc_nine_characters_select_the_name_they_begin(self):
        # mstsc /u:denied-after-active sends "denied-af".
        e = self.selection("denied-af")
        self.assertEqual((e["scenario"], e["selected_by"]), ("denied-after-active", "cookie-prefix"))
        self.assertNotIn("cookie_unmatched", e)

    def test_alias_and_whole_name(self):
        e = self.selection("deny-actv")
        self.assertEqual((e["scenario"], e["selected_by"]), ("denied-after-active", "alias"))
        e = self.selection("CORP\\Denied-After-Active")
        self.assertEqual((e["scenario"], e["selected_by"]), ("denied-after-active", "cookie"))

    def test_unmatched_and_ambiguous_cookies_are_said(self):
        e = self.selection("nosuchone")
        self.assertEqual((e["scenario"], e["selected_by"]), ("healthy-tls", "listener"))
        self.assertEqual(e["cookie_unmatched"], "nosuchone")
        e = self.selection("close-at-")
        self.assertEqual(e["selected_by"], "listener")
        self.assertEqual(e["cookie_unmatched"], "close-at-")
        self.assertTrue(e["cookie_candidates"])
        self.assertTrue(all(n.startswith("close-at-") for n in e["cookie_candidates"]))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            err = self.h.stderr_text()
            if "begins" in err and "names no scenario" in err:
                break
            time.sleep(0.1)
        self.assertIn('cookie "nosuchone" names no scenario', err)
        self.assertIn('cookie "close-at-" begins', err)


class Find(unittest.TestCase):
    def test_0x904_0x7_finds_the_four(self):
        rc, out, _ = run("find", "0x904", "0x7")
        self.assertEqual(rc, 0)
        self.assertIn("4 scenarios expect it", out)
        firsts = [ln.strip().split()[0] for ln in out.split("Related:")[0].splitlines()
                  if ln.startswith("  ") and not ln.startswith("    ")]
        self.assertEqual(sorted(firsts), THE_FOUR)
        rc, out, _ = run("find", "0x904", "ERRINFO_SERVER_DENIED_CONNECTION", "--json")
        self.assertEqual(rc, 0)
        d = json.loads(out)
        best = sorted(s["name"] for s in d["scenarios"] if s["score"] == 4)
        self.assertEqual(best, THE_FOUR)
        self.assertEqual(d["scenarios"][0]["score"], 4)

    def test_no_match_and_bad_code(self):
        rc, _, err = run("find", "0x12345")
        self.assertEqual(rc, 4)
        self.assertIn("rdpfault find: no scenario expects 0x12345", err)
        rc, _, err = run("find", "banana")
        self.assertEqual(rc, 2)
        self.assertIn("rdpfault find: ", err)


class Ports(unittest.TestCase):
    def test_port_zero_reported_in_ports_file_stdout_and_start(self):
        with tempfile.TemporaryDirectory() as d:
            ports, ready, events = (os.path.join(d, n) for n in ("ports.json", "ready", "ev"))
            p = subprocess.Popen([rf.rdpfault_binary(), "serve", "--listen", "127.0.0.1:0",
                                  "--port-base", "0", "--ports-file", ports,
                                  "--ready-file", ready, "--events", events],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 preexec_fn=rf._die_with_parent)
            try:
                wait_file(ready, p)
                with open(ports) as f:
                    doc = json.load(f)
                self.assertEqual(doc["pid"], p.pid)
                main = [ls for ls in doc["listeners"] if ls["kind"] == "listen"]
                self.assertEqual(len(main), 1)
                self.assertTrue(main[0]["port_chosen"])
                self.assertGreater(main[0]["port"], 0)
                by = doc["scenarios"]
                self.assertEqual(by["denied-after-active"]["alias"], "deny-actv")
                port = by["denied-after-active"]["port"]
                self.assertGreater(port, 0)
                self.assertEqual(len({s["port"] for s in by.values()}), len(by))
                # The scenario's own port selects it with no cookie at all.
                self.assertTrue(request(port, None))
                rc_ok = False
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline and not rc_ok:
                    rc_ok = any(e["event"] == "scenario" and
                                e["scenario"] == "denied-after-active"
                                for e in read_events(events))
                    time.sleep(0.05)
                self.assertTrue(rc_ok)
            finally:
                p.send_signal(signal.SIGTERM)
                out, err = p.communicate(timeout=10)
            self.assertEqual(p.returncode, 0, err)
            self.assertIn(f"listening 127.0.0.1:{main[0]['port']} healthy-tls\n", out)
            self.assertIn(f"listening 127.0.0.1:{port} denied-after-active\n", out)
            start = read_events(events)[0]
            self.assertEqual(start["event"], "start")
            self.assertEqual(start["schema_version"], 2)
            self.assertIn({"address": f"127.0.0.1:{port}", "host": "127.0.0.1", "port": port,
                           "kind": "port-base", "scenario": "denied-after-active",
                           "port_chosen": True}, start["listeners"])
            self.assertFalse(os.path.exists(ports) or os.path.exists(ready))

    def test_port_base_validated_alike_in_list_and_serve(self):
        for cmd in ("list", "serve"):
            rc, _, err = run(cmd, "--port-base", "65500")
            self.assertEqual(rc, 2, (cmd, err))
            self.assertIn(f"rdpfault {cmd}: --port-base 65500: the catalog's port offsets", err)


class Signals(unittest.TestCase):
    def test_sighup_stops_cleanly_and_removes_what_it_made(self):
        with tempfile.TemporaryDirectory() as d:
            ports, ready, events = (os.path.join(d, n) for n in ("ports.json", "ready", "ev"))
            port = rf.free_ports(1)[0]
            p = subprocess.Popen([rf.rdpfault_binary(), "serve", "--listen", f"127.0.0.1:{port}",
                                  "--ports-file", ports, "--ready-file", ready,
                                  "--events", events],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                 preexec_fn=rf._die_with_parent)
            wait_file(ready, p)
            runtime = read_events(events)[0]["runtime_dir"]
            self.assertTrue(os.listdir(runtime), "no keys made")
            held = socket.create_connection(("127.0.0.1", port), timeout=5)
            held.sendall(rf.x224_request("stall-at-tls"))
            self.assertTrue(rf.read_confirm(held))
            p.send_signal(signal.SIGHUP)
            _, err = p.communicate(timeout=10)
            held.close()
            self.assertEqual(p.returncode, 0, err)
            self.assertIn("SIGHUP: stopping", err)
            self.assertFalse(os.path.exists(ready), "the ready file is left")
            self.assertFalse(os.path.exists(ports), "the ports file is left")
            self.assertFalse(os.path.exists(runtime), "the keys are left")
            ev = read_events(events)
            self.assertEqual(ev[-1]["event"], "stop")
            self.assertEqual(ev[-1]["stopped_by"], "SIGHUP")
            accepts = [e["conn"] for e in ev if e["event"] == "accept"]
            closes = [e["conn"] for e in ev if e["event"] == "close"]
            self.assertEqual(accepts, closes)
            self.assertEqual(schema_problems(ev), [])


def schema_problems(events):
    out = []
    for i, e in enumerate(events):
        out += [f"line {i + 1} ({e.get('event')}): {p}" for p in rf.schema_errors(e, "events")]
    return out


class SetAndList(unittest.TestCase):
    def test_set_problems_blame_the_argument_and_exit_2(self):
        for cmd in (("list",), ("show", "healthy-tls"),
                    ("serve", "--listen", f"127.0.0.1:{rf.free_ports(1)[0]}")):
            rc, _, err = run(*cmd, "--set", "healthy-tls.security.tls_max=1.4")
            self.assertEqual(rc, 2, (cmd, err))
            self.assertIn(f"--set healthy-tls.security.tls_max=1.4: security.tls_max: unknown TLS "
                          "version", err)
            self.assertNotIn(".yaml:", err)
        rc, _, err = run("list", "--set", "nope.security.tls_max=1.3")
        self.assertEqual(rc, 2)
        self.assertIn("--set nope.security.tls_max=1.3: no scenario named nope", err)

    def test_set_takes_a_flow_list(self):
        rc, out, err = run("show", "healthy-tls", "--json", "--set",
                           "healthy-tls.security.protocols=[tls, rdp]")
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(json.loads(out)["security"]["protocols"].split(",")),
                         ["rdp", "tls"])
        # A real certificate carries both names.
        with tempfile.TemporaryDirectory() as d:
            rc, out, err = run("cert", "export", "--out", os.path.join(d, "o"), "--set",
                               "cert-self-signed.certificate.san_dns=[a.example, b.example]")
            self.assertEqual(rc, 0, err)
            crt = [ln for ln in out.splitlines() if ln.endswith("/cert-self-signed.crt")]
            self.assertEqual(len(crt), 1, out)
            p = subprocess.run(["openssl", "x509", "-in", crt[0], "-noout", "-ext",
                                "subjectAltName"], capture_output=True, text=True)
        self.assertIn("DNS:a.example, DNS:b.example", p.stdout)

    def test_list_glob_tag_and_json(self):
        rc, out, _ = run("list", "denied-*")
        self.assertEqual(rc, 0)
        names = [ln.split()[0] for ln in out.splitlines()[1:] if ln.strip()]
        self.assertEqual(names, ["denied-after-active", "denied-at-licensing"])
        rc, out, _ = run("list", "--tag", "deny", "--json")
        self.assertEqual(rc, 0)
        items = json.loads(out)
        self.assertTrue(items)
        self.assertTrue(all("deny" in s["tags"] for s in items))
        d = {s["name"]: s for s in json.loads(run("list", "--json")[1])}
        self.assertEqual(d["denied-after-active"]["codes"],
                         [{"client": "mstsc", "code": "0x904", "extended": "0x7"}])
        self.assertIn("0x904", d["denied-after-active"]["field_report"])
        self.assertEqual(d["close-at-active"]["template"], "close-at")
        rc, _, err = run("list", "no-such-*")
        self.assertEqual(rc, 4)
        self.assertIn("rdpfault list: no scenario matches", err)

    def test_rdp_file(self):
        rc, out, _ = run("rdp-file", "deny-actv", "--port-base", "20000")
        self.assertEqual(rc, 0)
        rc, listing, _ = run("list", "--json", "denied-after-active")
        offset = json.loads(listing)[0]["port_offset"]
        with tempfile.TemporaryDirectory() as d:
            rc, out, err = run("rdp-file", "--all", "--out", d, "--port-base", "20000")
            self.assertEqual(rc, 0, err)
            with open(os.path.join(d, "denied-after-active.rdp"), encoding="utf-8-sig") as f:
                text = f.read()
            n = len([f for f in os.listdir(d) if f.endswith(".rdp")])
            self.assertIn(f"{n} files in {d}", out)
        self.assertIn(f"full address:s:127.0.0.1:{20000 + offset}", text)
        self.assertIn("username:s:deny-actv", text)
        rc, _, err = run("rdp-file", "no-such")
        self.assertEqual(rc, 4)


class EventSchema(unittest.TestCase):
    def test_a_real_log_validates_and_a_broken_line_does_not(self):
        with rf.Harness() as h:
            for cookie in ("denied-af", "reset-at-x224-confirm", "nosuchone"):
                with socket.create_connection(("127.0.0.1", h.port), timeout=5) as s:
                    s.sendall(rf.x224_request(cookie))
                    rf.read_confirm(s)
                    # Quiet, as a client waiting for the server: the reset
                    # strikes; then the server's end of the others.
                    try:
                        while s.recv(4096):
                            pass
                    except OSError:
                        pass
            with socket.create_connection(("127.0.0.1", h.port), timeout=5) as s:
                s.sendall(b"GET / HTTP/1.1\r\n\r\n")
                s.recv(10)
            h.wait_for(lambda ev: sum(e["event"] == "close" for e in ev) >= 4,
                       what="four closes")
            h.stop()
            ev = h.events()
        self.assertEqual(schema_problems(ev), [])
        kinds = {e["event"] for e in ev}
        self.assertTrue({"start", "accept", "request", "scenario", "fault", "bad-request",
                         "close", "stop"} <= kinds, kinds)
        bad = dict(ev[1], time="yesterday")
        self.assertTrue(rf.schema_errors(bad, "events"))
        bad = dict(ev[0], schema_version=1)
        self.assertTrue(rf.schema_errors(bad, "events"))


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""Reliability: every client connection is accounted for, the harness
survives its environment failing, and what it says matches its docs.

- a real client whose source port equals a syn-drop phantom's is served
  and logged (network namespace with a two-port ephemeral range);
- the close reasons of clients that reset or close early, as documented,
  and every reason docs/events.md lists is one the harness can write;
- descriptor exhaustion (RLIMIT_NOFILE 256, held connections): one
  accept-error per burst, accepting paused and resumed, nothing crashes;
- an event sink that fails (/dev/full) or stalls (a FIFO nobody reads):
  connections are served on, the loss is counted and said, the stop is quick;
- a test-CA file that cannot be read: a runtime error naming it, exit 1;
- the exit codes the help promises, for bad values of every kind.
"""

import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import rfharness as rf  # noqa: E402


def cc_from(port, timeout=5):
    """Connects, sends a Connection Request, returns the Confirm's bytes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(rf.x224_request("someone"))
        return rf.read_confirm(s, timeout)
    finally:
        s.close()


def can_unshare():
    return os.geteuid() == 0 and subprocess.run(
        ["unshare", "-n", "true"], capture_output=True).returncode == 0


INNER_PHANTOM = textwrap.dedent(r"""
    import json, os, socket, subprocess, sys, time
    sys.path.insert(0, sys.argv[1])
    import rfharness as rf
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    # Two ephemeral ports: the syn-drop phantom takes one, so most client
    # connections get the phantom's source port (towards another listener).
    with open("/proc/sys/net/ipv4/ip_local_port_range", "w") as f:
        f.write("40000 40001")
    h = rf.Harness()
    h.start()
    port = h.scenario_port(24)  # neg-inconsistent-flags: answers, then the server closes first
    answered = 0
    for i in range(20):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(rf.x224_request("someone"))
        got = b""
        try:
            while True:  # to the server's FIN: it closes first, so no TIME_WAIT here
                b = s.recv(4096)
                if not b:
                    break
                got += b
        except OSError:
            pass
        answered += len(got) >= 11
        s.close()
    h.stop()
    ev = h.events()
    acc = [e for e in ev if e["event"] == "accept" and e["listener"].endswith(f":{port}")]
    closed = {e["conn"] for e in ev if e["event"] == "close"}
    print(json.dumps({"answered": answered, "accepts": len(acc),
                      "closed": sum(e["conn"] in closed for e in acc),
                      "client_ports": sorted({e["client"].rsplit(":", 1)[1] for e in acc})}))
    h.cleanup()
""")


class Reliability(unittest.TestCase):
    @unittest.skipUnless(can_unshare(), "needs root and network namespaces")
    def test_client_with_a_phantoms_source_port_is_served_and_logged(self):
        p = subprocess.run(["unshare", "-n", sys.executable, "-c", INNER_PHANTOM, HERE],
                           capture_output=True, text=True, timeout=120,
                           env=dict(os.environ))
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        r = json.loads(p.stdout.strip().splitlines()[-1])
        self.assertEqual(r["answered"], 20, r)
        self.assertEqual(r["accepts"], 20, r)
        self.assertEqual(r["closed"], 20, r)
        self.assertTrue(set(r["client_ports"]) <= {"40000", "40001"}, r)

    def test_close_reasons_are_the_documented_ones(self):
        with rf.Harness(timeout_ms=1500) as h:
            def conn_after(action):
                before = max((e["conn"] for e in h.events() if e["event"] == "accept"),
                             default=0)
                action()
                h.wait_for(lambda ev: any(e["event"] == "close" and e["conn"] > before
                                          for e in ev), what="close")
                return [e for e in h.events() if e["event"] == "close" and e["conn"] > before][0]

            def reset(partial):
                s = socket.create_connection(("127.0.0.1", h.port), timeout=5)
                if partial:
                    s.sendall(rf.x224_request("someone")[:6])
                    time.sleep(0.1)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
                s.close()

            def fin(partial):
                s = socket.create_connection(("127.0.0.1", h.port), timeout=5)
                if partial:
                    s.sendall(rf.x224_request("someone")[:6])
                    time.sleep(0.1)
                s.close()

            def silent():
                s = socket.create_connection(("127.0.0.1", h.port), timeout=5)
                time.sleep(2.5)  # past the 1.5 s request deadline
                s.close()

            def garbage():
                s = socket.create_connection(("127.0.0.1", h.port), timeout=5)
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                time.sleep(0.2)
                s.close()

            seen = {
                "reset right after connect": conn_after(lambda: reset(False))["reason"],
                "reset mid-request": conn_after(lambda: reset(True))["reason"],
                "FIN mid-request": conn_after(lambda: fin(True))["reason"],
                "FIN before any byte": conn_after(lambda: fin(False))["reason"],
                "silent": conn_after(silent)["reason"],
                "garbage": conn_after(garbage)["reason"],
            }
        self.assertEqual(seen, {
            "reset right after connect": "client-reset",
            "reset mid-request": "client-reset",
            "FIN mid-request": "client-closed-before-request",
            "FIN before any byte": "client-closed-before-request",
            "silent": "request-timeout",
            "garbage": "bad-request: tpkt-version",
        })
        with open(os.path.join(rf.ROOT, "docs", "events.md")) as f:
            doc = f.read()
        para = doc[doc.index("`close` reasons:"):]
        para = para[:para.index("\n\n")]
        documented = set(re.findall(r"`([a-z][a-z-]*(?:: [A-Za-z-]+)?)`", para))
        for r in seen.values():
            self.assertIn(r.split(":")[0] if r.startswith("bad-request") else r,
                          {d.split(":")[0] for d in documented}, r)
        # Every documented reason is one the binary can write.
        binary = open(rf.rdpfault_binary(), "rb").read()
        for d in documented:
            word = d.split(":")[0]
            self.assertIn(word.encode(), binary, f"docs/events.md documents '{d}', "
                                                 "which the harness never writes")

    def test_descriptor_exhaustion_pauses_and_resumes(self):
        h = rf.Harness()

        def low_limit():
            rf._die_with_parent()
            resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

        h._choose_ports()
        h.stderr = open(h.stderr_path, "w")
        h.proc = subprocess.Popen(h.args, stdout=subprocess.DEVNULL, stderr=h.stderr,
                                  stdin=subprocess.DEVNULL, preexec_fn=low_limit)
        try:
            # Its certificates made first: the maker writes files, and
            # would take a descriptor of its own in the middle of the
            # exhaustion this test makes.
            h.wait_for(lambda ev: any(e["event"] == "certificates" for e in ev),
                       what="certificates")
            held = []
            for _ in range(400):  # backlog-full-hold: each one holds a descriptor
                try:
                    held.append(socket.create_connection(
                        ("127.0.0.1", h.scenario_port(53)), timeout=2))
                except OSError:
                    break
            h.wait_for(lambda ev: any(e["event"] == "accept-error" for e in ev),
                       what="accept-error")
            time.sleep(3)  # the exhaustion goes on: probes fail, said nowhere
            errors = [e for e in h.events() if e["event"] == "accept-error"]
            self.assertEqual(len(errors), 1, errors[:5])
            self.assertEqual(errors[0]["action"], "paused")
            self.assertIn("Too many open files", errors[0]["error"])
            for s in held:
                s.close()
            h.wait_for(lambda ev: any(e["event"] == "accept-resumed" for e in ev), timeout=10,
                       what="accept-resumed")
            resumed = [e for e in h.events() if e["event"] == "accept-resumed"]
            self.assertEqual(len(resumed), 1, resumed)
            self.assertGreater(resumed[0]["errors"], 0)
            # Every held connection the harness accepted is closed and logged.
            h.wait_for(lambda ev: sum(e["event"] == "accept" for e in ev) ==
                       sum(e["event"] == "close" for e in ev), timeout=20,
                       what="a close for every accept")
            self.assertEqual(len(cc_from(h.port)), 19)  # serving again
        finally:
            rc, took = h.stop()
            h.cleanup()
        self.assertEqual(rc, 0)

    def test_event_sink_failing_or_stalled(self):
        # /dev/full: every write fails with ENOSPC.
        p = subprocess.Popen([rf.rdpfault_binary(), "serve", "--events", "/dev/full",
                              "--listen", f"127.0.0.1:{rf.free_ports(1)[0]}"],
                             stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                             preexec_fn=rf._die_with_parent)
        port = int(p.args[p.args.index("--listen") + 1].rsplit(":", 1)[1])
        deadline = time.monotonic() + 20
        cc = None
        while time.monotonic() < deadline and cc is None:
            try:
                cc = cc_from(port)
            except OSError:
                time.sleep(0.1)
        self.assertIsNotNone(cc, "no answer with the event log on /dev/full")
        for _ in range(20):
            self.assertEqual(len(cc_from(port)), 19)
        p.terminate()
        _, err = p.communicate(timeout=10)
        self.assertEqual(p.returncode, 0, err)
        self.assertIn("event log: cannot write /dev/full: No space left on device", err)
        self.assertRegex(err, r"event log: \d+ line\(s\) were not written")

        # A FIFO nobody reads: the pipe fills, the harness serves on.
        with tempfile.TemporaryDirectory() as d:
            fifo = os.path.join(d, "events")
            os.mkfifo(fifo)
            rd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # open, never read
            port = rf.free_ports(1)[0]
            p = subprocess.Popen([rf.rdpfault_binary(), "serve", "--events", fifo,
                                  "--listen", f"127.0.0.1:{port}"],
                                 stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                                 preexec_fn=rf._die_with_parent)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    cc_from(port)
                    break
                except OSError:
                    time.sleep(0.1)
            t0 = time.monotonic()
            for _ in range(600):  # far more than a pipe's 64 KiB of lines
                self.assertEqual(len(cc_from(port)), 19)
            took = time.monotonic() - t0
            self.assertLess(took, 30, "serving slowed down behind a stalled event log")
            t0 = time.monotonic()
            p.terminate()
            _, err = p.communicate(timeout=10)
            os.close(rd)
            self.assertLess(time.monotonic() - t0, 3)
            self.assertEqual(p.returncode, 0, err)
            self.assertIn("the sink blocked", err)

    def test_unreadable_ca_file_is_a_runtime_error(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "rdpfault-ca.crt"), "w") as f:
                f.write("not a certificate\n")
            with open(os.path.join(d, "rdpfault-ca.key"), "w") as f:
                f.write("not a key\n")
            p = subprocess.run([rf.rdpfault_binary(), "serve", "--ca-dir", d, "--listen",
                                f"127.0.0.1:{rf.free_ports(1)[0]}"],
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("rdpfault-ca.crt and rdpfault-ca.key must both be there", p.stderr)

    def test_two_signals_and_a_listener_beyond_loopback(self):
        """A second SIGTERM during the stop ends it at once, the log still
        complete; a listener on 0.0.0.0 is warned about at start."""
        port = rf.free_ports(1)[0]
        with tempfile.TemporaryDirectory() as d:
            log = os.path.join(d, "events.jsonl")
            p = subprocess.Popen([rf.rdpfault_binary(), "serve", "--events", log, "--listen",
                                  f"0.0.0.0:{port}"], stderr=subprocess.PIPE,
                                 stdout=subprocess.DEVNULL, text=True,
                                 preexec_fn=rf._die_with_parent)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    held = [socket.create_connection(("127.0.0.1", port), timeout=2)
                            for _ in range(5)]
                    break
                except OSError:
                    time.sleep(0.1)
            for s_ in held:
                s_.sendall(rf.x224_request("someone"))
            time.sleep(0.5)
            t0 = time.monotonic()
            p.send_signal(signal.SIGTERM)
            p.send_signal(signal.SIGTERM)
            _, err = p.communicate(timeout=10)
            took = time.monotonic() - t0
            for s_ in held:
                s_.close()
            with open(log) as f:
                events = [json.loads(ln) for ln in f if ln.strip()]
        self.assertEqual(p.returncode, 0, err)
        self.assertLess(took, 1.0)
        self.assertIn(f"listening on 0.0.0.0:{port}, beyond loopback", err)
        self.assertIn("must never face an untrusted network", err)
        self.assertEqual(events[-1]["event"], "stop")
        accepts = {e["conn"] for e in events if e["event"] == "accept"}
        closes = [e["conn"] for e in events if e["event"] == "close"]
        self.assertEqual(len(accepts), 5)
        self.assertEqual(sorted(closes), sorted(accepts))

    def test_exit_codes_the_help_promises(self):
        b = rf.rdpfault_binary()
        port = rf.free_ports(1)[0]
        cases = [
            (["serve", "--listen", "1.2.3.4.5:21003"], 2, "--listen '1.2.3.4.5:21003'"),
            (["serve", "--listen", "localhost:21005"], 2, "numeric"),
            (["serve", "--listen", f"127.0.0.1:{port}", "--port-base", "65500"], 2,
             "--port-base 65500"),
            (["serve", "--port-host", "example.invalid", "--port-base", "20000"], 2,
             "--port-host"),
            (["serve", "--keepalive", "1,2"], 2, "--keepalive"),
            (["serve", "--listen", f"127.0.0.1:{port}", "--ready-file", "/nonexistent/x"], 1,
             "--ready-file /nonexistent/x"),
            (["serve", "--bogus"], 2, "rdpfault serve: option '--bogus' is unknown"),
            (["list", "--set", "nothing"], 2, "--set 'nothing'"),
            (["show", "no-such-scenario"], 4, "no scenario named"),
            (["nonsense"], 2, "nonsense"),
        ]
        for args, code, text in cases:
            t0 = time.monotonic()
            p = subprocess.run([b] + args, capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, code, (args, p.stderr))
            self.assertIn(text, p.stderr, args)
            self.assertLess(time.monotonic() - t0, 1.0, f"{args}: checked only after work")
        help_text = subprocess.run([b, "--help"], capture_output=True, text=True).stdout
        for code in ("0", "1", "2", "3", "4"):
            self.assertRegex(help_text, rf"\n  {code}  ")


if __name__ == "__main__":
    unittest.main(verbosity=2)

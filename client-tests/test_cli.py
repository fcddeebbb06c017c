"""Command-line test: every subcommand's help, the documented exit codes,
and a clear one-line error naming the bad flag, value or file for each kind
of bad input.
"""

import json
import os
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfharness as rf  # noqa: E402

BAD_DIR = os.path.join(rf.ROOT, "tests", "data", "scenarios-bad")


def run(*args, timeout=30):
    p = subprocess.run([rf.rdpfault_binary(), *args], capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


class Cli(unittest.TestCase):
    def test_version(self):
        rc, out, _ = run("--version")
        self.assertEqual(rc, 0)
        self.assertRegex(out, r"^rdpfault \d+\.\d+\.\d+\n$")

    def test_help_for_each_command(self):
        rc, out, _ = run("--help")
        self.assertEqual(rc, 0)
        for word in ["serve", "list", "show", "Exit codes"]:
            self.assertIn(word, out)
        for cmd, word in [("serve", "--listen"), ("list", "--json"), ("show", "NAME")]:
            rc, out, _ = run(cmd, "--help")
            self.assertEqual(rc, 0, cmd)
            self.assertIn(word, out)

    def test_usage_errors_exit_2_and_name_the_problem(self):
        cases = [
            ((), "Usage"),
            (("frobnicate",), "unknown command 'frobnicate'"),
            (("serve", "--listen", "nonsense"), "--listen 'nonsense'"),
            (("serve", "--listen", "127.0.0.1:99999"), "--listen '127.0.0.1:99999'"),
            (("serve", "--port-base", "70000"), "--port-base '70000'"),
            (("serve", "--handshake-timeout", "10ms"), "--handshake-timeout '10ms'"),
            (("serve", "--no-such-flag"), "option '--no-such-flag' is unknown"),
            (("serve", "extra"), "unexpected argument 'extra'"),
            (("show",), "which scenario"),
            (("list", "--port-base", "x"), "--port-base 'x'"),
            (("show", "a", "b"), "unexpected argument 'b'"),
            (("serve", "--network", "lag"), "--network 'lag': unknown type \"lag\""),
            (("serve", "--network", "latency:sideways"),
             "stream \"sideways\" is neither upstream, downstream nor both"),
            (("serve", "--network", "latency:latency=-1"),
             "--network 'latency:latency=-1': latency: -1 is out of range (0 to 600000 ms)"),
            (("serve", "--network", "blackhole:from_phase=tls"),
             "from_phase: unknown phase \"tls\""),
            (("serve", "--seed", "-1"), "--seed '-1'"),
            (("serve", "--set", "healthy-tls.network=[{type: latency, attributes: {rate: 1}}]"),
             "--set healthy-tls.network=[{type: latency, attributes: {rate: 1}}]: "
             "network[0].attributes.rate: latency has no attribute \"rate\""),
            (("list", "--set", "healthy-tls.faults=[{action: bogus}]"),
             "--set healthy-tls.faults=[{action: bogus}]: faults[0].action: unknown action"),
        ]
        for args, needle in cases:
            rc, _, err = run(*args)
            self.assertEqual(rc, 2, f"{args}: {err}")
            self.assertIn(needle, err, f"{args}")

    def test_unknown_scenario_in_listen_is_a_usage_error(self):
        port = rf.free_ports(1)[0]
        rc, _, err = run("serve", "--listen", f"127.0.0.1:{port}=no-such", "--events",
                         os.devnull)
        self.assertEqual(rc, 2)
        self.assertIn("no-such: no such scenario", err)

    def test_invalid_catalog_exits_3_with_file_and_line(self):
        port = rf.free_ports(1)[0]
        for args in (("serve", "--scenario-dir", BAD_DIR, "--listen", f"127.0.0.1:{port}"),
                     ("list", "--scenario-dir", BAD_DIR)):
            rc, _, err = run(*args)
            self.assertEqual(rc, 3, args)
            self.assertRegex(err, r"scenarios-bad/unknown-key\.yaml:\d+: ")
            self.assertIn("problems in the scenario catalog", err)

    def test_missing_catalog_dir(self):
        rc, _, err = run("list", "--scenario-dir", "/nonexistent/dir")
        self.assertEqual(rc, 3)
        self.assertIn("/nonexistent/dir", err)

    def test_port_in_use_exits_1(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        try:
            rc, _, err = run("serve", "--listen", f"127.0.0.1:{port}", "--events", os.devnull)
        finally:
            s.close()
        self.assertEqual(rc, 1)
        self.assertIn(f"cannot listen on 127.0.0.1:{port}", err)

    def test_list(self):
        rc, out, _ = run("list")
        self.assertEqual(rc, 0)
        for name in ["healthy-tls", "healthy-nla", "healthy-rdp"]:
            self.assertIn(name, out)
        rc, out, _ = run("list", "--json", "--port-base", "40000")
        self.assertEqual(rc, 0)
        items = {i["name"]: i for i in json.loads(out)}
        self.assertEqual(items["healthy-tls"]["port"], 40000 + items["healthy-tls"]["port_offset"])

    def test_show(self):
        rc, out, _ = run("show", "healthy-nla")
        self.assertEqual(rc, 0)
        for needle in ["Reproduces:", "Field report:", "Expected outcome per client:",
                       "xfreerdp", "mstsc", "nla", "healthy-nla / rdpfault-nla"]:
            self.assertIn(needle, out)
        rc, out, _ = run("show", "healthy-rdp", "--json")
        self.assertEqual(rc, 0)
        s = json.loads(out)
        self.assertEqual(s["security"]["protocols"], "rdp")
        self.assertTrue(any(e["client"] == "xfreerdp" for e in s["expect"]))

    def test_show_model(self):
        """Every phase and action, in text and JSON; a phase named in the
        docs is a phase the harness knows."""
        rc, out, _ = run("show", "--phases", "--json")
        self.assertEqual(rc, 0)
        model = json.loads(out)
        phases = [p["phase"] for p in model]
        self.assertEqual(phases[0], "tcp-accept")
        self.assertEqual(phases[-1], "active")
        self.assertEqual(len(phases), 18)
        # Each phase says where a cut there strikes: what was sent and read.
        for p in model:
            self.assertTrue(p["cut"]["server_sent"] and p["cut"]["harness_read"], p)
            self.assertIn(p["cut"]["moment"], ("client-waits", "quiescent"))
        by = {p["phase"]: p["cut"] for p in model}
        self.assertEqual(by["x224-request"]["moment"], "client-waits")
        self.assertIn("Font Map", by["active"]["server_sent"])
        rc, text, _ = run("show", "--phases")
        self.assertIn("a cut strikes when the server has sent: Demand Active", text)
        rc, out, _ = run("show", "--actions", "--json")
        self.assertEqual(rc, 0)
        acts = {a["action"]: a for a in json.loads(out)}
        self.assertEqual(set(acts), {"neg-failure", "credssp-error", "stall", "delay", "reset",
                                     "close", "deny", "license-error", "disconnect-ultimatum"})
        self.assertEqual(acts["license-error"]["phases"], ["licensing"])
        self.assertEqual(acts["license-error"]["params"], ["code", "transition", "close_notify"])
        self.assertEqual(len(acts["reset"]["phases"]), 18)
        rc, text, _ = run("show", "--actions")
        self.assertEqual(rc, 0)
        for a in acts:
            self.assertIn(a + "\n", text)
        with open(os.path.join(rf.ROOT, "docs", "scenario-format.md")) as f:
            doc = f.read()
        for a in acts:
            self.assertIn(f"| `{a}` |", doc)
        rc, _, err = run("show", "--phases", "healthy-tls")
        self.assertEqual(rc, 2)
        self.assertIn("take no NAME", err)

    def test_show_network(self):
        """Every network condition type with its attributes, in text and
        JSON, each documented; a scenario's conditions in its show."""
        rc, out, _ = run("show", "--network", "--json")
        self.assertEqual(rc, 0)
        types = {t["type"]: t for t in json.loads(out)}
        self.assertEqual(set(types), {"latency", "bandwidth", "slicer", "limit_data",
                                      "slow_close", "timeout", "reset_peer", "blackhole",
                                      "mtu_blackhole", "loss"})
        lat = {a["name"]: a for a in types["latency"]["attributes"]}
        self.assertEqual(set(lat), {"latency", "jitter"})
        self.assertEqual(lat["latency"]["unit"], "ms")
        self.assertEqual(types["bandwidth"]["attributes"][0]["unit"], "KB/s")
        rc, text, _ = run("show", "--network")
        self.assertEqual(rc, 0)
        with open(os.path.join(rf.ROOT, "docs", "scenario-format.md")) as f:
            doc = f.read()
        for t in types:
            self.assertIn(t + "\n", text)
            self.assertIn(f"| `{t}` |", doc)
        rc, out, _ = run("show", "healthy-tls", "--json", "--set",
                         "healthy-tls.network=[{type: latency, stream: both, "
                         "trigger: {from_phase: active}, attributes: {latency: 250}}]")
        self.assertEqual(rc, 0)
        net = json.loads(out)["network"]
        self.assertEqual(net, [{"name": "latency", "type": "latency", "stream": "both",
                                "toxicity": 1.0, "trigger": {"from_phase": "active"},
                                "attributes": {"latency": 250, "jitter": 0}}])

    def test_ready_file(self):
        """The readiness signal: written (with the pid) once listening, gone
        after a stop; $RDPFAULT_READY_FILE is the default."""
        import tempfile
        d = tempfile.mkdtemp(prefix="rfready-")
        path = os.path.join(d, "ready")
        os.environ["RDPFAULT_READY_FILE"] = path
        try:
            with rf.Harness() as h:
                deadline = time.monotonic() + 10
                while not os.path.exists(path) and time.monotonic() < deadline:
                    time.sleep(0.05)
                with open(path) as f:
                    self.assertEqual(int(f.read()), h.proc.pid)
                rc, _ = h.stop()
                self.assertEqual(rc, 0)
                self.assertFalse(os.path.exists(path))
        finally:
            del os.environ["RDPFAULT_READY_FILE"]
            os.rmdir(d)

    def test_show_unknown_exits_4(self):
        rc, _, err = run("show", "no-such")
        self.assertEqual(rc, 4)
        self.assertIn("no scenario named 'no-such'", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""`rdpfault matrix` itself: a user's client defined in a data file runs in
the matrix; a drift exits 5 and lands in the JUnit report with the
client's output and the server's event log; the JUnit XML validates
against the JUnit schema and carries rdpfault's and each client's version,
its timestamp, host and scenario files; the JSON report validates against
docs/matrix.schema.json; shards of one run are disjoint and merge into one
report; a client's stdout and stderr keep the order it wrote them in; the HTML page works in a real browser (headless
Chromium: one grid cell per pair, a cell opens its timeline); the runner
starts Xvfb itself when there is no display; bad input exits 2 naming the
problem.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfharness as rf  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PROBE = os.path.join(HERE, "examples", "x224-probe.yaml")
XSD = os.path.join(HERE, "junit.xsd")
PROBE_SCENARIOS = "healthy-tls,healthy-nla,healthy-rdp,ssl-not-allowed"


def matrix(*args, env=None, timeout=600):
    p = subprocess.run([rf.rdpfault_binary(), "matrix", *args], capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL, env=env)
    return p.returncode, p.stdout, p.stderr


class Matrix(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="rfmatrix-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def test_user_client_from_a_data_file(self):
        rc, _, err = matrix("--client-file", PROBE, "--clients", "x224-probe",
                            "--select", PROBE_SCENARIOS, "--json-report", self.path("r.json"),
                            "--junit", self.path("r.xml"))
        self.assertEqual(rc, 0, err)
        with open(self.path("r.json")) as f:
            report = json.load(f)
        cells = {c["scenario"]: c for c in report["cells"]}
        self.assertEqual(set(cells), set(PROBE_SCENARIOS.split(",")))
        self.assertTrue(all(c["status"] == "pass" for c in cells.values()), cells)
        # What the probe saw: an RDP_NEG_RSP selecting TLS (1) ...
        self.assertIn("confirm: 030000130ed0", cells["healthy-tls"]["output_tail"])
        self.assertRegex(cells["healthy-tls"]["output_tail"], r"0201080001000000")
        # ... and an RDP_NEG_FAILURE with SSL_NOT_ALLOWED_BY_SERVER (2).
        self.assertRegex(cells["ssl-not-allowed"]["output_tail"], r"0300080002000000")
        self.assertEqual(cells["ssl-not-allowed"]["exit"], 1)
        # Not a TTY: one plain line per cell.
        self.assertEqual(len(re.findall(r"^\[\d/4\] pass ", err, re.M)), 4, err)
        self.assertEqual(report["summary"]["pass"], 4)
        self.assertEqual(rf.schema_errors(report, "matrix"), [])
        version = subprocess.run([rf.rdpfault_binary(), "--version"], capture_output=True,
                                 text=True).stdout.split()[-1]
        self.assertEqual(report["meta"]["rdpfault"], version)
        self.validate(self.path("r.xml"))
        suite = ET.parse(self.path("r.xml")).getroot().find("testsuite")
        props = {p.get("name"): p.get("value") for p in suite.iter("property")}
        self.assertEqual(props["rdpfault.version"], version)
        self.assertEqual(props["client.name"], "x224-probe")
        self.assertEqual(props["client.file"], PROBE)
        self.assertRegex(suite.get("timestamp"), r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")
        self.assertTrue(suite.get("hostname"))
        files = {t.get("name"): t.get("file") for t in suite.iter("testcase")}
        self.assertTrue(files["healthy-tls"].endswith("/scenarios/healthy-tls.yaml"), files)
        # A broken report does not validate: the schema is no formality.
        report["cells"][0]["status"] = "ok"
        self.assertTrue(rf.schema_errors(report, "matrix"))

    def test_client_versions_in_meta_and_junit(self):
        rc, _, err = matrix("--clients", "nmap", "--select", "healthy-tls",
                            "--json-report", self.path("r.json"), "--junit", self.path("r.xml"))
        self.assertEqual(rc, 0, err)
        with open(self.path("r.json")) as f:
            meta = json.load(f)["meta"]
        nmap = subprocess.run(["nmap", "--version"], capture_output=True, text=True).stdout
        want = re.search(r"Nmap version (\S+)", nmap).group(1)
        self.assertEqual([(c["name"], c["version"]) for c in meta["clients"]], [("nmap", want)])
        suite = ET.parse(self.path("r.xml")).getroot().find("testsuite")
        props = {p.get("name"): p.get("value") for p in suite.iter("property")}
        self.assertEqual(props["client.version"], want)

    def test_shards_are_disjoint_and_merge_into_one_report(self):
        reports = []
        for i in (1, 2, 3):
            out = self.path(f"s{i}.json")
            rc, _, err = matrix("--client-file", PROBE, "--clients", "x224-probe",
                                "--select", PROBE_SCENARIOS, "--shard", f"{i}/3",
                                "--json-report", out)
            self.assertEqual(rc, 0, err)
            with open(out) as f:
                reports.append(json.load(f))
            self.assertEqual(reports[-1]["meta"]["shard"], f"{i}/3")
        keys = [{c["scenario"] for c in r["cells"]} for r in reports]
        self.assertEqual(sum(len(k) for k in keys), 4)        # each cell in one shard
        self.assertEqual(set().union(*keys), set(PROBE_SCENARIOS.split(",")))
        # The same shard twice gives the same share.
        rc, _, err = matrix("--client-file", PROBE, "--clients", "x224-probe",
                            "--select", PROBE_SCENARIOS, "--shard", "2/3",
                            "--json-report", self.path("again.json"))
        with open(self.path("again.json")) as f:
            self.assertEqual({c["scenario"] for c in json.load(f)["cells"]}, keys[1])
        rc, _, err = matrix("merge", *[self.path(f"s{i}.json") for i in (1, 2, 3)],
                            "--json-report", self.path("m.json"), "--junit", self.path("m.xml"),
                            "--html", self.path("m.html"))
        self.assertEqual(rc, 0, err)
        self.assertIn("3 reports, 4 cells: 4 pass", err)
        with open(self.path("m.json")) as f:
            merged = json.load(f)
        self.assertEqual(rf.schema_errors(merged, "matrix"), [])
        self.assertEqual(merged["meta"]["shards"], ["1/3", "2/3", "3/3"])
        self.assertEqual({c["scenario"] for c in merged["cells"]}, set(PROBE_SCENARIOS.split(",")))
        self.validate(self.path("m.xml"))
        root = ET.parse(self.path("m.xml")).getroot()
        self.assertEqual(root.get("tests"), "4")
        with open(self.path("m.html")) as f:
            self.assertEqual(len(re.findall(r'<td id="cell-\d+"', f.read())), 4)
        # The same shard twice is a mistake, said.
        rc, _, err = matrix("merge", self.path("s1.json"), self.path("s1.json"), self.path("s2.json"),
                            "--junit", self.path("x.xml"))
        if keys[0]:
            self.assertEqual(rc, 2)
            self.assertIn("two reports of the same shard?", err)
        rc, _, err = matrix("merge", self.path("s1.json"))
        self.assertEqual(rc, 2)
        self.assertIn("rdpfault matrix merge: say where to write", err)
        rc, _, err = matrix("--shard", "4/3")
        self.assertEqual(rc, 2)
        self.assertIn("--shard", err)

    def test_client_output_in_the_order_written(self):
        client = self.path("talker.yaml")
        script = self.path("talker.py")
        with open(script, "w") as f:
            f.write("import sys\nprint('out-1')\nprint('err-2', file=sys.stderr)\n"
                    "print('out-3')\nprint('err-4', file=sys.stderr)\n")
        with open(client, "w") as f:
            f.write(f"name: talker\ncommand: [/usr/bin/python3, {script}]\nverdict: exit\n"
                    "success: {exit: 0}\nexpect:\n  \"healthy-tls\": {result: connected}\n")
        rc, _, err = matrix("--client-file", client, "--clients", "talker",
                            "--select", "healthy-tls", "--json-report", self.path("r.json"))
        self.assertEqual(rc, 0, err)
        with open(self.path("r.json")) as f:
            tail = json.load(f)["cells"][0]["output_tail"]
        self.assertEqual(tail.split(), ["out-1", "err-2", "out-3", "err-4"])

    def test_drift_exits_1_with_output_and_event_log_in_junit(self):
        wrong = self.path("probe-wrong.yaml")
        with open(PROBE) as f:
            text = f.read()
        # The probe is told to expect a line healthy-tls never sends: a drift.
        text = text.replace('"healthy-tls": {result: connected}',
                            '"healthy-tls": {result: connected, log: "confirm: never"}')
        with open(wrong, "w") as f:
            f.write(text)
        rc, _, err = matrix("--client-file", wrong, "--clients", "x224-probe",
                            "--select", "healthy-tls,healthy-rdp", "--junit", self.path("r.xml"),
                            "--html", self.path("r.html"))
        self.assertEqual(rc, 5, err)
        self.assertIn("DRIFT    healthy-tls x x224-probe", err)
        self.assertIn("output lacks 'confirm: never'", err)
        self.validate(self.path("r.xml"))
        root = ET.parse(self.path("r.xml")).getroot()
        self.assertEqual(root.get("failures"), "1")
        case = [t for t in root.iter("testcase") if t.get("name") == "healthy-tls"][0]
        self.assertIsNotNone(case.find("failure"))
        out = case.find("system-out").text
        self.assertIn("confirm: 030000130ed0", out)          # the client's output
        events = [json.loads(ln) for ln in out.split("---\n", 1)[1].splitlines() if ln.strip()]
        self.assertIn("x224-confirm", [e.get("phase") for e in events])  # the server's log
        self.assertTrue(all(e["conn"] == events[0]["conn"] for e in events))
        ok = [t for t in root.iter("testcase") if t.get("name") == "healthy-rdp"][0]
        self.assertIsNone(ok.find("failure"))
        self.assertIsNone(ok.find("system-out"))

    def test_repeat_finds_an_unstable_cell(self):
        # A client that fails every other run (a marker file tells): one
        # cell, two outcomes, so the cell is unstable and the run fails,
        # however often it matched.
        mark = self.path("ran-once")
        alt = self.path("alternating.yaml")
        with open(alt, "w") as f:
            f.write(f"""name: alternating-probe
command: >-
  if [ -e {mark} ]; then rm {mark}; exec nc -z -w 5 {{host}} {{port}}; else touch {mark}; exit 3; fi
verdict: exit
success: {{exit: 0}}
timeout_s: 15
expect:
  "healthy-tls": {{result: connected}}
""")
        args = ["--client-file", alt, "--clients", "alternating-probe", "--select", "healthy-tls"]
        rc, _, err = matrix(*args, "--repeat", "4", "--json-report", self.path("r.json"),
                            "--junit", self.path("r.xml"), "--html", self.path("r.html"))
        self.assertEqual(rc, 5, err)
        self.assertIn("UNSTABLE healthy-tls x alternating-probe", err)
        self.assertIn("0 pass (4 runs each), 0 drift, 1 unstable", err)
        with open(self.path("r.json")) as f:
            report = json.load(f)
        cell = report["cells"][0]
        self.assertEqual(cell["status"], "unstable")
        self.assertEqual(len(cell["runs"]), 4)
        self.assertEqual(sorted(cell["outcomes"].values()), [2, 2])
        self.assertEqual(report["summary"]["unstable"], 1)
        self.assertEqual(report["meta"]["repeat"], 4)
        self.validate(self.path("r.xml"))
        case = ET.parse(self.path("r.xml")).getroot().find(".//testcase")
        self.assertEqual(case.find("failure").get("type"), "unstable")
        with open(self.path("r.html")) as f:
            self.assertIn('class="unstable"', f.read())
        # A client with one outcome, four runs, under CPU load: one outcome.
        rc, _, err = matrix("--client-file", PROBE, "--clients", "x224-probe",
                            "--select", "healthy-tls,ssl-not-allowed", "--repeat", "4",
                            "--load", "2")
        self.assertEqual(rc, 0, err)
        self.assertIn("2 pass (4 runs each), 0 drift, 0 unstable", err)
        for bad, msg in ((("--repeat", "0"), "--repeat 0: expected 1-100"),
                         (("--load", "65"), "--load 65: expected 0-64")):
            rc, _, err = matrix(*args, *bad)
            self.assertEqual(rc, 2)
            self.assertIn(msg, err)

    def test_html_in_headless_chromium(self):
        rc, _, err = matrix("--client-file", PROBE, "--clients", "x224-probe,xfreerdp",
                            "--select", "healthy-tls,ssl-not-allowed,denied-after-active",
                            "--html", self.path("r.html"), "--json-report", self.path("r.json"))
        self.assertEqual(rc, 0, err)
        with open(self.path("r.json")) as f:
            cells = json.load(f)["cells"]
        self.assertEqual(len(cells), 6)  # 3 scenarios x 2 clients, one of them skipped
        i = next(k for k, c in enumerate(cells)
                 if c["scenario"] == "denied-after-active" and c["client"] == "xfreerdp")
        dom = self.chromium("--dump-dom", f"file://{self.path('r.html')}#cell-{i}")
        self.assertEqual(len(re.findall(r'<td id="cell-\d+"', dom)), 6)
        # The cell opened its timeline: phases in order, the fault, the client.
        m = re.search(r'<section id="timeline" data-open="cell-(\d+)">(.*?)</section>', dom, re.S)
        self.assertIsNotNone(m, dom[-2000:])
        self.assertEqual(int(m.group(1)), i)
        body = m.group(2)
        self.assertIn("denied-after-active × xfreerdp: pass", body)
        self.assertLess(body.index("phase: x224-request"), body.index("phase: active"))
        self.assertIn("fault: deny at active", body)
        self.assertIn("ERRINFO_SERVER_DENIED_CONNECTION", body)
        shot = self.path("matrix.png")
        self.chromium(f"--screenshot={shot}", "--window-size=1100,1000",
                      f"file://{self.path('r.html')}#cell-{i}")
        self.assertGreater(os.path.getsize(shot), 10000)
        keep = os.environ.get("RDPFAULT_KEEP_SCREENSHOT")
        if keep:
            shutil.copy(shot, keep)

    def test_starts_xvfb_without_a_display(self):
        env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
        rc, _, err = matrix("--clients", "xfreerdp", "--select", "healthy-tls", env=env)
        self.assertEqual(rc, 0, err)
        self.assertIn("1 pass, 0 drift", err)

    def test_uses_a_running_harness(self):
        with rf.Harness() as h:
            rc, _, err = matrix("--connect", "127.0.0.1", "--port-base", str(h.port_base),
                                "--events", h.events_path, "--client-file", PROBE,
                                "--clients", "x224-probe,nmap", "--select", "healthy-tls",
                                "--json-report", self.path("r.json"))
            self.assertEqual(rc, 0, err)
            served = h.matching(lambda e: e["event"] == "scenario", 1)
        with open(self.path("r.json")) as f:
            cells = {c["client"]: c for c in json.load(f)["cells"]}
        self.assertEqual(cells["x224-probe"]["status"], "pass")
        self.assertEqual(cells["x224-probe"]["port"], h.port_base)
        steps = [s["what"] for s in cells["x224-probe"]["timeline"][0]["steps"]]
        self.assertIn("x224-confirm", steps)
        self.assertEqual(len(served), 1)
        # A port-3389 client needs an address of the scenario's own.
        self.assertEqual(cells["nmap"]["status"], "skipped")
        self.assertIn("--address-base", cells["nmap"]["why"])

    def test_running_harness_with_address_base(self):
        with rf.Harness(extra_args=["--address-base", "127.0.3.1"]) as h:
            rc, _, err = matrix("--connect", "127.0.0.1", "--port-base", str(h.port_base),
                                "--events", h.events_path, "--clients", "nmap",
                                "--select", "healthy-tls,healthy-nla",
                                "--json-report", self.path("r.json"))
            self.assertEqual(rc, 0, err)
        with open(self.path("r.json")) as f:
            cells = {c["scenario"]: c for c in json.load(f)["cells"]}
        self.assertEqual(cells["healthy-tls"]["host"], "127.0.3.1")   # offset 0
        self.assertEqual(cells["healthy-nla"]["host"], "127.0.3.2")   # offset 1
        self.assertTrue(all(c["status"] == "pass" for c in cells.values()), cells)

    def test_live_progress_on_a_terminal(self):
        import pty
        master, slave = pty.openpty()
        p = subprocess.Popen([rf.rdpfault_binary(), "matrix", "--client-file", PROBE,
                              "--clients", "x224-probe", "--select", "healthy-tls,healthy-rdp"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
        os.close(slave)
        data = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
        os.close(master)
        self.assertEqual(p.wait(60), 0, data)
        text = data.decode()
        self.assertIn("\r\x1b[K[", text)                 # the bar redraws in place
        self.assertRegex(text, r"\[#{30}\] 2/2, 0 not pass")
        self.assertRegex(text, r"\] 1/2, 0 not pass, ETA \d+m\d\ds ")  # the time left
        self.assertNotRegex(text, r"\[\d/2\] pass")     # no per-cell lines for matches

    def test_bad_input_exits_2_naming_it(self):
        bad = self.path("bad.yaml")
        with open(bad, "w") as f:
            f.write("name: mine\ncommand: [/bin/true]\nverdict: maybe\n")
        with open(bad.replace("bad", "cmd"), "w") as f:
            f.write("name: mine\ncommand: [true]\n")  # YAML's true, not a program
        cases = [
            (["--client-file", bad], f"{bad}: verdict: session"),
            (["--client-file", bad.replace("bad", "cmd")], "cmd.yaml: command: required"),
            (["--clients", "nosuch"], "unknown client 'nosuch'"),
            (["--jobs", "0"], "--jobs 0: expected 1-64"),
            (["--connect", "127.0.0.1"], "--connect needs --port-base"),
            (["--client-file", self.path("missing.yaml")], "missing.yaml: cannot read"),
            (["--bogus"], "rdpfault matrix: unrecognized arguments: --bogus"),
            (["--scenarios", "x"], "--scenarios is now --select GLOB"),
            (["--json", "r.json"], "--json FILE is now --json-report FILE"),
            (["--scenario-dir", "/nonexistent"], "--scenario-dir /nonexistent: not a directory"),
        ]
        for args, needle in cases:
            rc, _, err = matrix(*args)
            self.assertEqual(rc, 2, (args, err))
            self.assertIn(needle, err, args)
            self.assertIn("rdpfault matrix: try 'rdpfault matrix --help'", err, args)
        # rdpfault's exit codes: nothing selected 4, an invalid catalog 3.
        rc, _, err = matrix("--select", "no-such-*")
        self.assertEqual(rc, 4, err)
        self.assertIn("selects no scenario", err)
        rc, _, err = matrix("--scenario-dir", os.path.join(rf.ROOT, "tests", "data",
                                                           "scenarios-bad"))
        self.assertEqual(rc, 3, err)
        self.assertIn("scenarios-bad/", err)

    def chromium(self, *args):
        # No background networking: this machine's network is loopback only.
        p = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                            "--disable-quic", "--no-first-run", "--disable-background-networking",
                            "--disable-component-update", "--disable-sync",
                            "--user-data-dir=" + self.path("chromium"), *args],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        return p.stdout

    def validate(self, path):
        p = subprocess.run(["xmllint", "--noout", "--schema", XSD, path], capture_output=True,
                           text=True)
        self.assertEqual(p.returncode, 0, p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)

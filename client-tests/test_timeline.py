"""Timeline test: `rdpfault timeline` draws a real harness's event log. Raw
clients meet reset-at-x224-confirm, close-at-tls-client-hello and a healthy
scenario left open until the stop; the text shows each connection with its
scenario and the fault's X after the phase it struck at, --json carries the
fault's fields, --html is self-contained, well-formed and escaped, the
selections and usage errors exit with rdpfault's codes, and a log cut off
with garbage in it still renders, its open connection marked.
"""

import html.parser
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfharness as rf  # noqa: E402

RESET = "reset-at-x224-confirm"
CLOSE = "close-at-tls-client-hello"
OPEN = "healthy-tls"
BAR = re.compile(r"^\s+\+(\d+) ms  \[([^\]]*)\]  (\S+)\s+(\S+)\s*(.*)$")


def timeline(*args):
    p = subprocess.run([rf.rdpfault_binary(), "timeline", *args], capture_output=True,
                       text=True, timeout=60, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def client_hello():
    """A real TLS ClientHello, made in memory: the relay's tls-client-hello
    phase needs one."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def blocks(text):
    """{conn id: (header, [line, ...])} of the text output."""
    out, cur = {}, None
    for line in text.splitlines():
        m = re.match(r"^conn (\d+)  ", line)
        if m:
            cur = int(m.group(1))
            out[cur] = (line, [])
        elif cur is not None and line.startswith("  "):
            out[cur][1].append(line)
        else:
            cur = None
    return out


def bar_rows(lines):
    """(offset, bar, kind, name, details) of each step line of a block."""
    rows = []
    for line in lines:
        m = BAR.match(line)
        if m:
            rows.append((int(m.group(1)), m.group(2), m.group(3), m.group(4), m.group(5)))
    return rows


class StrictHTML(html.parser.HTMLParser):
    """Fails on a closing tag that closes nothing open, counts what is
    left open, and collects every element's class and title."""
    VOID = {"meta", "br", "img", "hr", "input", "link"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.elements, self.problems = [], [], []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


class Timeline(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="rftimeline-")
        # One listener is enough: the cookie selects each scenario.
        h = rf.Harness(port_base=False)
        h.start()
        try:
            for cookie in (RESET, CLOSE):
                s = socket.create_connection(("127.0.0.1", h.port), timeout=5)
                me = s.getsockname()
                s.sendall(rf.x224_request(cookie))
                rf.read_confirm(s)
                s.sendall(client_hello())
                s.settimeout(10)
                try:
                    while s.recv(4096):
                        pass
                except ConnectionResetError:
                    pass
                s.close()
                n = h.conn_of(me)
                h.wait_for(lambda ev: any(e["event"] == "close" and e["conn"] == n for e in ev),
                           what=f"close of {cookie}")
            # Open until the stop: its close is the stop's (reason shutdown).
            held = socket.create_connection(("127.0.0.1", h.port), timeout=5)
            held.sendall(rf.x224_request(OPEN))
            rf.read_confirm(held)
            n = h.conn_of(held.getsockname())
            h.wait_for(lambda ev: any(e["conn"] == n and e.get("phase") == "x224-confirm"
                                      for e in ev), what="the held connection's confirm")
            rc, _ = h.stop()
            held.close()
            assert rc == 0, h.stderr_text()
            cls.log = os.path.join(cls.dir, "events.jsonl")
            shutil.copy(h.events_path, cls.log)
        finally:
            h.stop()
            h.cleanup()
        with open(cls.log) as f:
            cls.lines = f.read().splitlines()
        cls.events = [json.loads(line) for line in cls.lines]
        cls.conn = {e["scenario"]: e["conn"] for e in cls.events if e["event"] == "scenario"}
        assert sorted(cls.conn) == sorted([RESET, CLOSE, OPEN]), cls.conn

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def of(self, conn, event):
        return [e for e in self.events if e["conn"] == conn and e["event"] == event]

    def write(self, name, lines, tail=""):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write("".join(line + "\n" for line in lines) + tail)
        return path

    def test_text_shows_each_connection_and_where_its_fault_struck(self):
        rc, out, err = timeline(self.log)
        self.assertEqual(rc, 0, err)
        self.assertEqual(err, "")
        got = blocks(out)
        self.assertEqual(sorted(got), sorted(self.conn.values()))
        for scenario, conn in self.conn.items():
            close = self.of(conn, "close")[0]
            head, _ = got[conn]
            self.assertRegex(head, rf"^conn {conn}  {re.escape(scenario)} \(cookie\)  "
                                   rf"127\.0\.0\.1:\d+  start \d{{4}}-\d\d-\d\dT[\d:.]+Z  "
                                   rf"duration {close['duration_ms']} ms  "
                                   rf"close {close['reason']} at {close['last_phase']}  "
                                   rf"bytes in/out {close['bytes_from_client']}/"
                                   rf"{close['bytes_to_client']}$")
        self.assertIn("close server-reset at x224-confirm", got[self.conn[RESET]][0])
        self.assertIn("close shutdown at x224-confirm", got[self.conn[OPEN]][0])
        for scenario, at, action in ((RESET, "x224-confirm", "reset"),
                                     (CLOSE, "tls-client-hello", "close")):
            rows = bar_rows(got[self.conn[scenario]][1])
            kinds = [r[2] for r in rows]
            self.assertEqual(kinds.count("fault"), 1, rows)
            self.assertEqual(rows[-1][2], "close", rows)
            i = kinds.index("fault")
            fault = rows[i]
            self.assertEqual(fault[3], action)
            self.assertTrue(fault[4].startswith(f"at={at}"), fault)
            self.assertEqual(fault[1].count("X"), 1, fault)
            self.assertEqual(len(fault[1]), 60, fault)
            # The phase it struck at is the last phase line before it.
            phase = [r for r in rows[:i] if r[2] == "phase"][-1]
            self.assertEqual(phase[3], at)
            self.assertGreaterEqual(fault[1].index("X"), phase[1].index(">"))
            self.assertEqual([r for r in rows[i:] if r[2] == "phase"], [], rows)
            self.assertEqual("".join(r[1] for r in rows).count("X"), 1)
        # The reset waits for the quiet window (200 ms) after the confirm:
        # its X falls near the end of a connection of about 200 ms.
        rows = bar_rows(got[self.conn[RESET]][1])
        fault = next(r for r in rows if r[2] == "fault")
        self.assertGreaterEqual(fault[0], 150)
        self.assertGreaterEqual(fault[1].index("X"), 45, fault)
        rows = bar_rows(got[self.conn[OPEN]][1])
        self.assertNotIn("X", "".join(r[1] for r in rows))
        self.assertEqual([r[3] for r in rows if r[2] == "phase"],
                         [e["phase"] for e in self.of(self.conn[OPEN], "phase")])
        self.assertRegex(out.splitlines()[0], r"^harness  rdpfault \S+  pid \d+ .* connections 3")

    def test_width(self):
        rc, out, err = timeline(self.log, "--width", "25")
        self.assertEqual(rc, 0, err)
        rows = bar_rows(blocks(out)[self.conn[RESET]][1])
        self.assertTrue(rows)
        self.assertEqual({len(r[1]) for r in rows}, {25})

    def test_json_carries_the_steps_and_the_fault(self):
        rc, out, err = timeline(self.log, "--json")
        self.assertEqual(rc, 0, err)
        doc = json.loads(out)
        self.assertEqual(doc["schema_version"], 1)
        self.assertEqual(doc["source"], self.log)
        self.assertTrue(doc["harness"]["stopped"])
        self.assertEqual(doc["harness"]["connections"], 3)
        conns = {c["conn"]: c for c in doc["connections"]}
        self.assertEqual(sorted(conns), sorted(self.conn.values()))
        for scenario, conn in self.conn.items():
            c = conns[conn]
            accept = self.of(conn, "accept")[0]
            close = self.of(conn, "close")[0]
            self.assertEqual((c["scenario"], c["selected_by"]), (scenario, "cookie"))
            self.assertEqual(c["client"], accept["client"])
            self.assertEqual(c["start_time"], accept["time"])
            self.assertEqual((c["start_ms"], c["end_ms"]), (accept["ts_ms"], close["ts_ms"]))
            self.assertEqual(c["duration_ms"], close["duration_ms"])
            self.assertEqual(c["close"]["reason"], close["reason"])
            self.assertEqual(c["close"]["bytes_to_client"], close["bytes_to_client"])
            # Every other event of the connection is a step, in time order.
            want = [e for e in self.events if e["conn"] == conn
                    and e["event"] not in ("accept", "close")]
            self.assertEqual(len(c["steps"]), len(want))
            self.assertEqual([s["at_ms"] for s in c["steps"]],
                             sorted(s["at_ms"] for s in c["steps"]))
        fault_ev = self.of(self.conn[RESET], "fault")[0]
        c = conns[self.conn[RESET]]
        faults = [s for s in c["steps"] if s["kind"] == "fault"]
        self.assertEqual(len(faults), 1)
        self.assertEqual(faults[0]["name"], "reset")
        self.assertEqual(faults[0]["fields"]["at"], "x224-confirm")
        self.assertEqual(faults[0]["fields"]["read_bytes"], fault_ev["read_bytes"])
        self.assertEqual(faults[0]["fields"]["sent_bytes"], fault_ev["sent_bytes"])
        self.assertEqual(faults[0]["offset_ms"], fault_ev["ts_ms"] - c["start_ms"])
        self.assertEqual(conns[self.conn[CLOSE]]["close"]["last_phase"], "tls-client-hello")
        self.assertEqual(conns[self.conn[OPEN]]["close"]["reason"], "shutdown")
        self.assertFalse([s for s in conns[self.conn[OPEN]]["steps"] if s["kind"] == "fault"])

    def test_selection(self):
        a, b = self.conn[RESET], self.conn[OPEN]
        rc, out, err = timeline(self.log, "--json", "--conn", f"{a},{b}")
        self.assertEqual(rc, 0, err)
        self.assertEqual([c["conn"] for c in json.loads(out)["connections"]], sorted([a, b]))
        rc, out, err = timeline(self.log, "--scenario", "close-at-*")
        self.assertEqual(rc, 0, err)
        self.assertEqual(list(blocks(out)), [self.conn[CLOSE]])
        self.assertNotIn(RESET, out)
        rc, out, err = timeline(self.log, "--conn", "99999")
        self.assertEqual(rc, 4)
        self.assertEqual(out, "")
        self.assertRegex(err, r"^rdpfault timeline: .*no connection 99999 in the log")
        rc, out, err = timeline(self.log, "--scenario", "no-such-*")
        self.assertEqual(rc, 4)
        self.assertIn("rdpfault timeline: ", err)
        self.assertIn("no-such-*", err)

    def test_html_is_self_contained_and_well_formed(self):
        path = os.path.join(self.dir, "timeline.html")
        rc, out, err = timeline(self.log, "--html", path)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out, "")
        with open(path, encoding="utf-8") as f:
            page = f.read()
        p = StrictHTML()
        p.feed(page)
        p.close()
        self.assertEqual(p.problems, [])
        self.assertEqual(p.stack, [])
        for scenario in self.conn:
            self.assertIn(scenario, page)
        self.assertNotIn("<script", page.lower())
        self.assertNotRegex(page, r"(?i)\b(src|href)\s*=|url\(|@import")
        segs = [a for tag, a in p.elements if "seg" in a.get("class", "").split()]
        phases = [e for e in self.events if e["event"] == "phase"]
        # Each phase twice: on the shared axis and on its connection's own span.
        self.assertEqual(len(segs), 2 * len(phases))
        self.assertTrue(all(a.get("title") for a in segs))
        faults = [a for tag, a in p.elements if "fault" in a.get("class", "").split()]
        self.assertEqual(len(faults), 4)
        self.assertTrue(any("reset" in a["title"] and "at=x224-confirm" in a["title"]
                            for a in faults), faults)

    def test_html_escapes_the_log(self):
        """Cookies are validated, so the harness never logs markup; a log
        edited by hand might. Its strings stay text."""
        evil = '<script>alert("x")</script>&'
        lines = []
        for line in self.lines:
            e = json.loads(line)
            if e["event"] == "accept" and e["conn"] == self.conn[RESET]:
                e["client"] = evil
            if e["event"] == "fault":
                e["last_read"] = "<img onerror=x>"
            lines.append(json.dumps(e))
        log = self.write("evil.jsonl", lines)
        path = os.path.join(self.dir, "evil.html")
        rc, _, err = timeline(log, "--html", path)
        self.assertEqual(rc, 0, err)
        with open(path, encoding="utf-8") as f:
            page = f.read()
        self.assertNotIn("<script", page)
        self.assertNotIn("<img", page)
        self.assertIn("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;", page)
        p = StrictHTML()
        p.feed(page)
        self.assertEqual((p.problems, p.stack), ([], []))

    def test_usage_errors(self):
        for args, needle in ((("--frobnicate", self.log), "--frobnicate"),
                             ((self.log, "--width", "0"), "--width"),
                             ((self.log, "--conn", "one"), "--conn"),
                             ((), "EVENTS.jsonl")):
            rc, out, err = timeline(*args)
            self.assertEqual(rc, 2, args)
            self.assertEqual(out, "")
            lines = err.splitlines()
            self.assertEqual(len(lines), 2, err)
            self.assertTrue(lines[0].startswith("rdpfault timeline: "), err)
            self.assertIn(needle, lines[0])
            self.assertEqual(lines[1], "rdpfault timeline: try 'rdpfault timeline --help'")
        rc, out, _ = timeline("--help")
        self.assertEqual(rc, 0)
        self.assertIn("EVENTS.jsonl", out)
        self.assertIn("--scenario GLOB", out)
        self.assertNotIn("--rdpfault", out)

    def test_unreadable_and_empty_logs(self):
        missing = os.path.join(self.dir, "no-such.jsonl")
        rc, out, err = timeline(missing)
        self.assertEqual(rc, 1)
        self.assertEqual(err, f"rdpfault timeline: cannot read {missing}: "
                              "No such file or directory\n")
        rc, _, err = timeline(self.write("empty.jsonl", []))
        self.assertEqual(rc, 4)
        self.assertIn("no events", err)
        harness_only = [line for line in self.lines if json.loads(line)["conn"] == 0]
        rc, _, err = timeline(self.write("harness-only.jsonl", harness_only))
        self.assertEqual(rc, 4)
        self.assertIn("no connections", err)

    def test_cut_off_log_with_garbage_still_renders(self):
        """As if the harness was killed: the held connection's close and the
        stop are gone, a line is garbage and the last one is half written."""
        held = self.conn[OPEN]
        cut = next(i for i, line in enumerate(self.lines)
                   if json.loads(line)["conn"] == held and json.loads(line)["event"] == "close")
        kept = self.lines[:cut]
        middle = len(kept) // 2
        lines = kept[:middle] + ["{this is not json"] + kept[middle:]
        log = self.write("cut.jsonl", lines, tail=self.lines[cut][:40])
        rc, out, err = timeline(log)
        self.assertEqual(rc, 0, err)
        self.assertEqual(err.splitlines(), [
            f"rdpfault timeline: {log}:{middle + 1}: not JSON, skipped",
            f"rdpfault timeline: {log}:{len(lines) + 1}: not JSON, skipped"])
        got = blocks(out)
        self.assertEqual(sorted(got), sorted(self.conn.values()))
        head, body = got[held]
        self.assertIn("no close logged", head)
        self.assertTrue(any("no close logged" in line for line in body), body)
        self.assertNotIn("close", [r[2] for r in bar_rows(body)])
        self.assertIn("no stop logged", out.splitlines()[0])
        for scenario in (RESET, CLOSE):
            self.assertNotIn("no close logged", "\n".join(got[self.conn[scenario]][1]))
            self.assertIn("X", "".join(r[1] for r in bar_rows(got[self.conn[scenario]][1])))
        rc, out, err = timeline(log, "--json")
        self.assertEqual(rc, 0, err)
        c = next(c for c in json.loads(out)["connections"] if c["conn"] == held)
        self.assertEqual((c["closed"], c["close"]), (False, None))
        path = os.path.join(self.dir, "cut.html")
        rc, _, err = timeline(log, "--html", path)
        self.assertEqual(rc, 0, err)
        with open(path) as f:
            self.assertIn("no close logged", f.read())

    def test_warnings_are_bounded(self):
        log = self.write("noisy.jsonl", ["garbage %d" % i for i in range(15)] + self.lines)
        rc, out, err = timeline(log)
        self.assertEqual(rc, 0, err)
        msgs = err.splitlines()
        self.assertEqual(len(msgs), 11, err)
        self.assertEqual(msgs[0], f"rdpfault timeline: {log}:1: not JSON, skipped")
        self.assertEqual(msgs[9], f"rdpfault timeline: {log}:10: not JSON, skipped")
        self.assertIn("5 more lines", msgs[10])
        self.assertEqual(sorted(blocks(out)), sorted(self.conn.values()))


if __name__ == "__main__":
    unittest.main(verbosity=2)

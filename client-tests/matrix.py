"""rdpfault matrix — runs clients against scenarios and reports like a CI
tool: each cell (scenario × client) is compared with what the scenario
file (or the client's own file) expects of that client.

    rdpfault matrix [--select GLOB] [--tag TAG] [--clients LIST] [--jobs N]
                    [--shard I/N] [--junit FILE] [--json-report FILE] [--html FILE] ...
    rdpfault matrix merge [--junit FILE] [--json-report FILE] [--html FILE] SHARD.json...

Clients are data: one YAML file each (client-tests/clients/ holds the
built-in ones; --client-file adds a user's). See docs/matrix.md for the
format. Exit codes are rdpfault's: 0 every cell passed, 1 a cell could not
run, 2 usage error, 3 invalid catalog, 4 no scenario selected, 5 a cell
drifted or was unstable.
"""

import argparse
import fnmatch
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import rfharness as rf  # noqa: E402
import matrix_report  # noqa: E402

ACTIVATION_TIMER_S = 11  # xfreerdp 2.11 waits 10 s for the finalization PDUs, then gives up
CONNECTED_S = 2    # a session client whose session stayed up this long (past the scenario's
                   # own timers, see settle_s), connected
HUNG_S = 3         # a client running this long after the server closed all it had, hung
NO_EVENTS_S = 5    # without the server's event log: connected when still running this long
MAX_CONNECTIONS = 12  # more from one cell: the client retries without bound; it is stopped
MAX_OUTPUT = 1 << 20  # bytes of a client's output kept (its start and its end)
POLL_BYTES = 1 << 20  # event log one poll parses at most (a retry flood stays cheap)

# The phase model (`rdpfault show --phases`), in connection order.
PHASES = ["tcp-accept", "x224-request", "x224-confirm", "tls-client-hello", "tls-server-hello",
          "tls-finished", "credssp", "mcs-connect", "erect-domain", "attach-user", "channel-join",
          "security-exchange", "client-info", "licensing", "capabilities", "confirm-active",
          "finalization", "active"]

CLIENT_KEYS = {"name", "command", "display", "stdin", "fresh_home", "port_3389", "timeout_s",
               "verdict", "success", "expect", "description", "version"}
REPORT_SCHEMA_VERSION = 1
# rdpfault's exit codes (rdpfault --help), the runner's too.
EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, EXIT_CATALOG, EXIT_NO_SCENARIO, EXIT_MISMATCH = range(6)
EXPECT_KEYS = {"result", "exit", "log", "args", "note", "code", "extended", "message"}
RESULTS = {"connected", "failed", "retries-forever", "hangs"}


class UsageError(Exception):
    code = EXIT_USAGE


class CatalogError(UsageError):
    code = EXIT_CATALOG


class NoScenario(UsageError):
    code = EXIT_NO_SCENARIO


class Parser(argparse.ArgumentParser):
    """argparse with rdpfault's messages: "rdpfault matrix: ..." and exit 2."""

    def error(self, message):
        raise UsageError(message)


# ---------------------------------------------------------------- clients

def _need(cond, where, msg):
    if not cond:
        raise UsageError(f"{where}: {msg}")


def load_client(path):
    """A client file, checked: every problem names the file and field."""
    try:
        with open(path) as f:
            doc = yaml.safe_load(f)
    except OSError as e:
        raise UsageError(f"{path}: cannot read: {e.strerror}")
    except yaml.YAMLError as e:
        raise UsageError(f"{path}: not YAML: {e}")
    _need(isinstance(doc, dict), path, "a client file is a mapping (name, command, ...)")
    for k in doc:
        _need(k in CLIENT_KEYS, f"{path}: {k}",
              f"unknown key (known: {', '.join(sorted(CLIENT_KEYS))})")
    name = doc.get("name")
    _need(isinstance(name, str) and re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name or ""),
          f"{path}: name", "required, [a-z0-9][a-z0-9_-]*")
    cmd = doc.get("command")
    if isinstance(cmd, str):
        cmd = ["/bin/sh", "-c", cmd]
    _need(isinstance(cmd, list) and cmd and all(isinstance(a, str) for a in cmd),
          f"{path}: command", "required: a list of strings, or one shell command line")
    for a in cmd:
        for field in re.findall(r"{([^}]*)}", a):
            _need(field in ("host", "port", "user", "password", "cookie", "scenario", "args"),
                  f"{path}: command", f"unknown placeholder {{{field}}} (known: host, port, "
                  "user, password, cookie, scenario, args)")
    verdict = doc.get("verdict", "session")
    _need(verdict in ("session", "exit"), f"{path}: verdict",
          "session (connected = still running with the session active) or exit "
          "(connected = the exit code and line of `success`)")
    success = doc.get("success")
    if verdict == "exit":
        _need(isinstance(success, dict) and "exit" in success, f"{path}: success",
              "verdict exit needs success: {exit: N, log: TEXT}")
    timeout = doc.get("timeout_s", 60)
    _need(isinstance(timeout, (int, float)) and 1 <= timeout <= 3600, f"{path}: timeout_s",
          "a number of seconds, 1-3600")
    expect = doc.get("expect", {}) or {}
    _need(isinstance(expect, dict), f"{path}: expect", "a mapping SCENARIO-GLOB -> expectation")
    for glob, e in expect.items():
        check_expectation(e, f"{path}: expect.{glob}")
    version = doc.get("version")
    if isinstance(version, str):
        version = ["/bin/sh", "-c", version]
    _need(version is None or (isinstance(version, list) and version and
                              all(isinstance(a, str) for a in version)),
          f"{path}: version", "a command that prints the client's version: a list of strings "
          "or one shell command line")
    return {"version_cmd": version, "name": name, "command": cmd, "display": bool(doc.get("display", False)),
            "stdin": str(doc.get("stdin", "")).encode(), "fresh_home": bool(doc.get("fresh_home")),
            "port_3389": bool(doc.get("port_3389")), "timeout_s": float(timeout),
            "verdict": verdict, "success": success, "expect": expect, "file": path}


def check_expectation(e, where):
    _need(isinstance(e, dict), where, "an expectation is a mapping (result, exit, log, args)")
    for k in e:
        _need(k in EXPECT_KEYS, f"{where}.{k}", f"unknown key (known: {', '.join(sorted(EXPECT_KEYS))})")
    _need(e.get("result") in RESULTS, f"{where}.result", f"one of {', '.join(sorted(RESULTS))}")
    if "exit" in e:
        _need(isinstance(e["exit"], int) and 0 <= e["exit"] <= 255, f"{where}.exit", "0-255")


def load_clients(extra_files):
    builtin = os.path.join(HERE, "clients")
    clients = {}
    for f in sorted(os.listdir(builtin)):
        if f.endswith(".yaml"):
            c = load_client(os.path.join(builtin, f))
            clients[c["name"]] = c
    for f in extra_files:
        c = load_client(f)
        clients[c["name"]] = c  # a user's file may replace a built-in one
    return clients


# ---------------------------------------------------------------- scenarios

def catalog_args(a):
    """The options that say which catalog, as rdpfault list/show/serve take them."""
    return ((["--scenario-dir", a.scenario_dir] if a.scenario_dir else []) +
            [x for s in a.set for x in ("--set", s)])


def in_shard(name, shard):
    """A stable share: a scenario's shard depends on its name alone, so
    adding a scenario moves no other. A scenario's cells stay together."""
    if not shard:
        return True
    i, n = shard
    return zlib.crc32(name.encode()) % n == i - 1


def load_scenarios(binary, a):
    """The selected scenarios (--select, --tag, --shard), each as `show
    --json` gives it, and the whole catalog's names in order."""
    args = [binary, "list", "--json"] + catalog_args(a)
    p = subprocess.run(args, capture_output=True, text=True)
    if p.returncode != 0:
        err = (p.stderr.strip() or f"rdpfault list exited {p.returncode}")
        err = err.replace("rdpfault list: ", "")
        raise (CatalogError if p.returncode == EXIT_CATALOG else UsageError)(err)
    every = json.loads(p.stdout)
    globs = [g for g in a.select.split(",") if g]
    picked = [s["name"] for s in every
              if any(fnmatch.fnmatch(s["name"], g) or fnmatch.fnmatch(s.get("alias") or "", g)
                     or fnmatch.fnmatch(s.get("template") or "", g) for g in globs)
              and all(t in s.get("tags", []) for t in a.tag)]
    if not picked:
        raise NoScenario(f"--select '{a.select}'" + "".join(f" --tag {t}" for t in a.tag) +
                         " selects no scenario (see 'rdpfault list')")
    names = [n for n in picked if in_shard(n, a.shard)]
    out = []
    for n in names:
        p = subprocess.run([binary, "show", n, "--json"] + catalog_args(a),
                           capture_output=True, text=True, check=True)
        out.append(json.loads(p.stdout))
    return out, [s["name"] for s in every]


def expectation(sc, client):
    """The scenario file's expectation for the client, else the client
    file's (first glob that matches), else None."""
    for e in sc.get("expect", []):
        if e["client"] == client["name"]:
            return e
    for glob, e in client["expect"].items():
        if fnmatch.fnmatch(sc["name"], glob):
            return dict(e, client=client["name"])
    return None


# ---------------------------------------------------------------- a cell

def build_argv(client, sc, expect, host, port):
    args = shlex.split(expect.get("args", "").replace("{port}", str(port)))
    user = sc["name"]
    values = {"host": host, "port": port, "user": user, "cookie": user, "scenario": sc["name"],
              "password": sc.get("account_password") or "rdpfault-nla"}
    argv = []
    shell = client["command"][:2] == ["/bin/sh", "-c"]
    for a in client["command"]:
        if a == "{args}":
            argv += args
            continue
        if a.startswith("/v:") and any(x.startswith("/v:") for x in args):
            continue  # the scenario's own /v: replaces the default
        argv.append(a.replace("{args}", " ".join(shlex.quote(x) for x in args))
                    .format(**{k: shlex.quote(str(v)) if shell else v
                               for k, v in values.items()}))
    if "{args}" not in " ".join(client["command"]):
        argv += args
    return argv


class Target:
    """Where the cells connect: a harness this run started, or a running
    one (--connect)."""

    def __init__(self, harness=None, host=None, port_base=None, events=None, addresses=None,
                 time_scale=1.0):
        self.h, self.host, self.port_base = harness, host, port_base
        self.time_scale = time_scale
        self.events_path = events
        self.addresses = addresses or {}
        self._reader = None
        if events and not harness:
            self._reader = rf.EventLog(events)

    def events(self, max_bytes=-1):
        if self.h:
            return self.h.events(max_bytes=max_bytes)
        if self._reader:
            return self._reader.events(max_bytes=max_bytes)
        return []

    def where(self, client, sc):
        if client["port_3389"]:
            addr = self.addresses.get(sc["name"])
            return (addr, 3389) if addr else (None, None)
        base = self.h.port_base if self.h else self.port_base
        return (self.host or "127.0.0.1"), base + sc["port_offset"]


def settle_s(sc, time_scale):
    """How long an active session must stay up to count as connected: past
    every timer of the scenario's own that may still end it (a fault's
    after_ms at or after activation, a deny's close_after_ms) and the 500 ms
    hold after a message."""
    wait = 0.0
    for f in sc.get("faults", []):
        p = f.get("params", {})
        for k in ("after_ms", "close_after_ms"):
            try:
                wait = max(wait, int(p.get(k, 0)) / 1000.0 * time_scale)
            except ValueError:
                pass
    # A link that goes silent at activation: a client still finishing its
    # own activation would give up on its timer (xfreerdp 2.11: 10 s,
    # "Timeout waiting for activation"); connected means past it.
    for n in sc.get("network", []):
        if n.get("trigger", {}).get("from_phase") in ("finalization", "active"):
            wait = max(wait, ACTIVATION_TIMER_S)
    return CONNECTED_S + wait + (0.5 if sc.get("faults") else 0)


def live_sessions(events):
    """Connections that became active and that the server has not ended:
    no close, no cut (a reset or close fault), no close after a message."""
    active = {e["conn"] for e in events if e.get("phase") == "active"}
    ended = {e["conn"] for e in events if e["event"] in ("close", "close-sequence") or
             (e["event"] == "fault" and e.get("action") in ("reset", "close"))}
    return active - ended


class OwnPort(Target):
    """One listener whose default is the cell's scenario."""

    def __init__(self, harness, port, time_scale):
        super().__init__(harness=harness, time_scale=time_scale)
        self.port = port

    def where(self, client, sc):
        return "127.0.0.1", self.port


def run_cell_alone(extra, display, client, sc, expect, timeout_s, time_scale):
    """A schedule scenario counts each client address's connections: every
    run of its cells gets a harness of its own, so that it starts at the
    schedule's first step whatever ran before."""
    if client["port_3389"]:
        return {"status": "skipped", "why": "a schedule scenario's cells run on a port of "
                "their own, and this client needs port 3389"}
    port = rf.free_ports(1)[0]
    h = rf.Harness(extra_args=extra, listen=f"127.0.0.1:{port}={sc['name']}", port_base=False)
    h.start()
    try:
        return run_cell(OwnPort(h, port, time_scale), display, client, sc, expect, timeout_s)
    finally:
        h.stop()
        h.cleanup()


def run_cell(target, display, client, sc, expect, timeout_s):
    host, port = target.where(client, sc)
    if host is None:
        return {"status": "skipped", "why": "the client needs port 3389 on an address of the "
                "scenario's own: start the harness with --address-base and give --events"}
    argv = build_argv(client, sc, expect, host, port)
    env = dict(os.environ)
    # The project's own clients (rdpfault-mtclient) live beside rdpfault.
    env["PATH"] = os.path.dirname(rf.rdpfault_binary()) + os.pathsep + env.get("PATH", "")
    if client["display"] and display:
        env["DISPLAY"] = display
    home = None
    if client["fresh_home"]:
        home = tempfile.mkdtemp(prefix="rfhome-")
        env["HOME"] = home
    before = {e["conn"] for e in target.events() if e["event"] == "accept"}

    def mine(events):
        ids = {e["conn"] for e in events if e["event"] == "scenario"
               and sc["name"] in (e["scenario"], e.get("schedule"))
               and e["conn"] not in before}
        return [e for e in events if e.get("conn") in ids]

    out = tempfile.TemporaryFile()
    t0 = time.monotonic()
    # stdout and stderr share one file, in the order the client wrote them:
    # line-buffered (stdbuf for C stdio, PYTHONUNBUFFERED for Python), or a
    # client's buffered stdout would land after its unbuffered stderr.
    env["PYTHONUNBUFFERED"] = "1"
    run_argv = argv
    if shutil.which(argv[0], path=env["PATH"]) is None:
        return {"status": "error", "why": f"cannot run {argv[0]}: not found", "argv": argv,
                "seconds": 0.0, "output": "", "events": []}
    if shutil.which("stdbuf"):
        run_argv = ["stdbuf", "-oL", "-eL"] + argv
        # stdbuf works by LD_PRELOAD, which an ASan-built client (the
        # project's own rdpfault-mtclient in a sanitizer build) refuses
        # unless told the order does not matter.
        opts = env.get("ASAN_OPTIONS", "")
        env["ASAN_OPTIONS"] = (opts + ":" if opts else "") + "verify_asan_link_order=0"
    try:
        p = subprocess.Popen(run_argv, stdin=subprocess.PIPE, stdout=out,
                             stderr=subprocess.STDOUT, env=env)
    except OSError as e:
        return {"status": "error", "why": f"cannot run {argv[0]}: {e.strerror}", "argv": argv,
                "seconds": 0.0, "output": "", "events": []}
    try:
        p.stdin.write(client["stdin"])
        p.stdin.close()
    except BrokenPipeError:
        pass
    rc, active, unbounded, hung, timed_out = None, False, False, False, False
    all_closed_at = None
    active_since = None
    settle = settle_s(sc, target.time_scale)
    deadline = t0 + timeout_s
    while True:
        rc = p.poll()
        if rc is not None:
            break
        if time.monotonic() >= deadline:
            timed_out = True
            break
        events = mine(target.events(max_bytes=POLL_BYTES))
        active = bool(live_sessions(events))
        active_since = (active_since or time.monotonic()) if active else None
        if client["verdict"] == "session" and (
                (active and time.monotonic() - active_since >= settle) or
                (not target.events_path and not target.h and
                 time.monotonic() - t0 >= NO_EVENTS_S)):
            break
        n_accepts = sum(e["event"] == "accept" for e in events)
        if n_accepts > MAX_CONNECTIONS:
            unbounded = True
            break
        if n_accepts and n_accepts == sum(e["event"] == "close" for e in events):
            all_closed_at = all_closed_at or time.monotonic()
            if time.monotonic() - all_closed_at >= HUNG_S:
                hung = True
                break
        else:
            all_closed_at = None
        time.sleep(0.1)
    still_running = rc is None
    if still_running:
        rf.end_process(p)
    size = out.seek(0, os.SEEK_END)
    out.seek(0)
    if size <= MAX_OUTPUT:
        text = out.read().decode("utf-8", "replace")
    else:
        head = out.read(MAX_OUTPUT // 2)
        out.seek(size - MAX_OUTPUT // 2)
        text = (head + b"\n[... output cut ...]\n" + out.read()).decode("utf-8", "replace")
    out.close()
    time.sleep(0.3)  # the harness logs the close of what the client left
    if home:
        subprocess.run(["rm", "-rf", home])
    if client["verdict"] == "exit":
        s = client["success"]
        connected = (rc is not None and rc == s["exit"] and s.get("log", "") in text)
    else:
        connected = still_running and not (unbounded or hung or timed_out)
    new = mine(target.events())
    accepts = [e["conn"] for e in new if e["event"] == "accept"]
    closes = {e["conn"]: e for e in new if e["event"] == "close"}
    return {
        "status": "ran", "argv": argv, "host": host, "port": port,
        "exit": None if still_running else rc,
        "connected": connected, "unbounded_retries": unbounded, "hung": hung,
        "timed_out": timed_out and not connected,
        "output": text, "seconds": round(time.monotonic() - t0, 1),
        "connections": len(accepts),
        "faults": [{"action": e["action"], "at": e["at"], "conn": e["conn"]}
                   for e in new if e["event"] == "fault"],
        "ends": [{"conn": c, "last_phase": closes[c]["last_phase"],
                  "reason": closes[c]["reason"]} if c in closes
                 else {"conn": c, "last_phase": "open", "reason": "open"} for c in accepts],
        "events": new,
    }


def check(result, expect, sc):
    """What differs between a run and its expectation (and, for a scenario
    with faults, between the faults and where the server's log shows them)."""
    problems = []
    for f in sc.get("faults", []):
        at = f.get("at")
        if at not in PHASES:
            continue
        # Due when a connection went past the phase, or stopped there for
        # the server's reasons (not when the client left at that moment).
        due = any(e["last_phase"] in PHASES and
                  (PHASES.index(e["last_phase"]) > PHASES.index(at) or
                   (e["last_phase"] == at and not e["reason"].startswith("client")))
                  for e in result["ends"])
        seen = [(x["action"], x["at"]) for x in result["faults"]]
        if due and (f["action"], at) not in seen:
            problems.append(f"the event log shows no {f['action']} at {at} (saw "
                            + (", ".join(f"{x} at {y}" for x, y in seen) or "none") + ")")
    want = expect["result"]
    got = ("retries-forever" if result["unbounded_retries"] else
           "hangs" if result["hung"] else
           "connected" if result["connected"] else
           "timed out" if result["timed_out"] else "failed")
    if got != want:
        problems.append(f"expected {want}, got {got}"
                        + (f" (exit {result['exit']})" if result["exit"] is not None else "")
                        + (f" after {result['connections']} connections"
                           if want == "retries-forever" else ""))
        return problems
    if "exit" in expect and (result["exit"] is not None or want == "failed") and \
            result["exit"] != expect["exit"]:
        problems.append(f"exit code {result['exit']}, expected {expect['exit']}")
    if "log" in expect and expect["log"] not in result["output"]:
        problems.append(f"output lacks {expect['log']!r}")
    return problems


def outcome(result, problems=None):
    """One run's outcome as a short string: what the client did, its exit
    code, and what differed from the expectation."""
    got = ("retries-forever" if result.get("unbounded_retries") else
           "hangs" if result.get("hung") else
           "connected" if result.get("connected") else
           "timed out" if result.get("timed_out") else "failed")
    text = got + (f", exit {result['exit']}" if result.get("exit") is not None else "")
    problems = result.get("problems") if problems is None else problems
    return text + (" (" + "; ".join(problems) + ")" if problems else "")


def run_summary(result):
    return {"outcome": outcome(result), "exit": result.get("exit"),
            "seconds": result.get("seconds", 0), "connections": result.get("connections", 0),
            "verdict": "drift" if result.get("problems") else "pass"}


def outcome_counts(runs):
    counts = {}
    for r in runs:
        counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
    return counts


# ---------------------------------------------------------------- progress

class Progress:
    """A live line on a terminal; one plain line per cell otherwise."""

    def __init__(self, total, stream=sys.stderr):
        self.total, self.done, self.bad = total, 0, 0
        self.stream, self.tty = stream, stream.isatty()
        self.lock = threading.Lock()
        self.t0 = time.monotonic()

    def eta(self):
        """The time left at the pace so far, once a cell has run."""
        if not self.done or self.done >= self.total:
            return ""
        left = (time.monotonic() - self.t0) / self.done * (self.total - self.done)
        return f", ETA {int(left) // 60}m{int(left) % 60:02d}s"

    def cell(self, cell):
        with self.lock:
            self.done += 1
            self.bad += cell["status"] in ("drift", "unstable", "error")
            word = {"pass": "pass", "drift": "DRIFT", "unstable": "UNSTABLE",
                    "skipped": "skipped", "error": "ERROR"}[cell["status"]]
            line = f"{word:<8} {cell['scenario']} x {cell['client']} ({cell.get('seconds', 0)} s)"
            if cell.get("problems"):
                line += ": " + "; ".join(cell["problems"])
            if len(cell.get("runs", [])) > 1 and cell["status"] == "pass":
                line += f" {len(cell['runs'])} runs, one outcome"
            if self.tty:
                width = 30
                fill = width * self.done // max(self.total, 1)
                bar = "#" * fill + "." * (width - fill)
                if cell["status"] != "pass":
                    self.stream.write("\r\033[K" + line + "\n")
                status = (f"[{bar}] {self.done}/{self.total}, {self.bad} not pass{self.eta()}  "
                          f"{cell['scenario']} x {cell['client']}")
                # One line: never wider than the terminal, or it would scroll.
                width = shutil.get_terminal_size((100, 24)).columns
                self.stream.write("\r\033[K" + status[:max(width - 1, 20)])
            else:
                self.stream.write(f"[{self.done}/{self.total}] {line}\n")
            self.stream.flush()

    def record(self, cell):
        """--record: what the client did, in the scenario file's terms."""
        got = ("retries-forever" if cell["unbounded_retries"] else "hangs" if cell["hung"] else
               "connected" if cell["connected"] else f"failed, exit {cell['exit']}")
        lines = matrix_report.tail(cell.get("output", ""), 8)
        with self.lock:
            self.done += 1
            faults = ", ".join(f"{f['action']} at {f['at']}" for f in cell["faults"]) or "none"
            ends = ", ".join(f"{e['reason']} at {e['last_phase']}" for e in cell["ends"])
            self.stream.write(f"{cell['scenario']} x {cell['client']}: {got} "
                              f"({cell['connections']} connection(s), {cell['seconds']} s; "
                              f"faults {faults}; ends {ends})\n")
            self.stream.write("".join(f"    {ln}\n" for ln in lines.splitlines()))
            self.stream.flush()

    def end(self):
        if self.tty:
            self.stream.write("\n")


# ---------------------------------------------------------------- the run

def addresses_for(names, catalog):
    """127.0.1.1, 127.0.1.2, ...: one loopback address per scenario, for the
    clients that can only reach port 3389; by the scenario's place in the
    whole catalog, so the shards of one run on one host never share one."""
    return {n: f"127.0.{1 + i // 250}.{1 + i % 250}" for i, n in enumerate(catalog)
            if n in names}


def addresses_from_log(path):
    """A running harness's port-3389 listeners (serve --address-base, or
    --listen ADDR:3389=SCENARIO), from its start event: scenario -> address."""
    out = {}
    try:
        with open(path) as f:
            for line in f:
                e = json.loads(line)
                if e.get("event") != "start":
                    continue
                for ls in e.get("listeners", []):
                    host, _, port = ls["address"].rpartition(":")
                    if port == "3389":
                        out.setdefault(ls["scenario"], host.strip("[]"))
    except (OSError, ValueError):
        pass
    return out


def run_matrix(a, clients, scenarios, catalog, progress_stream=sys.stderr):
    cells = []
    for sc in scenarios:
        for cname in a.clients:
            e = expectation(sc, clients[cname])
            cells.append({"scenario": sc["name"], "client": cname, "expect": e, "sc": sc})
    if a.record:  # measure every cell, the file's silence included
        for c in cells:
            c["expect"] = c["expect"] or {"client": c["client"], "result": "failed"}
    todo = [c for c in cells if c["expect"]]
    for c in cells:
        if not c["expect"]:
            c.update(status="skipped", why="no expectation for this client", seconds=0)
    need_3389 = sorted({c["scenario"] for c in todo if clients[c["client"]]["port_3389"]})
    addrs = addresses_for(set(need_3389), catalog)
    progress = Progress(len(cells), progress_stream)
    for c in cells:
        if c.get("status") == "skipped":
            progress.cell(c)
    harness = None
    extra = ["--time-scale", str(a.time_scale)] if a.time_scale != 1 else []
    extra += catalog_args(a)
    own_extra = list(extra)  # a schedule cell's own harness: no shared listeners
    if a.connect:
        target = Target(host=a.connect, port_base=a.port_base, events=a.events,
                        addresses=addresses_from_log(a.events) if a.events else None)
    else:
        extra += [x for n in need_3389 for x in ("--listen", f"{addrs[n]}:3389={n}")]
        harness = rf.Harness(extra_args=extra)
        harness.start()
        target = Target(harness=harness, addresses=addrs, time_scale=a.time_scale)
    display = None
    load = rf.CpuLoad(a.load) if a.load else None
    t0 = time.monotonic()
    try:
        if load:
            load.start()
        need_display = any(clients[c["client"]]["display"] for c in todo)
        if need_display and not os.environ.get("DISPLAY"):
            display = rf.Display()
            display.__enter__()
        dname = display.name if display else os.environ.get("DISPLAY")
        # One scenario's cells run one after another: a cell's connections
        # are the new ones its scenario served.
        groups = {}
        for c in todo:
            groups.setdefault(c["scenario"], []).append(c)

        def run_one(c, client):
            if c["sc"].get("schedule") and a.connect:
                return {"status": "skipped", "why": "a schedule scenario counts each client "
                        "address's connections: its cells need a harness of their own (not "
                        "with --connect)"}
            if c["sc"].get("schedule"):
                return run_cell_alone(own_extra, dname, client, c["sc"], c["expect"],
                                      a.timeout or client["timeout_s"], a.time_scale)
            return run_cell(target, dname, client, c["sc"], c["expect"],
                            a.timeout or client["timeout_s"])

        def run_group(group):
            for c in group:
                client = clients[c["client"]]
                r = run_one(c, client)
                c.update(r)
                if r["status"] == "ran" and a.record:
                    c["status"], c["problems"] = "pass", []
                    progress.record(c)
                    continue
                if r["status"] == "ran":
                    c["problems"] = check(r, c["expect"], c["sc"])
                    c["status"] = "drift" if c["problems"] else "pass"
                # --repeat N: the same cell N times. One cell, one outcome:
                # two different outcomes make it unstable, whatever the
                # expectation says.
                runs = [run_summary(c)]
                for _ in range(a.repeat - 1):
                    if r["status"] != "ran":
                        break
                    r = run_one(c, client)
                    if r["status"] != "ran":
                        c.update(r)
                        break
                    r["problems"] = check(r, c["expect"], c["sc"])
                    runs.append(run_summary(r))
                    if r["problems"] and not c["problems"]:
                        c.update(r)  # the reports show a run that drifted
                        c["status"] = "drift"
                c["runs"] = runs
                c["outcomes"] = outcome_counts(runs)
                if len(c["outcomes"]) > 1:
                    c["status"] = "unstable"
                    c["problems"] = ["unstable: " + ", ".join(
                        f"{o} x{n}" for o, n in c["outcomes"].items())]
                progress.cell(c)

        # Longest first keeps the workers busy to the end.
        order = sorted(groups.values(), key=lambda g: -len(g))
        with ThreadPoolExecutor(a.jobs) as pool:
            list(pool.map(run_group, order))
    finally:
        progress.end()
        if load:
            load.stop()
        if display:
            display.__exit__(None, None, None)
        if harness:
            harness.stop()
            harness.cleanup()
    wall = round(time.monotonic() - t0, 1)
    for c in cells:
        sc = c.pop("sc", None)
        if sc:
            c["file"] = sc.get("file")
    return cells, wall


def shard_arg(text):
    m = re.fullmatch(r"(\d+)/(\d+)", text)
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)) <= 64:
        raise argparse.ArgumentTypeError(f"'{text}': expected I/N, 1 <= I <= N <= 64 (e.g. 2/3)")
    return int(m.group(1)), int(m.group(2))


def _reports(ap):
    ap.add_argument("--junit", metavar="FILE", help="write a JUnit XML report")
    ap.add_argument("--json-report", metavar="FILE",
                    help="write the results as JSON (docs/matrix.schema.json)")
    ap.add_argument("--html", metavar="FILE", help="write a self-contained HTML report")
    ap.add_argument("--json", dest="old_json", metavar="FILE", help=argparse.SUPPRESS)
    ap.add_argument("--rdpfault", default=None, help=argparse.SUPPRESS)


EPILOG = ("Exit codes: 0 every cell passed, 1 a cell could not run, 2 usage error, 3 invalid "
          "catalog, 4 no scenario selected, 5 a cell drifted or was unstable. "
          "'rdpfault matrix merge --help': join the reports of --shard runs. "
          "Client files: docs/matrix.md.")


def parse_args(argv, clients_hint=""):
    ap = Parser(
        prog="rdpfault matrix",
        description="Run clients against scenarios and compare each outcome with the "
                    "scenario's expectation for that client.", epilog=EPILOG)
    ap.add_argument("--select", default="*", metavar="GLOB[,GLOB...]",
                    help="scenarios to run, by name, alias or template (default: all)")
    ap.add_argument("--tag", action="append", default=[], metavar="TAG",
                    help="only scenarios tagged TAG (repeatable: every one)")
    ap.add_argument("--scenario-dir", "-s", metavar="DIR",
                    help="the scenario directory (default: the installed catalog)")
    ap.add_argument("--set", action="append", default=[], metavar="NAME.PATH=VALUE",
                    help="change a scenario's field first (as serve --set)")
    ap.add_argument("--clients", default="xfreerdp,rdesktop,nmap,impacket", metavar="LIST",
                    help="clients to run, by name" + clients_hint)
    ap.add_argument("--client-file", action="append", default=[], metavar="FILE",
                    help="a client of your own (YAML; repeatable)")
    ap.add_argument("--jobs", "-j", type=int, default=3, help="cells run at once (default 3)")
    ap.add_argument("--shard", type=shard_arg, metavar="I/N",
                    help="run the I-th of N stable shares of the scenarios (by name), for "
                         "one report per machine; join them with 'rdpfault matrix merge'")
    ap.add_argument("--timeout", type=float, default=None, metavar="S",
                    help="per-cell timeout in seconds (default: the client's, 60)")
    ap.add_argument("--time-scale", type=float, default=1.0, metavar="F",
                    help="scale the server's own waits (serve --time-scale), e.g. 0.2")
    ap.add_argument("--connect", metavar="HOST",
                    help="use a running harness on HOST instead of starting one")
    ap.add_argument("--port-base", type=int, metavar="PORT",
                    help="with --connect: the harness's --port-base")
    ap.add_argument("--events", metavar="FILE",
                    help="with --connect: the harness's event log (for phases and faults)")
    _reports(ap)
    ap.add_argument("--repeat", type=int, default=1, metavar="N",
                    help="run every cell N times (1-100); a cell with two different outcomes "
                         "is unstable and fails the run (default 1)")
    ap.add_argument("--load", type=int, default=0, metavar="N",
                    help="contend the CPU while the cells run: N busy loops (0-64; 0, the "
                         "default, none), each ended with the run")
    ap.add_argument("--record", action="store_true",
                    help="run every selected cell, expectation or not, and print what each "
                         "client did (to write expectations) instead of comparing")
    ap.add_argument("--scenarios", dest="old_scenarios", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.old_scenarios is not None:
        raise UsageError("--scenarios is now --select GLOB (the scenarios to run); "
                         "--scenario-dir DIR is the catalog")
    if a.old_json is not None:
        raise UsageError("--json FILE is now --json-report FILE (--json alone means JSON on "
                         "stdout in rdpfault's other commands)")
    return a


def rdpfault_version(binary):
    try:
        p = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
        return p.stdout.strip().split()[-1] if p.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, IndexError):
        return None


def client_version(client, env_path):
    """What the client file's `version` command prints: the version number
    found on its first line with one, and that line."""
    cmd = client.get("version_cmd")
    if not cmd:
        return {"version": None, "said": "the client file has no version command"}
    env = dict(os.environ, PATH=env_path)
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=10, env=env,
                           stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        return {"version": None, "said": f"cannot run {cmd[0]}: {e}"}
    for line in (p.stdout + "\n" + p.stderr).splitlines():
        m = re.search(r"\d+(?:\.\d+)+(?:[+~-][\w.+~-]*)?", line)
        if m:
            return {"version": m.group(0).rstrip("."), "said": line.strip()[:200]}
    return {"version": None, "said": (p.stdout + p.stderr).strip()[:200]}


def make_meta(a, clients, binary, wall):
    path = os.path.dirname(binary) + os.pathsep + os.environ.get("PATH", "")
    return {"schema_version": REPORT_SCHEMA_VERSION, "rdpfault": rdpfault_version(binary),
            "hostname": socket.gethostname(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - wall)),
            "wall_s": wall, "select": a.select, "tags": a.tag,
            "scenario_dir": a.scenario_dir, "set": a.set,
            "shard": f"{a.shard[0]}/{a.shard[1]}" if a.shard else None,
            "shards": None, "jobs": a.jobs, "time_scale": a.time_scale, "repeat": a.repeat,
            "load": a.load,
            "clients": [dict(client_version(clients[c], path), name=c, file=clients[c]["file"])
                        for c in a.clients]}


def write_reports(a, cells, summary, meta):
    if a.json_report:
        matrix_report.write_json(a.json_report, cells, summary, meta)
    if a.junit:
        matrix_report.write_junit(a.junit, cells, summary, meta)
    if a.html:
        matrix_report.write_html(a.html, cells, summary, meta, PHASES)


def verdict_code(summary):
    if summary["drift"] or summary["unstable"]:
        return EXIT_MISMATCH
    return EXIT_RUNTIME if summary["error"] else EXIT_OK


def say_summary(summary, repeat=1, wall=None):
    runs = f" ({repeat} runs each)" if repeat > 1 else ""
    print(f"{summary['pass']} pass{runs}, {summary['drift']} drift, "
          f"{summary['unstable']} unstable, {summary['error']} error, "
          f"{summary['skipped']} skipped" + (f", in {wall} s" if wall is not None else ""),
          file=sys.stderr)


def merge_main(argv):
    """rdpfault matrix merge: the JSON reports of --shard runs into one
    report (JSON, JUnit, HTML), as if one run had made it."""
    ap = Parser(prog="rdpfault matrix merge",
                description="Join the JSON reports (--json-report) of 'rdpfault matrix "
                            "--shard I/N' runs into one JSON, JUnit and HTML report.",
                epilog=EPILOG)
    ap.add_argument("reports", nargs="+", metavar="SHARD.json")
    _reports(ap)
    a = ap.parse_args(argv)
    if a.old_json is not None:
        raise UsageError("--json FILE is now --json-report FILE")
    if not (a.json_report or a.junit or a.html):
        raise UsageError("say where to write: --json-report, --junit or --html")
    cells, metas, seen = [], [], {}
    for path in a.reports:
        try:
            with open(path) as f:
                doc = json.load(f)
        except OSError as e:
            raise UsageError(f"{path}: cannot read: {e.strerror}")
        except ValueError as e:
            raise UsageError(f"{path}: not JSON: {e}")
        meta = doc.get("meta") if isinstance(doc, dict) else None
        if not isinstance(meta, dict) or not isinstance(doc.get("cells"), list):
            raise UsageError(f"{path}: not a matrix report (no meta and cells)")
        if meta.get("schema_version") != REPORT_SCHEMA_VERSION:
            raise UsageError(f"{path}: meta.schema_version {meta.get('schema_version')!r}, "
                             f"expected {REPORT_SCHEMA_VERSION}")
        for c in doc["cells"]:
            key = (c.get("scenario"), c.get("client"))
            if key in seen:
                raise UsageError(f"{path}: {key[0]} x {key[1]} is also in {seen[key]}: "
                                 "two reports of the same shard?")
            seen[key] = path
            cells.append(c)
        metas.append(meta)
    versions = {m.get("rdpfault") for m in metas}
    if len(versions) > 1:
        print(f"rdpfault matrix merge: warning: the shards ran different rdpfault versions: "
              f"{', '.join(sorted(str(v) for v in versions))}", file=sys.stderr)
    shards = sorted(m.get("shard") or "all" for m in metas)
    clients = {}
    for m in metas:
        for c in m.get("clients", []):
            clients.setdefault(c["name"], c)
    wall = max(m.get("wall_s", 0) for m in metas)
    meta = dict(metas[0], shard=None, shards=shards, wall_s=wall,
                started=min(m.get("started", "") for m in metas),
                hostname=",".join(sorted({m.get("hostname", "") for m in metas})),
                clients=list(clients.values()))
    summary = matrix_report.summary(cells, wall)
    try:
        write_reports(a, cells, summary, meta)
    except OSError as e:
        print(f"rdpfault matrix merge: cannot write a report: {e}", file=sys.stderr)
        return EXIT_RUNTIME
    print(f"{len(a.reports)} reports, {len(cells)} cells:", end=" ", file=sys.stderr)
    say_summary(summary)
    return verdict_code(summary)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--rdpfault"] and len(argv) >= 2:
        os.environ["RDPFAULT_BIN"] = argv[1]
        argv = argv[2:]
    prog = "rdpfault matrix"
    try:
        if argv[:1] == ["merge"]:
            prog = "rdpfault matrix merge"
            return merge_main(argv[1:])
        a = parse_args(argv)
        if not 1 <= a.repeat <= 100:
            raise UsageError(f"--repeat {a.repeat}: expected 1-100")
        if not 0 <= a.load <= 64:
            raise UsageError(f"--load {a.load}: expected 0-64")
        if not 1 <= a.jobs <= 64:
            raise UsageError(f"--jobs {a.jobs}: expected 1-64")
        if a.timeout is not None and not 1 <= a.timeout <= 3600:
            raise UsageError(f"--timeout {a.timeout}: expected 1-3600 seconds")
        if not 0.01 <= a.time_scale <= 100:
            raise UsageError(f"--time-scale {a.time_scale}: expected 0.01-100")
        if a.connect and a.port_base is None:
            raise UsageError("--connect needs --port-base (the running harness's)")
        if (a.port_base is not None or a.events) and not a.connect:
            raise UsageError("--port-base and --events go with --connect")
        if a.connect and a.time_scale != 1:
            raise UsageError("--time-scale applies to a harness this run starts; start yours "
                             "with serve --time-scale")
        if a.scenario_dir and not os.path.isdir(a.scenario_dir):
            raise UsageError(f"--scenario-dir {a.scenario_dir}: not a directory")
        clients = load_clients(a.client_file)
        a.clients = [c for c in a.clients.split(",") if c]
        for c in a.clients:
            if c not in clients:
                raise UsageError(f"--clients: unknown client '{c}' (known: "
                                 f"{', '.join(sorted(clients))}; add one with --client-file)")
        binary = rf.rdpfault_binary()
        scenarios, catalog = load_scenarios(binary, a)
    except UsageError as e:
        print(f"{prog}: {e}", file=sys.stderr)
        if e.code == EXIT_USAGE:
            print(f"{prog}: try '{prog} --help'", file=sys.stderr)
        return e.code
    if not scenarios:
        print(f"rdpfault matrix: shard {a.shard[0]}/{a.shard[1]} holds none of the selected "
              "scenarios: nothing to run", file=sys.stderr)
    cells, wall = run_matrix(a, clients, scenarios, catalog) if scenarios else ([], 0.0)
    summary = matrix_report.summary(cells, wall)
    meta = make_meta(a, clients, binary, wall)
    try:
        write_reports(a, cells, summary, meta)
    except OSError as e:
        print(f"rdpfault matrix: cannot write a report: {e}", file=sys.stderr)
        return EXIT_RUNTIME
    if a.record:
        print(f"{summary['pass']} cells recorded, {summary['error']} errors, in {wall} s",
              file=sys.stderr)
        return EXIT_OK if summary["error"] == 0 else EXIT_RUNTIME
    say_summary(summary, a.repeat, wall)
    code = verdict_code(summary)
    if code == EXIT_OK and summary["pass"] == 0 and scenarios and not a.shard:
        print("rdpfault matrix: no cell ran (every one skipped)", file=sys.stderr)
        return EXIT_RUNTIME
    return code


if __name__ == "__main__":
    sys.exit(main())

"""catalog — runs real clients against every scenario that names them in
its `expect:` section and compares what each client did with what the file
says: the exit code, a line of its output, and whether it connected (still
running after a few seconds, with the harness's event log showing phase
`active`).

The clients are declared here as data: an argv template ({host}, {port},
{user}, {password} are filled in; a scenario's `args` are appended, and an
`/v:` in them replaces the default one), whether they need a display, what
they read on stdin, and whether they can only reach port 3389.

    python3 catalog.py [--record] [--clients xfreerdp,rdesktop] [--scenarios GLOB]

--record prints what each client really did, in the scenario file's terms,
instead of comparing.
"""

import argparse
import fnmatch
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfharness as rf  # noqa: E402

CONNECTED_S = 5   # a client still running this long after start, with phase active, connected
HUNG_S = 5        # a client still running this long after the server closed all it had, hung
FAIL_TIMEOUT_S = 60
MAX_CONNECTIONS = 20  # more from one run: the client retries without bound; it is stopped
MAX_OUTPUT = 1 << 20  # bytes of a client's output kept (its start and its end)
# Log a poll parses at most: a client that reconnects without bound is seen
# (and stopped) within a poll or two instead of after its whole flood is read.
POLL_BYTES = 1 << 20

# The phase model (docs/events.md), in connection order.
PHASES = ["tcp-accept", "x224-request", "x224-confirm", "tls-client-hello", "tls-server-hello",
          "tls-finished", "credssp", "mcs-connect", "erect-domain", "attach-user", "channel-join",
          "security-exchange", "client-info", "licensing", "capabilities", "confirm-active",
          "finalization", "active"]

CLIENTS = {
    "xfreerdp": {
        "argv": ["xfreerdp", "/v:{host}:{port}", "/u:{user}", "/p:{password}", "/size:1024x768"],
        "display": True,
        "stdin": b"",
    },
    "rdesktop": {
        # rdesktop asks about certificates on stdin (and crashes at EOF), pins
        # certificates under $HOME, and puts the host last.
        "argv": ["rdesktop", "-u", "{user}", "-p", "{password}", "{args}", "{host}:{port}"],
        "display": True,
        "stdin": b"yes\nyes\nyes\n",
        "fresh_home": True,
    },
    "impacket": {
        # rdp_check sends no cookie and only targets port 3389.
        "argv": ["/usr/bin/python3", "/usr/share/doc/python3-impacket/examples/rdp_check.py",
                 "{user}:{password}@{host}"],
        "port_3389": True,
        "stdin": b"",
        # A one-shot check: it "connected" when it exits with this code and
        # prints this line.
        "success": {"exit": 0, "log": "[*] Access Granted"},
    },
    "nmap": {
        # rdp-enum-encryption probes each security layer in turn (nine
        # connections); its port rule wants 3389. -d prints the failures.
        "argv": ["nmap", "-n", "-Pn", "-p", "3389", "--script", "rdp-enum-encryption", "-d",
                 "{host}"],
        "port_3389": True,
        "stdin": b"",
        "success": {"exit": 0, "log": ": SUCCESS"},
    },
}


def scenarios(pattern="*"):
    out = subprocess.run([rf.rdpfault_binary(), "list", "--json"], capture_output=True,
                         text=True, check=True).stdout
    names = [s["name"] for s in json.loads(out) if fnmatch.fnmatch(s["name"], pattern)]
    result = []
    for n in names:
        show = subprocess.run([rf.rdpfault_binary(), "show", n, "--json"], capture_output=True,
                              text=True, check=True).stdout
        result.append(json.loads(show))
    return result


def build_argv(client, sc, expect, port):
    spec = CLIENTS[client]
    args = shlex.split(expect.get("args", "").replace("{port}", str(port)))
    user = sc["name"]
    password = sc.get("account_password") or "rdpfault-nla"
    argv = []
    for a in spec["argv"]:
        if a == "{args}":
            argv += args
            continue
        if a.startswith("/v:") and any(x.startswith("/v:") for x in args):
            continue
        argv.append(a.format(host="127.0.0.1", port=port, user=user, password=password))
    if "{args}" not in spec["argv"]:
        argv += [x for x in args]
    return argv


def run_one(h, display, client, sc, expect):
    """Runs one client against one scenario; returns what happened."""
    spec = CLIENTS[client]
    port = 3389 if spec.get("port_3389") else h.scenario_port(sc["port_offset"])
    argv = build_argv(client, sc, expect, port)
    env = dict(os.environ)
    if spec.get("display"):
        env["DISPLAY"] = display
    home = None
    if spec.get("fresh_home"):
        home = tempfile.mkdtemp(prefix="rfhome-")
        env["HOME"] = home
    before = {e["conn"] for e in h.events() if e["event"] == "accept"}

    def mine(events):
        """This run's connections: new ones that this scenario served."""
        ids = {e["conn"] for e in events if e["event"] == "scenario"
               and e["scenario"] == sc["name"] and e["conn"] not in before}
        return [e for e in events if e["conn"] in ids]

    out = tempfile.TemporaryFile()
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT,
                         env=env)
    try:
        p.stdin.write(spec["stdin"])
        p.stdin.close()
    except BrokenPipeError:
        pass
    rc = None
    active = False
    unbounded = False
    hung = False
    all_closed_at = None
    deadline = t0 + FAIL_TIMEOUT_S
    while time.monotonic() < deadline:
        rc = p.poll()
        if rc is not None:
            break
        events = mine(h.events(max_bytes=POLL_BYTES))
        active = any(e.get("phase") == "active" for e in events)
        if active and time.monotonic() - t0 >= CONNECTED_S:
            break
        n_accepts = sum(e["event"] == "accept" for e in events)
        if n_accepts > MAX_CONNECTIONS:
            unbounded = True
            break
        # Every connection it made is closed and it neither exits nor
        # reconnects: it hangs (shows an error and waits for a user).
        if n_accepts and n_accepts == sum(e["event"] == "close" for e in events):
            all_closed_at = all_closed_at or time.monotonic()
            if time.monotonic() - all_closed_at >= HUNG_S:
                hung = True
                break
        else:
            all_closed_at = None
        time.sleep(0.2)
    if "success" in spec:
        connected = False  # decided from its exit code and output below
    else:
        connected = rc is None and active
    if rc is None:
        rf.end_process(p)
    size = out.seek(0, os.SEEK_END)
    out.seek(0)
    if size <= MAX_OUTPUT:
        text = out.read().decode("utf-8", "replace")
    else:
        head = out.read(MAX_OUTPUT // 2)
        out.seek(size - MAX_OUTPUT // 2)
        text = (head + b"\n[... output cut ...]\n" + out.read()).decode("utf-8", "replace")
    time.sleep(0.3)
    if "success" in spec and rc is not None:
        connected = rc == spec["success"]["exit"] and spec["success"]["log"] in text
    new = mine(h.events())
    accepts = [e["conn"] for e in new if e["event"] == "accept"]
    closes = {e["conn"]: e for e in new if e["event"] == "close"}
    if home:
        subprocess.run(["rm", "-rf", home])
    faults = [(e["action"], e["at"]) for e in new if e["event"] == "fault"]
    ends = [(closes[c]["last_phase"], closes[c]["reason"]) if c in closes else ("open", "open")
            for c in accepts]
    return {
        "faults": faults,
        "ends": ends,
        "client": client, "scenario": sc["name"], "argv": argv,
        "exit": None if (connected and "success" not in spec) or unbounded else rc,
        "unbounded_retries": unbounded, "hung": hung,
        "connected": connected, "output": text, "seconds": round(time.monotonic() - t0, 1),
        "connections": len(accepts),
        "last_phases": [closes[c]["last_phase"] if c in closes else "open" for c in accepts],
    }


def check(result, expect, sc=None):
    """Problems (strings) comparing a run with its expectation (and, for a
    scenario with faults, with what the server's event log says struck)."""
    problems = []
    for f in (sc or {}).get("faults", []):
        # A fault named for a phase is in the server's event log at that
        # phase when a connection went past it, or stopped there for the
        # server's reasons (not when the client itself left at that moment).
        at = f.get("at")
        if at not in PHASES:
            continue
        due = any(p in PHASES and (PHASES.index(p) > PHASES.index(at) or
                                   (p == at and not why.startswith("client")))
                  for p, why in result["ends"])
        if due and (f["action"], at) not in result["faults"]:
            problems.append(f"the event log shows no {f['action']} at {at} "
                            f"(saw {result['faults']})")
    if expect["result"] == "retries-forever" or result["unbounded_retries"]:
        if expect["result"] == "retries-forever" and result["unbounded_retries"]:
            return []
        if expect["result"] == "retries-forever":
            return [f"expected the client to retry without bound, it made "
                    f"{result['connections']} connection(s) and "
                    f"{'connected' if result['connected'] else 'exited %s' % result['exit']}"]
        return [f"the client retried without bound (more than {MAX_CONNECTIONS} connections)"]
    if expect["result"] == "hangs" or result["hung"]:
        if expect["result"] == "hangs" and result["hung"]:
            return problems + ([f"output lacks {expect['log']!r}"]
                               if "log" in expect and expect["log"] not in result["output"]
                               else [])
        if expect["result"] == "hangs":
            return problems + [f"expected the client to hang after the server closed, it "
                               f"{'connected' if result['connected'] else 'exited %s' % result['exit']}"]
        return problems + [f"the client hung: still running {HUNG_S} s after the server "
                           f"closed every connection"]
    want_connected = expect["result"] == "connected"
    if result["connected"] != want_connected:
        problems.append(f"expected {expect['result']}, got "
                        f"{'connected' if result['connected'] else 'exit %s' % result['exit']}")
    if "exit" in expect and result["exit"] is not None and result["exit"] != expect["exit"]:
        problems.append(f"exit code {result['exit']}, expected {expect['exit']}")
    elif "exit" in expect and result["exit"] is None and not want_connected:
        problems.append(f"exit code {result['exit']}, expected {expect['exit']}")
    if "log" in expect and expect["log"] not in result["output"]:
        problems.append(f"output lacks {expect['log']!r}")
    return problems


def cells(clients, pattern, everywhere=False):
    for sc in scenarios(pattern):
        named = {e["client"]: e for e in sc["expect"]}
        for c in clients:
            if c in named:
                yield sc, named[c]
            elif everywhere:  # record mode: try the client where the file is silent
                yield sc, {"client": c, "result": "failed"}


def run(clients, pattern, jobs=2, everywhere=False):
    """Runs every cell; yields (cell, result). Port-3389 clients run one
    scenario at a time, each with a harness whose 3389 default is it."""
    todo = list(cells(clients, pattern, everywhere))
    normal = [(sc, e) for sc, e in todo if not CLIENTS[e["client"]].get("port_3389")]
    only3389 = [(sc, e) for sc, e in todo if CLIENTS[e["client"]].get("port_3389")]
    with rf.Display() as display:
        if normal:
            # One scenario's cells run one after another, so each run's
            # connections are told apart by the scenario that served them.
            by_scenario = {}
            for sc, e in normal:
                by_scenario.setdefault(sc["name"], []).append((sc, e))

            def run_group(group):
                return [((sc, e), run_one(h, display.name, e["client"], sc, e)) for sc, e in group]

            with rf.Harness() as h, ThreadPoolExecutor(jobs) as pool:
                for results in pool.map(run_group, by_scenario.values()):
                    yield from results
        for sc, e in only3389:
            with rf.Harness(listen=f"127.0.0.1:3389={sc['name']}") as h:
                yield (sc, e), run_one(h, display.name, e["client"], sc, e)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--record", action="store_true")
    ap.add_argument("--clients", default="xfreerdp,rdesktop,impacket")
    ap.add_argument("--scenarios", default="*")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--all", action="store_true",
                    help="with --record: also clients a scenario has no expectation for")
    a = ap.parse_args()
    failed = passed = 0
    for (sc, e), r in run(a.clients.split(","), a.scenarios, a.jobs, a.record and a.all):
        if a.record:
            print(json.dumps({k: v for k, v in r.items() if k != "output"}))
            lines = [ln for ln in r["output"].splitlines() if ln.strip()
                     and "com.freerdp.utils" not in ln]
            print("   " + "\n   ".join(lines[-8:]))
            continue
        problems = check(r, e, sc)
        failed += bool(problems)
        passed += not problems
        print(f"{'FAIL' if problems else 'ok  '} {sc['name']} x {e['client']} "
              f"({r['seconds']} s){': ' + '; '.join(problems) if problems else ''}")
    if not a.record:
        print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())

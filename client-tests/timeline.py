"""timeline.py — `rdpfault timeline`: draws a `serve --events` log's connections on one time axis.

    rdpfault timeline EVENTS.jsonl [--conn ID[,ID...]] [--scenario GLOB]
                      [--html FILE] [--json] [--width N]

Each connection is drawn on its own span (accept to close): its phases, the
faults that struck it and its close, so the moment a cut fell is visible at a
glance. A log is read as evidence, not trusted: lines that are not JSON are
skipped and said, and a log cut off (harness killed, file copied mid-run)
still renders, its open connections marked "no close logged".

Standard library only, so it runs wherever the harness's log is copied to.
Exit codes are rdpfault's: 0 drawn, 1 a file could not be read or written,
2 usage error, 4 no connection selected (or none logged).
"""

import argparse
import fnmatch
import html
import json
import os
import sys

PROG = "rdpfault timeline"
EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, EXIT_NO_SELECTION = 0, 1, 2, 4
SCHEMA_VERSION = 1
MAX_LINE_WARNINGS = 10  # a log of garbage says so ten times, then counts

# The phase model (`rdpfault show --phases`), in connection order: it fixes
# each phase's colour in the HTML, whatever order a log shows them in.
PHASES = ["tcp-accept", "x224-request", "x224-confirm", "tls-client-hello", "tls-server-hello",
          "tls-finished", "credssp", "mcs-connect", "erect-domain", "attach-user", "channel-join",
          "security-exchange", "client-info", "licensing", "capabilities", "confirm-active",
          "finalization", "active"]

# Which field names a step, by event; the rest are its details.
NAME_FIELD = {"phase": "phase", "fault": "action", "fault-end": "action",
              "fault-failed": "action", "security": "layer", "admission": "decision",
              "multitransport": "what", "bad-request": "error", "client-quirk": "quirk"}
# Shown in the header instead of as lines; `udp` datagrams can number a
# thousand per socket, so the text leaves them to --json.
NOT_A_LINE = {"accept", "request", "scenario", "close", "udp"}
# The bar's marks. Faults are X: the one mark a reader looks for.
MARK = {"fault": "X", "fault-end": "x", "fault-failed": "!"}
LEGEND = ("bars span each connection, accept to close:  >== phase  X fault  x fault ended  "
          "! fault failed  * other event  | close")
ENVELOPE = ("ts_ms", "time", "conn", "event")


class UsageError(Exception):
    code = EXIT_USAGE


class Failure(Exception):
    """Any other way the run ends early: the message and rdpfault's exit code."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class Parser(argparse.ArgumentParser):
    """argparse with rdpfault's messages: "rdpfault timeline: ..." and exit 2."""

    def error(self, message):
        raise UsageError(message)


def say(message):
    print(f"{PROG}: {message}", file=sys.stderr)


# ------------------------------------------------------------------ reading

def read_log(path):
    """The log's events in file order, and how many lines were skipped.
    Bytes are decoded per line: one bad line costs only itself."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise Failure(EXIT_RUNTIME, f"cannot read {path}: {e.strerror or e}")
    events, skipped = [], 0
    for number, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        why = None
        try:
            ev = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            why = "not JSON"
        else:
            if not (isinstance(ev, dict) and isinstance(ev.get("conn"), int)
                    and isinstance(ev.get("event"), str) and isinstance(ev.get("ts_ms"), int)):
                why = "not an event (no ts_ms, conn or event)"
        if why:
            skipped += 1
            if skipped <= MAX_LINE_WARNINGS:
                say(f"{path}:{number}: {why}, skipped")
            continue
        events.append(ev)
    if skipped > MAX_LINE_WARNINGS:
        say(f"{path}: {skipped - MAX_LINE_WARNINGS} more lines not JSON or not events, skipped")
    return events, skipped


def fields_of(ev):
    return {k: v for k, v in ev.items() if k not in ENVELOPE}


def harness_summary(events):
    """Connection 0: the harness's start and stop, and what else it said."""
    start = next((e for e in events if e["conn"] == 0 and e["event"] == "start"), None)
    stop = next((e for e in events if e["conn"] == 0 and e["event"] == "stop"), None)
    other = {}
    for e in events:
        if e["conn"] == 0 and e["event"] not in ("start", "stop"):
            other[e["event"]] = other.get(e["event"], 0) + 1
    out = {"started": start is not None, "stopped": stop is not None,
           "start_time": None, "start_ms": None, "version": None, "pid": None,
           "listeners": [], "scenarios": None,
           "stop_time": None, "stop_ms": None, "connections": None,
           "peers_still_running": None, "closed_at_stop": None, "events_dropped": None,
           "other_events": dict(sorted(other.items()))}
    if start:
        out.update(start_time=start.get("time"), start_ms=start["ts_ms"],
                   version=start.get("version"), pid=start.get("pid"),
                   scenarios=start.get("scenarios"),
                   listeners=[{"address": l.get("address"), "scenario": l.get("scenario")}
                              for l in start.get("listeners") or [] if isinstance(l, dict)])
    if stop:
        out.update(stop_time=stop.get("time"), stop_ms=stop["ts_ms"],
                   connections=stop.get("connections"),
                   peers_still_running=stop.get("peers_still_running"),
                   closed_at_stop=stop.get("closed_at_stop"),
                   events_dropped=stop.get("events_dropped"))
    return out


def step_name(ev):
    key = NAME_FIELD.get(ev["event"])
    value = ev.get(key) if key else None
    return str(value) if value is not None else ev["event"]


def connections(events):
    """One record per connection (id > 0), in id order. Two threads write a
    connection's lines, so its events are sorted by ts_ms (stably: lines of
    one millisecond keep the log's order)."""
    by_conn = {}
    for e in events:
        if e["conn"] > 0:
            by_conn.setdefault(e["conn"], []).append(e)
    out = []
    for conn in sorted(by_conn):
        evs = sorted(by_conn[conn], key=lambda e: e["ts_ms"])
        accept = next((e for e in evs if e["event"] == "accept"), None)
        sel = next((e for e in evs if e["event"] == "scenario"), None)
        req = next((e for e in evs if e["event"] == "request"), None)
        close = next((e for e in reversed(evs) if e["event"] == "close"), None)
        first = accept or evs[0]
        start_ms = first["ts_ms"]
        end_ms = max(e["ts_ms"] for e in evs)
        scenario = sel.get("scenario") if sel else (close.get("scenario") if close else None)
        steps = [{"at_ms": e["ts_ms"], "offset_ms": e["ts_ms"] - start_ms, "time": e.get("time"),
                  "kind": e["event"], "name": step_name(e), "fields": fields_of(e)}
                 for e in evs if e is not close and e is not accept]
        duration = close.get("duration_ms") if close else None
        out.append({
            "conn": conn,
            "scenario": scenario,
            "selected_by": sel.get("selected_by") if sel else None,
            "client": accept.get("client") if accept else None,
            "listener": accept.get("listener") if accept else None,
            "cookie": req.get("cookie") if req else None,
            "start_time": first.get("time"),
            "start_ms": start_ms,
            "end_ms": end_ms,
            "duration_ms": duration if isinstance(duration, int) else end_ms - start_ms,
            "closed": close is not None,
            "close": fields_of(close) if close else None,
            "accept_logged": accept is not None,
            "steps": steps,
        })
    return out


def select(conns, want_ids, glob, path):
    if want_ids:
        have = {c["conn"] for c in conns}
        missing = [i for i in want_ids if i not in have]
        if missing:
            ids = ", ".join(str(i) for i in missing)
            known = span_text(sorted(have)) if have else "none"
            noun = "connection" if len(missing) == 1 else "connections"
            raise Failure(EXIT_NO_SELECTION, f"{path}: no {noun} {ids} in the log "
                                             f"(connections: {known})")
        conns = [c for c in conns if c["conn"] in want_ids]
    if glob is not None:
        conns = [c for c in conns if c["scenario"] is not None
                 and fnmatch.fnmatchcase(c["scenario"], glob)]
        if not conns:
            raise Failure(EXIT_NO_SELECTION,
                          f"{path}: no connection selected: none has a scenario matching '{glob}'")
    return conns


def span_text(ids):
    """[1, 2, 3, 5] -> "1-3, 5": a long log's ids, said briefly."""
    parts, i = [], 0
    while i < len(ids):
        j = i
        while j + 1 < len(ids) and ids[j + 1] == ids[j] + 1:
            j += 1
        parts.append(str(ids[i]) if i == j else f"{ids[i]}-{ids[j]}")
        i = j + 1
    return ", ".join(parts)


# --------------------------------------------------------------------- text

def value_text(v):
    if isinstance(v, str):
        return v if v and not any(ch.isspace() for ch in v) else json.dumps(v)
    return json.dumps(v, separators=(",", ":"))


def details(step):
    """A step's fields as k=v, `at` first (where a fault was meant to
    strike), then the log's order; the field that names the step is left
    out."""
    skip = NAME_FIELD.get(step["kind"])
    f = step["fields"]
    keys = (["at"] if "at" in f else []) + [k for k in f if k not in ("at", skip)]
    return "  ".join(f"{k}={value_text(f[k])}" for k in keys)


def column(offset, span, width):
    if span <= 0:
        return 0
    return max(0, min(width - 1, int(offset * (width - 1) / span + 0.5)))


def bar(width, marks):
    cells = ["."] * width
    for col, ch in marks:
        cells[col] = ch
    return "[" + "".join(cells) + "]"


def close_header(c):
    if not c["closed"]:
        return "no close logged"
    cl = c["close"]
    return f"close {cl.get('reason', '?')} at {cl.get('last_phase', '?')}"


def header(c):
    scen = c["scenario"] if c["scenario"] is not None else "-"
    by = c["selected_by"] or ("no scenario selected" if c["scenario"] is None else "?")
    client = c["client"] or "(no accept logged)"
    cl = c["close"] or {}
    bytes_in = cl.get("bytes_from_client", "?")
    bytes_out = cl.get("bytes_to_client", "?")
    dur = f"{c['duration_ms']} ms" if c["closed"] else f"{c['duration_ms']}+ ms"
    return (f"conn {c['conn']}  {scen} ({by})  {client}  start {c['start_time'] or '?'}  "
            f"duration {dur}  {close_header(c)}  bytes in/out {bytes_in}/{bytes_out}")


def render_conn(c, width):
    span = c["end_ms"] - c["start_ms"]
    lines = [s for s in c["steps"] if s["kind"] not in NOT_A_LINE]
    phase_cols = [(i, column(s["offset_ms"], span, width))
                  for i, s in enumerate(lines) if s["kind"] == "phase"]
    next_phase = {}
    for k, (i, col) in enumerate(phase_cols):
        next_phase[i] = phase_cols[k + 1][1] if k + 1 < len(phase_cols) else width
    rows = []
    for i, s in enumerate(lines):
        col = column(s["offset_ms"], span, width)
        if s["kind"] == "phase":
            end = max(col + 1, next_phase[i])
            marks = [(k, "=") for k in range(col + 1, min(end, width))] + [(col, ">")]
        else:
            marks = [(col, MARK.get(s["kind"], "*"))]
        rows.append((s["offset_ms"], bar(width, marks), s["kind"], s["name"], details(s)))
    if c["closed"]:
        cl = c["close"]
        extra = {k: v for k, v in cl.items()
                 if k not in ("reason", "last_phase", "bytes_from_client", "bytes_to_client",
                              "duration_ms", "scenario")}
        rows.append((span, bar(width, [(column(span, span, width), "|")]), "close",
                     str(cl.get("reason", "?")),
                     "  ".join(f"{k}={value_text(v)}" for k, v in extra.items())))
    ow = max([len(str(r[0])) for r in rows] + [1])
    kw = max([len(r[2]) for r in rows] + [5])
    nw = max([len(r[3]) for r in rows] + [1])
    out = [header(c)]
    for off, b, kind, name, det in rows:
        out.append(f"  {'+' + str(off):>{ow + 1}} ms  {b}  {kind:<{kw}}  {name:<{nw}}  {det}"
                   .rstrip())
    if not c["closed"]:
        out.append(f"  {'':>{ow + 4}}  -- no close logged: the log ends "
                   f"{span} ms after the accept (harness killed or log cut off?)")
    return out


def harness_line(h):
    if not h["started"]:
        return "harness  no start logged"
    listeners = " ".join(f"{l['address']}={l['scenario']}" for l in h["listeners"]) or "-"
    text = (f"harness  rdpfault {h['version'] or '?'}  pid {h['pid']}  "
            f"start {h['start_time'] or '?'}  listeners {listeners}")
    if h["stopped"]:
        dur = ""
        if h["start_ms"] is not None:
            dur = f" (+{h['stop_ms'] - h['start_ms']} ms)"
        text += (f"  stop {h['stop_time'] or '?'}{dur}  connections {h['connections']}"
                 f"  closed at stop {h['closed_at_stop']}")
        if h["events_dropped"]:
            text += f"  events dropped {h['events_dropped']}"
    else:
        text += "  no stop logged (harness killed or log cut off?)"
    return text


def render_text(h, conns, width):
    out = [harness_line(h), LEGEND, ""]
    for c in conns:
        out += render_conn(c, width)
        out.append("")
    return "\n".join(out)


# --------------------------------------------------------------------- html

# Each phase's colour: its place in the model around the hue circle, so
# neighbouring phases differ and a log's colours are the same every run.
def phase_colour(name):
    if name in PHASES:
        hue = (PHASES.index(name) * 137) % 360
    else:
        hue = sum(name.encode()) * 37 % 360
    return f"hsl({hue},60%,62%)"


def nice_step(total_ms, ticks=8):
    raw = max(total_ms / ticks, 1)
    mag = 1
    while mag * 10 <= raw:
        mag *= 10
    for m in (1, 2, 5, 10):
        if m * mag >= raw:
            return m * mag
    return 10 * mag


def ms_text(ms):
    return f"{ms / 1000:g} s" if ms >= 1000 and ms % 100 == 0 else f"{ms} ms"


CSS = """
body{font:13px/1.4 system-ui,sans-serif;margin:16px;color:#222}
h1{font-size:18px;margin:0 0 4px}
.meta{color:#555;margin-bottom:12px}
.row{display:flex;gap:12px;align-items:flex-start;margin:0 0 10px}
.label{flex:0 0 320px;font-family:monospace;overflow-wrap:anywhere}
.label .why{color:#666}
.tracks{flex:1 1 auto;min-width:300px}
.caption{font-size:11px;color:#777;text-align:right}
.track{position:relative;height:22px;background:#f3f3f3;border:1px solid #ddd}
.track.own{margin-top:14px;height:14px;background:#fafafa;border-style:dashed}
.track.own .seg{top:1px;height:12px}.track.own .fault,.track.own .close{height:20px}
.track.own .event{top:8px}.track.own .open{height:14px}
.axis{position:relative;height:18px;border-bottom:1px solid #999}
.tick{position:absolute;bottom:0;font-size:11px;color:#555;border-left:1px solid #999;
  padding-left:2px;height:14px}
.seg{position:absolute;top:2px;height:18px;min-width:2px;box-sizing:border-box;
  border-right:1px solid #fff}
.fault{position:absolute;top:-3px;height:28px;width:3px;margin-left:-1px;background:#d00;z-index:2}
.fault::after{content:"X";position:absolute;top:-14px;left:-3px;color:#d00;font-weight:bold;
  font-size:11px}
.fault.end{background:#a60}.fault.end::after{content:"x";color:#a60}
.fault.failed{background:#808}.fault.failed::after{content:"!";color:#808}
.event{position:absolute;top:16px;height:6px;width:2px;background:#333;z-index:1}
.close{position:absolute;top:-3px;height:28px;width:2px;background:#000;z-index:1}
.open{position:absolute;top:0;height:22px;width:14px;margin-left:-14px;z-index:1;
  background:repeating-linear-gradient(45deg,#f99,#f99 3px,#fff 3px,#fff 6px)}
.legend span{display:inline-block;margin:0 10px 4px 0}
.legend i{display:inline-block;width:12px;height:12px;vertical-align:middle;margin-right:3px}
details{margin:2px 0 6px}
table{border-collapse:collapse;font-family:monospace;font-size:12px}
td,th{border:1px solid #ddd;padding:1px 6px;text-align:left;vertical-align:top}
"""


def e(s):
    return html.escape(str(s), quote=True)


def pct(x):
    return f"{x:.4f}%"


def render_html(path, h, conns):
    t0 = min(c["start_ms"] for c in conns)
    t1 = max(c["end_ms"] for c in conns)
    total = max(t1 - t0, 1)

    def left(ms):
        return pct((ms - t0) * 100.0 / total)

    out = ["<!DOCTYPE html>", "<html lang=\"en\">", "<head>", "<meta charset=\"utf-8\">",
           f"<title>{e('rdpfault timeline: ' + os.path.basename(path))}</title>",
           f"<style>{CSS}</style>", "</head>", "<body>",
           f"<h1>{e('rdpfault timeline: ' + path)}</h1>",
           f"<div class=\"meta\">{e(harness_line(h))}</div>"]
    seen = []
    for c in conns:
        for s in c["steps"]:
            if s["kind"] == "phase" and s["name"] not in seen:
                seen.append(s["name"])
    seen.sort(key=lambda p: (PHASES.index(p) if p in PHASES else len(PHASES), p))
    out.append("<div class=\"legend\">" + "".join(
        f"<span><i style=\"background:{phase_colour(p)}\"></i>{e(p)}</span>" for p in seen)
        + "<span><i style=\"background:#d00\"></i>fault (X)</span>"
        + "<span><i style=\"background:#000\"></i>close</span></div>")
    step = nice_step(total)
    ticks = "".join(f"<div class=\"tick\" style=\"left:{left(t0 + k)}\">+{e(ms_text(k))}</div>"
                    for k in range(0, total + 1, step))
    first = min(conns, key=lambda c: c["start_ms"])
    out.append(f"<div class=\"row\"><div class=\"label\">+0 = {e(first['start_time'] or '?')}"
               f"</div><div class=\"tracks\"><div class=\"axis\">{ticks}</div></div></div>")
    for c in conns:
        out.append(html_row(c, left, total))
    out.append("</body>")
    out.append("</html>")
    return "\n".join(out) + "\n"


def html_marks(c, left, width):
    """A connection's phases as segments and its faults, other events and
    close as marks, placed by left(ms) and width(a, b)."""
    scen = c["scenario"] if c["scenario"] is not None else "-"
    who = f"conn {c['conn']} {scen}"
    parts = []
    phases = [s for s in c["steps"] if s["kind"] == "phase"]
    for k, s in enumerate(phases):
        a = s["at_ms"]
        b = phases[k + 1]["at_ms"] if k + 1 < len(phases) else c["end_ms"]
        tip = f"{who}: phase {s['name']} at +{s['offset_ms']} ms, lasting {b - a} ms"
        if details(s):
            tip += "; " + details(s)
        parts.append(f"<div class=\"seg\" style=\"left:{left(a)};width:{width(a, b)};"
                     f"background:{phase_colour(s['name'])}\" title=\"{e(tip)}\"></div>")
    for s in c["steps"]:
        if s["kind"] in MARK:
            cls = {"fault": "fault", "fault-end": "fault end",
                   "fault-failed": "fault failed"}[s["kind"]]
        elif s["kind"] not in NOT_A_LINE and s["kind"] != "phase":
            cls = "event"
        else:
            continue
        tip = f"{who}: {s['kind']} {s['name']} at +{s['offset_ms']} ms"
        if details(s):
            tip += "; " + details(s)
        parts.append(f"<div class=\"{cls}\" style=\"left:{left(s['at_ms'])}\" "
                     f"title=\"{e(tip)}\"></div>")
    if c["closed"]:
        cl = c["close"]
        tip = (f"{who}: close {cl.get('reason', '?')} at {cl.get('last_phase', '?')} after "
               f"{c['duration_ms']} ms; bytes in/out {cl.get('bytes_from_client', '?')}/"
               f"{cl.get('bytes_to_client', '?')}")
        if cl.get("peer_end"):
            tip += f"; {cl['peer_end']}"
        parts.append(f"<div class=\"close\" style=\"left:{left(c['end_ms'])}\" "
                     f"title=\"{e(tip)}\"></div>")
    else:
        parts.append(f"<div class=\"open\" style=\"left:{left(c['end_ms'])}\" "
                     f"title=\"{e(who + ': no close logged: the log ends here')}\"></div>")
    return "".join(parts)


def html_row(c, left, total):
    """Two tracks: the shared time axis (when, next to the others), and the
    connection's own span (where its cut fell: a 5 ms connection is a
    sliver on an axis of seconds)."""
    def width(a, b):
        return pct(max(b - a, 0) * 100.0 / total)

    span = max(c["end_ms"] - c["start_ms"], 1)

    def own_left(ms):
        return pct((ms - c["start_ms"]) * 100.0 / span)

    def own_width(a, b):
        return pct(max(b - a, 0) * 100.0 / span)

    scen = c["scenario"] if c["scenario"] is not None else "-"
    by = c["selected_by"] or "-"
    label = (f"<div class=\"label\">conn {e(c['conn'])} <b>{e(scen)}</b> "
             f"<span class=\"why\">({e(by)})<br>{e(c['client'] or '')}<br>"
             f"{e(close_header(c))}, {e(c['duration_ms'])} ms</span></div>")
    rows = "".join(f"<tr><td>+{e(s['offset_ms'])} ms</td><td>{e(s['kind'])}</td>"
                   f"<td>{e(s['name'])}</td><td>{e(details(s))}</td></tr>" for s in c["steps"])
    info = (f"<details><summary>{e(header(c))}</summary><table><tr><th>offset</th>"
            f"<th>event</th><th>name</th><th>details</th></tr>{rows}</table></details>")
    own = f"its own span, accept to {'close' if c['closed'] else 'last event'}: {span} ms"
    return (f"<div class=\"row\">{label}<div class=\"tracks\">"
            f"<div class=\"track\">{html_marks(c, left, width)}</div>"
            f"<div class=\"track own\" title=\"{e(own)}\">{html_marks(c, own_left, own_width)}"
            f"</div><div class=\"caption\">{e(own)}</div>{info}</div></div>")


# --------------------------------------------------------------------- main

def conn_ids(text):
    ids = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit():
            raise argparse.ArgumentTypeError(f"'{text}': expected connection ids, e.g. 1,3")
        ids.append(int(part))
    return ids


def width_arg(text):
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 10 <= n <= 1000:
        raise argparse.ArgumentTypeError(f"'{text}': expected a width of 10-1000 columns")
    return n


def parse_args(argv):
    ap = Parser(prog=PROG,
                description="Draw a `rdpfault serve --events` log's connections on one time "
                            "axis: phases, faults and the close of each (text on stdout, "
                            "--json, or --html FILE).",
                epilog="Exit codes: 0 drawn, 1 a file could not be read or written, 2 usage "
                       "error, 4 no connection selected or none logged. The log's format: "
                       "docs/events.md.")
    ap.add_argument("events", metavar="EVENTS.jsonl", help="the event log (serve --events)")
    ap.add_argument("--conn", action="append", type=conn_ids, default=[], metavar="ID[,ID...]",
                    help="only these connections (repeatable)")
    ap.add_argument("--scenario", metavar="GLOB",
                    help="only connections whose scenario matches GLOB (e.g. 'reset-at-*')")
    ap.add_argument("--html", metavar="FILE", help="write a self-contained HTML timeline to FILE")
    ap.add_argument("--json", action="store_true", help="JSON on stdout instead of text")
    ap.add_argument("--width", type=width_arg, default=60, metavar="N",
                    help="columns of each text bar (default 60)")
    ap.add_argument("--rdpfault", default=None, help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def run(argv):
    args = parse_args(argv)
    path = args.events
    events, skipped = read_log(path)
    if not events:
        raise Failure(EXIT_NO_SELECTION, f"{path}: no events logged")
    h = harness_summary(events)
    conns = connections(events)
    if not conns:
        raise Failure(EXIT_NO_SELECTION, f"{path}: no connections logged")
    want = [i for ids in args.conn for i in ids]
    conns = select(conns, want, args.scenario, path)
    if args.html:
        text = render_html(path, h, conns)
        try:
            with open(args.html, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as err:
            raise Failure(EXIT_RUNTIME, f"cannot write {args.html}: {err.strerror or err}")
    if args.json:
        doc = {"schema_version": SCHEMA_VERSION, "source": path, "skipped_lines": skipped,
               "harness": h, "connections": conns}
        json.dump(doc, sys.stdout, indent=1)
        sys.stdout.write("\n")
    elif not args.html:
        sys.stdout.write(render_text(h, conns, args.width))
    return EXIT_OK


def main(argv=None):
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except UsageError as err:
        say(str(err))
        say(f"try '{PROG} --help'")
        return EXIT_USAGE
    except Failure as err:
        say(str(err))
        return err.code
    except BrokenPipeError:
        # `rdpfault timeline LOG | head`: the reader left, nothing is wrong;
        # stdout goes to /dev/null so the flush at exit does not complain.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

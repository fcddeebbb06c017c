"""matrix_report — the matrix's reports: JSON results, JUnit XML (one
testcase per cell) and one self-contained HTML page (the grid, and per
cell a timeline of the handshake).
"""

import html
import json
import os
import re
import xml.etree.ElementTree as ET

# Characters XML 1.0 cannot carry (clients print escape sequences).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
OUTPUT_LINES = 60     # the end of a client's output a report keeps
EVENTS_KEPT = 400     # a cell's server events a report keeps (a retry flood is cut)


def _parent(path):
    """Reports may go to a folder that does not exist yet."""
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)


def summary(cells, wall):
    s = {k: 0 for k in ("pass", "drift", "unstable", "error", "skipped")}
    for c in cells:
        s[c["status"]] += 1
    s["runs"] = sum(len(c.get("runs", [])) for c in cells)
    s["cells"] = len(cells)
    s["wall_s"] = wall
    per_client = {}
    for c in cells:
        if c["status"] in ("pass", "drift", "unstable"):
            per_client.setdefault(c["client"], []).append(c.get("seconds", 0))
    s["client_seconds"] = {k: {"cells": len(v), "total": round(sum(v), 1),
                               "mean": round(sum(v) / len(v), 1), "max": max(v)}
                           for k, v in per_client.items()}
    return s


def tail(text, n=OUTPUT_LINES):
    # xfreerdp prints a backtrace when the runner stops it: not what it said.
    lines = [ln for ln in (text or "").splitlines() if ln.strip()
             and "[com.freerdp.utils]" not in ln]
    return "\n".join(lines[-n:])


def _events(cell):
    ev = cell.get("events", [])
    return ev if len(ev) <= EVENTS_KEPT else ev[:EVENTS_KEPT // 2] + ev[-EVENTS_KEPT // 2:]


def timeline(cell):
    """Per connection: phases reached (with ms since its accept), faults,
    how it ended."""
    conns = {}
    for e in _events(cell):
        c = conns.setdefault(e["conn"], {"conn": e["conn"], "steps": [], "t0": e["ts_ms"]})
        t = e["ts_ms"] - c["t0"]
        if e["event"] == "phase":
            c["steps"].append({"t_ms": t, "kind": "phase", "what": e["phase"]})
        elif e["event"] in ("fault", "fault-failed", "fault-end"):
            c["steps"].append({"t_ms": t, "kind": e["event"],
                               "what": f"{e.get('action')} at {e.get('at', '?')}",
                               "detail": {k: v for k, v in e.items()
                                          if k not in ("ts_ms", "conn", "event")}})
        elif e["event"] == "close":
            c["steps"].append({"t_ms": t, "kind": "close", "what": e.get("reason", ""),
                               "detail": {"last_phase": e.get("last_phase")}})
        elif e["event"] == "admission":
            c["steps"].append({"t_ms": t, "kind": "admission", "what": e.get("decision", ""),
                               "detail": {k: v for k, v in e.items()
                                          if k not in ("ts_ms", "conn", "event", "decision")}})
        elif e["event"] in ("credssp-failed", "deadline", "client-quirk"):
            c["steps"].append({"t_ms": t, "kind": e["event"], "what": e["event"]})
    return list(conns.values())


def public(cell):
    """A cell as every report carries it: the JSON report holds these, so
    `matrix merge` rebuilds the JUnit and HTML reports from it alone (a
    public cell passes through unchanged)."""
    if "output" not in cell and "output_tail" in cell:
        return cell
    keep = ("scenario", "client", "status", "problems", "why", "file", "argv", "host", "port",
            "exit", "connected", "hung", "unbounded_retries", "timed_out", "seconds",
            "connections", "faults", "ends", "expect", "runs", "outcomes")
    out = {k: cell[k] for k in keep if k in cell}
    out["output_tail"] = tail(cell.get("output", ""))
    out["events"] = _events(cell)
    out["timeline"] = timeline(cell)
    return out


def write_json(path, cells, summ, meta):
    """docs/matrix.schema.json describes it."""
    _parent(path)
    with open(path, "w") as f:
        json.dump({"meta": meta, "summary": summ, "cells": [public(c) for c in cells]}, f,
                  indent=1)
        f.write("\n")


def _clean(text):
    return _NOT_XML.sub("?", text or "")


def write_junit(path, cells, summ, meta):
    """One testsuite per client, one testcase per cell (its file the
    scenario's); a drift is a failure with the client's output and the
    server's event log for that cell's connections as system-out. Each
    suite's properties say which rdpfault and which client version ran."""
    cells = [public(c) for c in cells]
    versions = {c["name"]: c for c in meta.get("clients", [])}
    root = ET.Element("testsuites", name="rdpfault matrix", tests=str(len(cells)),
                      failures=str(summ["drift"] + summ["unstable"]), errors=str(summ["error"]),
                      skipped=str(summ["skipped"]), time=f"{summ['wall_s']:.1f}")
    by_client = {}
    for c in cells:
        by_client.setdefault(c["client"], []).append(c)
    for i, (client, group) in enumerate(by_client.items()):
        suite = ET.SubElement(
            root, "testsuite", name=f"rdpfault.{client}", id=str(i), tests=str(len(group)),
            failures=str(sum(c["status"] in ("drift", "unstable") for c in group)),
            errors=str(sum(c["status"] == "error" for c in group)),
            skipped=str(sum(c["status"] == "skipped" for c in group)),
            time=f"{sum(c.get('seconds', 0) for c in group):.1f}",
            timestamp=(meta.get("started") or "").rstrip("Z") or "1970-01-01T00:00:00",
            hostname=meta.get("hostname") or "")
        props = ET.SubElement(suite, "properties")
        cv = versions.get(client, {})
        for name, value in (("rdpfault.version", meta.get("rdpfault")),
                            ("client.name", client),
                            ("client.version", cv.get("version")),
                            ("client.version_line", cv.get("said")),
                            ("client.file", cv.get("file")),
                            ("matrix.select", meta.get("select")),
                            ("matrix.shard", meta.get("shard") or
                             ",".join(meta.get("shards") or []) or "all"),
                            ("matrix.repeat", meta.get("repeat")),
                            ("matrix.time_scale", meta.get("time_scale"))):
            ET.SubElement(props, "property", name=name,
                          value=_clean("" if value is None else str(value)))
        for c in group:
            attrs = {"name": c["scenario"], "classname": f"rdpfault.{client}",
                     "time": f"{c.get('seconds', 0):.1f}"}
            if c.get("file"):
                attrs["file"] = c["file"]
            tc = ET.SubElement(suite, "testcase", **attrs)
            if c["status"] == "skipped":
                ET.SubElement(tc, "skipped", message=_clean(c.get("why", "")))
            elif c["status"] == "error":
                ET.SubElement(tc, "error", message=_clean(c.get("why", "")), type="error")
            elif c["status"] in ("drift", "unstable"):
                msg = "; ".join(c["problems"])
                f = ET.SubElement(tc, "failure", message=_clean(msg), type=c["status"])
                f.text = _clean(f"expected: {json.dumps(c['expect'])}\n{msg}")
                out = ET.SubElement(tc, "system-out")
                log = "\n".join(json.dumps(e) for e in _events(c))
                out.text = _clean(f"$ {' '.join(c.get('argv', []))}\n{c.get('output_tail', '')}\n"
                                  f"\n--- server event log, this cell's connections ---\n{log}\n")
            elif len(c.get("runs", [])) > 1:
                out = ET.SubElement(tc, "system-out")
                out.text = _clean(f"{len(c['runs'])} runs, one outcome: "
                                  f"{next(iter(c['outcomes']))}\n")
    ET.indent(root)
    _parent(path)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>rdpfault matrix</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em;margin:0 0 .3em}
.sum{margin:.3em 0 1em;color:#444}
table.grid{border-collapse:collapse}
.grid th,.grid td{border:1px solid #ccc;padding:3px 8px;text-align:center}
.grid th.sc{text-align:left;font-weight:normal;font-family:monospace}
.grid a{display:block;text-decoration:none;color:inherit;min-width:4em}
td.pass{background:#c8efc8}td.drift{background:#f7b0b0}td.error{background:#f0c080}
td.unstable{background:#f5d0f0}
td.skipped{background:#eee;color:#999}
td.sel{outline:3px solid #2060c0}
#timeline{margin-top:1.2em;border-top:2px solid #888;padding-top:.5em}
#timeline[hidden]{display:none}
ol.steps{list-style:none;padding-left:0;border-left:3px solid #9ab;margin-left:.5em}
ol.steps li{padding:1px 0 1px 10px}
li.phase{color:#234}li.fault{color:#a00;font-weight:bold}li.fault-failed{color:#c60}
li.close{color:#555;font-style:italic}li.admission{color:#60a}
pre{background:#f6f6f6;padding:.5em;overflow:auto;max-height:24em;font-size:12px}
.bad{color:#a00}
</style></head><body>
<h1>rdpfault matrix</h1>
<div class="sum">__SUMMARY__</div>
<table class="grid"><thead><tr><th>scenario</th>__HEAD__</tr></thead><tbody>
__ROWS__
</tbody></table>
<section id="timeline" hidden></section>
<script type="application/json" id="cells">__DATA__</script>
<script>
var cells = JSON.parse(document.getElementById('cells').textContent);
function esc(s){return String(s==null?'':s).replace(/[&<>"]/g,function(c){
  return {'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c];});}
function open_cell(i){
  var c = cells[i], box = document.getElementById('timeline');
  if(!c){box.hidden=true;return;}
  document.querySelectorAll('td.sel').forEach(function(t){t.classList.remove('sel');});
  var td = document.getElementById('cell-'+i); if(td) td.classList.add('sel');
  var h = '<h2>'+esc(c.scenario)+' &times; '+esc(c.client)+': '+esc(c.status)+'</h2>';
  if(c.problems && c.problems.length) h += '<p class="bad">'+c.problems.map(esc).join('<br>')+'</p>';
  if(c.outcomes && c.runs && c.runs.length > 1) h += '<p>'+esc(c.runs.length)+' runs: '+
       Object.keys(c.outcomes).map(function(o){return esc(o)+' &times;'+esc(c.outcomes[o]);}).join('<br>')+'</p>';
  if(c.why) h += '<p>'+esc(c.why)+'</p>';
  h += '<p>expected: <code>'+esc(JSON.stringify(c.expect||{}))+'</code><br>got: exit <code>'+
       esc(c.exit==null?'none':c.exit)+'</code>'+(c.exit==null?' (still running: the runner stopped it)':'')+', connected <code>'+esc(c.connected)+'</code>, '+
       esc(c.connections)+' connection(s), '+esc(c.seconds)+' s</p>';
  (c.timeline||[]).forEach(function(conn){
    h += '<h3>connection '+esc(conn.conn)+'</h3><ol class="steps">';
    conn.steps.forEach(function(s){
      h += '<li class="'+esc(s.kind)+'">+'+esc(s.t_ms)+' ms &nbsp;'+esc(s.kind)+': '+esc(s.what)+
           (s.detail?' <code>'+esc(JSON.stringify(s.detail))+'</code>':'')+'</li>';});
    h += '</ol>';});
  if(c.argv) h += '<h3>the client said</h3><pre>$ '+esc(c.argv.join(' '))+'\\n'+esc(c.output_tail)+'</pre>';
  box.innerHTML = h; box.hidden = false; box.setAttribute('data-open', 'cell-'+i);
}
function from_hash(){var m=/^#cell-(\\d+)$/.exec(location.hash); if(m) open_cell(+m[1]);}
window.addEventListener('hashchange', from_hash); from_hash();
</script></body></html>
"""


def write_html(path, cells, summ, meta, phases):
    cells = [public(c) for c in cells]
    clients = list(dict.fromkeys(c["client"] for c in cells))
    scenarios = list(dict.fromkeys(c["scenario"] for c in cells))
    index = {(c["scenario"], c["client"]): i for i, c in enumerate(cells)}
    word = {"pass": "pass", "drift": "drift", "unstable": "unstable", "error": "error",
            "skipped": "&ndash;"}
    rows = []
    for sc in scenarios:
        tds = []
        for cl in clients:
            i = index.get((sc, cl))
            if i is None:
                tds.append("<td></td>")
                continue
            c = cells[i]
            tds.append(f'<td id="cell-{i}" class="{c["status"]}" title="{html.escape(sc)} x '
                       f'{html.escape(cl)}"><a href="#cell-{i}">{word[c["status"]]}</a></td>')
        rows.append(f'<tr><th class="sc">{html.escape(sc)}</th>{"".join(tds)}</tr>')
    head = "".join(f"<th>{html.escape(c)}</th>" for c in clients)
    repeat = meta.get("repeat", 1)
    vers = ", ".join(f"{html.escape(c['name'])} {html.escape(str(c.get('version')))}"
                     for c in meta.get("clients", []))
    summ_text = (f"{summ['pass']} pass"
                 + (f" ({repeat} runs each)" if repeat > 1 else "") + ", "
                 f"{summ['drift']} drift, {summ['unstable']} unstable, {summ['error']} error, "
                 f"{summ['skipped']} skipped &middot; {summ['wall_s']} s &middot; "
                 f"{html.escape(meta.get('started') or '')} on "
                 f"{html.escape(meta.get('hostname') or '')} &middot; rdpfault "
                 f"{html.escape(str(meta.get('rdpfault')))}; {vers}")
    data = json.dumps([{k: v for k, v in c.items() if k != "events"} for c in cells])
    data = data.replace("</", "<\\/")
    page = (_PAGE.replace("__SUMMARY__", summ_text).replace("__HEAD__", head)
            .replace("__ROWS__", "\n".join(rows)).replace("__DATA__", data))
    _parent(path)
    with open(path, "w") as f:
        f.write(page)

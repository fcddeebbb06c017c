"""catalog_doc — docs/catalog.md from the scenario files: every scenario,
what it reproduces, and what each client was measured to show (the files'
expectations, which `rdpfault matrix` holds every client to). The page is
generated, never edited: test_catalog_docs checks it is current.

    python3 client-tests/catalog_doc.py [RDPFAULT] > docs/catalog.md
"""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import rfharness as rf  # noqa: E402

CLIENTS = ["xfreerdp", "rdesktop", "nmap", "impacket", "rdpfault-mtclient"]


def scenarios(binary):
    names = [s["name"] for s in json.loads(subprocess.run(
        [binary, "list", "--json"], capture_output=True, text=True, check=True).stdout)]
    return [json.loads(subprocess.run([binary, "show", n, "--json"], capture_output=True,
                                      text=True, check=True).stdout) for n in names]


def outcome(e):
    """One expectation as a table cell: the result, the exit code, the key line."""
    if not e:
        return ""
    r = e["result"]
    text = {"connected": "connects", "failed": "fails", "hangs": "hangs",
            "retries-forever": "retries without bound"}[r]
    if "exit" in e:
        text += f", exit {e['exit']}"
    if e.get("log"):
        text += f", `{e['log']}`"
    if e.get("args"):
        text += f" (`{e['args']}`)"
    return text


def expect_of(sc, client):
    for e in sc.get("expect", []):
        if e["client"] == client:
            return e
    return None


def cell(text):
    return text.replace("|", "\\|")


def render(scs):
    out = ["# The scenario catalog", "",
           "Generated from `scenarios/` by `client-tests/catalog_doc.py`; do not edit. Each cell is "
           "what the scenario file expects of that client, measured with xfreerdp 2.11.7, rdesktop "
           "1.9.0, nmap 7.93 and impacket 0.10.0 and held to it by `rdpfault matrix` (one outcome "
           "per cell, every run). mstsc cannot run here: its documented codes are in "
           "`rdpfault show NAME`, and it selects a scenario by its alias (`/u:ALIAS`) or by its "
           "port (13390 + offset; `rdpfault rdp-file NAME`).", ""]
    used = [c for c in CLIENTS if any(expect_of(s, c) for s in scs)]
    out.append("| scenario | alias | offset | summary | " + " | ".join(used) + " |")
    out.append("|---|---|---|---|" + "---|" * len(used))
    for s in sorted(scs, key=lambda s: s["port_offset"]):
        row = [f"`{s['name']}`", f"`{s['alias']}`" if s.get("alias") else "",
               str(s["port_offset"]), cell(s["summary"])]
        row += [cell(outcome(expect_of(s, c))) for c in used]
        out.append("| " + " | ".join(row) + " |")
    out.append("")
    return "\n".join(out)


def main(argv):
    binary = argv[1] if len(argv) > 1 else rf.rdpfault_binary()
    sys.stdout.write(render(scenarios(binary)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
"""rdpfault ctl — the control API from the shell (docs/api.md).

    rdpfault ctl [--api ADDR:PORT] [--json] COMMAND [ARGS]

    version                     the harness's version
    list                        its scenarios (name, port, summary)
    show NAME                   one scenario (JSON)
    listeners                   its listeners
    conns                       the live connections
    cut ID [--mode reset|close] cut one now
    events [--since SEQ] [--follow [--for S]]  the event log (JSON lines)
    metrics                     Prometheus text

Exit codes: 0 done; 1 the harness could not be reached; 2 usage; 4 no such
scenario or connection (404); 5 another error the API answered.
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rdpfault_api import ApiError, Client  # noqa: E402


class Usage(argparse.ArgumentParser):
    def error(self, message):
        print(f"rdpfault ctl: {message}", file=sys.stderr)
        print("try 'rdpfault ctl --help'", file=sys.stderr)
        sys.exit(2)


def table(rows, cols):
    widths = [max([len(c)] + [len(str(r.get(c, ""))) for r in rows]) for c in cols]
    print("  ".join(c.upper().ljust(w) for c, w in zip(cols, widths)).rstrip())
    for r in rows:
        print("  ".join(str(r.get(c, "")).ljust(w) for c, w in zip(cols, widths)).rstrip())


def main(argv):
    ap = Usage(prog="rdpfault ctl", description=__doc__.split("\n\n")[0],
               epilog=__doc__.split("\n\n", 2)[2], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--api", default=os.environ.get("RDPFAULT_API", "127.0.0.1:8390"),
                    metavar="ADDR:PORT", help="the harness's API (default $RDPFAULT_API or "
                    "127.0.0.1:8390)")
    ap.add_argument("--json", action="store_true", help="JSON output")
    ap.add_argument("--rdpfault", help=argparse.SUPPRESS)  # the binary that ran us
    sub = ap.add_subparsers(dest="cmd", metavar="COMMAND", parser_class=Usage)
    sub.required = True
    for name in ("version", "list", "listeners", "conns", "metrics"):
        sub.add_parser(name)
    sh = sub.add_parser("show")
    sh.add_argument("name")
    cut = sub.add_parser("cut")
    cut.add_argument("id", type=int)
    cut.add_argument("--mode", choices=("reset", "close"), default="reset")
    ev = sub.add_parser("events")
    ev.add_argument("--since", type=int, default=0)
    ev.add_argument("--follow", action="store_true")
    ev.add_argument("--for", dest="for_s", type=float, default=None, metavar="S",
                    help="with --follow: stop after S seconds")
    a = ap.parse_args(argv)
    api = Client(a.api)
    try:
        if a.cmd == "version":
            v = api.version()
            print(json.dumps(v) if a.json else f"rdpfault {v['version']}")
        elif a.cmd == "list":
            rows = api.scenarios()
            if a.json:
                print(json.dumps(rows, indent=2))
            else:
                table(rows, ["name", "alias", "port", "summary"])
        elif a.cmd == "show":
            print(json.dumps(api.scenario(a.name), indent=2))
        elif a.cmd == "listeners":
            rows = api.listeners()
            print(json.dumps(rows, indent=2)) if a.json else table(
                rows, ["address", "kind", "scenario"])
        elif a.cmd == "conns":
            rows = api.connections()
            print(json.dumps(rows, indent=2)) if a.json else table(
                rows, ["id", "client", "scenario", "phase", "bytes_from_client",
                       "bytes_to_client", "age_ms"])
        elif a.cmd == "cut":
            r = api.cut(a.id, a.mode)
            print(json.dumps(r) if a.json else f"connection {r['id']}: {r['cut']}")
        elif a.cmd == "events":
            if a.follow:
                until = time.monotonic() + a.for_s if a.for_s else None
                for e in api.follow(a.since, until):
                    print(json.dumps(e), flush=True)
            else:
                since = a.since
                while True:
                    page = api.events(since)
                    for e in page["events"]:
                        print(json.dumps(e))
                    if page["next"] == since:
                        break
                    since = page["next"]
        elif a.cmd == "metrics":
            sys.stdout.write(api.metrics())
    except ApiError as e:
        print(f"rdpfault ctl: {e.message}", file=sys.stderr)
        return 1 if e.status == 0 else 4 if e.status == 404 else 5
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

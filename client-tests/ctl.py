#!/usr/bin/env python3
"""rdpfault ctl — the control API from the shell (docs/api.md).

    rdpfault ctl [--api ADDR:PORT] [--token TOKEN] [--json] COMMAND [ARGS]

    version                     the harness's version
    list                        its scenarios (name, port, summary)
    show NAME                   one scenario (JSON)
    listeners                   its listeners
    conns                       the live connections
    cut ID [--mode reset|close] cut one now
    listener [show|update] ADDRESS [--scenario NAME] [--enable | --disable]
             [--schedule NAME*N,...,NAME | --no-schedule] [--match-client IP]
                                show or change one (a schedule: "fail N, then ...")
    listener add ADDR:PORT [--scenario NAME] [--name TEXT] [--disable]   open one
    listener remove ADDRESS     close one the API opened
    toxics ADDRESS              the conditions the API added to a listener
    toxic add ADDRESS TYPE[:STREAM][:KEY=VALUE,...]   add one (serve --network's syntax)
    toxic update ADDRESS NAME KEY=VALUE,...          change its attributes (toxicity too)
    toxic remove ADDRESS NAME   remove one
    reset                       every listener as it started, every toxic gone
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
from rdpfault_api import ApiError, Client, parse_schedule  # noqa: E402


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


class SpecError(Exception):
    pass


def pairs(text):
    out = {}
    for kv in text.split(","):
        k, sep, v = kv.partition("=")
        if not sep or not k or not v:
            raise SpecError(f"'{kv}' is not KEY=VALUE")
        try:
            out[k] = float(v) if any(c in v for c in ".eE") else int(v)
        except ValueError:
            out[k] = v
    return out


def spec_to_object(spec):
    """serve --network's TYPE[:STREAM][:KEY=VALUE,...] as the API's object
    (the harness checks it: its errors name the field)."""
    parts = spec.split(":")
    if len(parts) > 3 or not parts[0]:
        raise SpecError(f"'{spec}': expected TYPE[:STREAM][:KEY=VALUE,...]")
    body = {"type": parts[0]}
    rest = parts[1:]
    if rest and "=" not in rest[0]:
        body["stream"] = rest.pop(0)
    if rest:
        kv = pairs(rest[0])
        for k in ("name", "toxicity"):
            if k in kv:
                body[k] = kv.pop(k) if k != "name" else str(kv.pop(k))
        trig = {k: kv.pop(k) for k in ("from_phase", "after_bytes") if k in kv}
        if trig:
            body["trigger"] = trig
        if kv:
            body["attributes"] = kv
    return body


def main(argv):
    ap = Usage(prog="rdpfault ctl", description=__doc__.split("\n\n")[0],
               epilog=__doc__.split("\n\n", 2)[2], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--api", default=os.environ.get("RDPFAULT_API", "127.0.0.1:8390"),
                    metavar="ADDR:PORT", help="the harness's API (default $RDPFAULT_API or "
                    "127.0.0.1:8390)")
    ap.add_argument("--token", default=os.environ.get("RDPFAULT_API_TOKEN"),
                    help="the harness's --api-token (default $RDPFAULT_API_TOKEN)")
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
    li = sub.add_parser("listener")
    li.add_argument("words", nargs="+", metavar="[add|remove|show|update] ADDRESS")
    li.add_argument("--scenario")
    li.add_argument("--name")
    g = li.add_mutually_exclusive_group()
    g.add_argument("--enable", dest="enabled", action="store_const", const=True)
    g.add_argument("--disable", dest="enabled", action="store_const", const=False)
    g = li.add_mutually_exclusive_group()
    g.add_argument("--schedule", metavar="NAME*N,...,NAME")
    g.add_argument("--no-schedule", action="store_true")
    li.add_argument("--match-client", metavar="IP")
    tx = sub.add_parser("toxics")
    tx.add_argument("address")
    sub.add_parser("reset")
    tox = sub.add_parser("toxic")
    tsub = tox.add_subparsers(dest="action", metavar="add|update|remove", parser_class=Usage)
    tsub.required = True
    ta = tsub.add_parser("add")
    ta.add_argument("address")
    ta.add_argument("spec")
    tu = tsub.add_parser("update")
    tu.add_argument("address")
    tu.add_argument("name")
    tu.add_argument("values")
    tr = tsub.add_parser("remove")
    tr.add_argument("address")
    tr.add_argument("name")
    ev = sub.add_parser("events")
    ev.add_argument("--since", type=int, default=0)
    ev.add_argument("--follow", action="store_true")
    ev.add_argument("--for", dest="for_s", type=float, default=None, metavar="S",
                    help="with --follow: stop after S seconds")
    a = ap.parse_args(argv)
    api = Client(a.api, token=a.token)
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
        elif a.cmd == "listener":
            words = a.words
            action = words[0] if words[0] in ("add", "remove", "show", "update") else None
            if action:
                words = words[1:]
            if len(words) != 1:
                raise SpecError("listener: expected [add|remove|show|update] ADDRESS")
            address = words[0]
            changes = {}
            if a.schedule is not None:
                try:
                    changes["schedule"] = parse_schedule(a.schedule)
                except ValueError as e:
                    raise SpecError(str(e)) from None
            elif a.no_schedule:
                changes["schedule"] = None
            if a.match_client is not None:
                changes["match_client"] = a.match_client or None
            if action == "add":
                if changes:
                    raise SpecError("listener add: --schedule and --match-client are for an "
                                    "update")
                r = api.create_listener(address, a.scenario, a.name,
                                        None if a.enabled is None else a.enabled)
            elif action == "remove":
                api.remove_listener(address)
                print(json.dumps({"removed": address}) if a.json else f"removed {address}")
                return 0
            elif action == "show" or (action is None and a.scenario is None and
                                      a.enabled is None and not changes):
                r = api.listener(address)
            else:
                r = api.update_listener(address, a.scenario, a.enabled, **changes)
            print(json.dumps(r, indent=2))
        elif a.cmd == "toxics":
            print(json.dumps(api.toxics(a.address), indent=2))
        elif a.cmd == "reset":
            api.reset()
            print(json.dumps({"reset": True}) if a.json else "reset")
        elif a.cmd == "toxic" and a.action == "add":
            body = spec_to_object(a.spec)
            print(json.dumps(api.add_toxic(a.address, **body), indent=2))
        elif a.cmd == "toxic" and a.action == "update":
            kv = pairs(a.values)
            tox = kv.pop("toxicity", None)
            print(json.dumps(api.update_toxic(a.address, a.name, kv or None, tox), indent=2))
        elif a.cmd == "toxic" and a.action == "remove":
            api.remove_toxic(a.address, a.name)
            print(json.dumps({"removed": a.name}) if a.json else f"removed {a.name}")
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
    except SpecError as e:
        print(f"rdpfault ctl: {e}", file=sys.stderr)
        return 2
    except ApiError as e:
        print(f"rdpfault ctl: {e.message}", file=sys.stderr)
        return 1 if e.status == 0 else 4 if e.status == 404 else 5
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

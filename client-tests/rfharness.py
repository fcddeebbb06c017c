"""rfharness — what the project's Python tests share: start `rdpfault serve`
on free loopback ports, read its JSON-lines event log, run a real client
under a private Xvfb display, and send raw X.224 requests.

Standard library only. Every wait is bounded; every process started here is
ended by its PID.
"""

import json
import os
import random
import select
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _die_with_parent():
    """preexec_fn: the child gets SIGTERM if the thread that started it dies
    (a test runner killed at its timeout leaves no harness behind)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class CpuLoad:
    """n busy loops contending for the CPU (matrix --load): each is its own
    process, bounded by `limit_s` whatever happens, ended by its PID at
    stop()."""

    def __init__(self, n, limit_s=3600):
        self.n, self.limit_s, self.procs = n, limit_s, []

    def start(self):
        code = ("import time\nend = time.monotonic() + %d\n"
                "while time.monotonic() < end:\n    pass\n" % self.limit_s)
        for _ in range(self.n):
            self.procs.append(subprocess.Popen([sys.executable, "-c", code],
                                               stdin=subprocess.DEVNULL))

    def stop(self):
        for p in self.procs:
            p.kill()
        for p in self.procs:
            p.wait()
        self.procs = []


def rdpfault_binary():
    path = os.environ.get("RDPFAULT_BIN", os.path.join(ROOT, "build", "rdpfault"))
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"rdpfault is not built at {path} (set RDPFAULT_BIN)")
    return path


def _probe_socket():
    # SO_REUSEADDR as the harness's listeners have it: a port whose old
    # connections linger in TIME_WAIT is free for them too.
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return s


def catalog_span():
    """How many ports --port-base needs: the catalog's largest offset + 1."""
    out = subprocess.run([rdpfault_binary(), "list", "--json"], capture_output=True, text=True,
                         check=True).stdout
    return max(s["port_offset"] for s in json.loads(out)) + 1


def free_ports(n):
    """n distinct free TCP ports on 127.0.0.1, below the ephemeral range."""
    base = free_port_block(n)
    return list(range(base, base + n))


def free_port_block(size, tries=200):
    """A base port such that base..base+size-1 are all free. Blocks are
    taken below the kernel's ephemeral range (32768 and up), where clients'
    own ports, some lingering in TIME_WAIT, never are."""
    rng = random.Random()
    for _ in range(tries):
        base = rng.randrange(20000, 32768 - size)
        socks = []
        try:
            for p in range(base, base + size):
                s = _probe_socket()
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free block of ports")


def x224_request(cookie=None, protocols=0x3, neg=True):
    """A client's X.224 Connection Request, as xfreerdp builds it."""
    body = b""
    if cookie is not None:
        body += b"Cookie: mstshash=" + cookie.encode() + b"\r\n"
    if neg:
        body += struct.pack("<BBHI", 0x01, 0, 8, protocols)
    x224 = bytes([6 + len(body), 0xE0, 0, 0, 0, 0, 0]) + body
    return struct.pack(">BBH", 3, 0, 4 + len(x224)) + x224


def tls_version(port, cookie, max_version=None, timeout=5.0):
    """X.224 with `cookie` (TLS requested), then a TLS handshake that
    trusts any certificate; the version negotiated, or the ssl exception."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(x224_request(cookie, protocols=0x1))
        read_confirm(s)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if max_version is not None:
            ctx.maximum_version = max_version
        with ctx.wrap_socket(s) as t:
            return t.version()
    finally:
        s.close()


def read_confirm(sock, timeout=5.0):
    """Reads one TPKT from sock; returns its bytes (b'' on close)."""
    sock.settimeout(timeout)
    head = b""
    while len(head) < 4:
        chunk = sock.recv(4 - len(head))
        if not chunk:
            return head
        head += chunk
    length = struct.unpack(">H", head[2:4])[0]
    data = head
    while len(data) < length:
        chunk = sock.recv(length - len(data))
        if not chunk:
            break
        data += chunk
    return data


class EventLog:
    """A harness's JSON-lines event log, read incrementally: only new whole
    lines are parsed. Safe to poll from several threads."""

    def __init__(self, path):
        self.path = path
        self._events = []   # parsed so far
        self._offset = 0    # bytes of the log parsed so far
        self._lock = threading.Lock()

    def events(self, max_bytes=-1):
        """Every event so far. max_bytes bounds how much new log one call
        parses, so a poll stays quick while a client floods the harness."""
        with self._lock:
            try:
                with open(self.path, "rb") as f:
                    f.seek(self._offset)
                    data = f.read(max_bytes)
            except FileNotFoundError:
                data = b""
            end = data.rfind(b"\n") + 1
            for line in data[:end].splitlines():
                if line.strip():
                    self._events.append(json.loads(line))  # a malformed line is an error
            self._offset += end
            return list(self._events)


class Harness:
    """A running `rdpfault serve` with its own ports, event log and runtime
    directory. Use as a context manager."""

    def __init__(self, extra_args=(), listen=None, port_base=True, timeout_ms=None, env=None):
        self.tmp = tempfile.mkdtemp(prefix="rftest-")
        self.events_path = os.path.join(self.tmp, "events.jsonl")
        self.runtime = os.path.join(self.tmp, "runtime")
        self.stderr_path = os.path.join(self.tmp, "stderr.txt")
        self._listen, self._want_base = listen, port_base
        self._timeout_ms, self._extra = timeout_ms, list(extra_args)
        self._env = dict(os.environ, **(env or {}))
        self.proc = None
        self.log = EventLog(self.events_path)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        self.cleanup()

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _choose_ports(self):
        self.port = free_ports(1)[0]
        self.port_base = free_port_block(catalog_span()) if self._want_base else None
        args = [rdpfault_binary(), "serve", "--events", self.events_path,
                "--runtime-dir", self.runtime]
        args += ["--listen", self._listen or f"127.0.0.1:{self.port}"]
        if self.port_base:
            args += ["--port-base", str(self.port_base)]
        if self._timeout_ms:
            args += ["--handshake-timeout", str(self._timeout_ms)]
        if "--api" not in self._extra:
            # The default API port is one for the machine: tests that run
            # side by side would race for it. A test that wants the API asks.
            args += ["--api", "off"]
        self.args = args + self._extra

    def start(self, attempts=5):
        """Starts the harness. Tests running in parallel pick their ports at
        random: a port taken between the choice and the bind means new
        ports and another try."""
        for attempt in range(attempts):
            self._choose_ports()
            self.stderr = open(self.stderr_path, "w")
            self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL,
                                         stderr=self.stderr, stdin=subprocess.DEVNULL,
                                         env=self._env, preexec_fn=_die_with_parent)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                # Started, and its certificates made (in the background,
                # once listening): a test's figures (CPU, RSS) and cells
                # then never race the maker.
                if any(e["event"] == "certificates" for e in self.events()):
                    return
                time.sleep(0.05)
            else:
                raise RuntimeError("rdpfault did not start within 30 s")
            self.stderr.close()
            text = self.stderr_text()
            # A busy port of ours is retried; a busy explicit --listen is not.
            fixed = (self._listen or "").split("=")[0]
            busy = "Address already in use" in text and not (fixed and f"on {fixed}:" in text)
            if not busy or attempt == attempts - 1:
                raise RuntimeError(f"rdpfault exited {self.proc.returncode}: {text}")

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Signals the harness; returns (exit code, seconds it took)."""
        if not self.proc or self.proc.poll() is not None:
            return (self.proc.returncode if self.proc else None, 0.0)
        t0 = time.monotonic()
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        took = time.monotonic() - t0
        self.stderr.close()
        self.check_sanitizers()
        return rc, took

    def check_sanitizers(self):
        """An instrumented harness (ASan+UBSan, leak checking on) that
        reported anything fails the test that ran it."""
        text = self.stderr_text()
        for mark in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            if mark in text:
                i = text.index(mark)
                raise AssertionError(f"the harness reported: {text[max(0, i - 200):i + 3000]}")

    def stderr_text(self):
        try:
            with open(self.stderr_path) as f:
                return f.read()
        except OSError:
            return ""

    def scenario_port(self, offset):
        return self.port_base + offset

    def events(self, conn=None, max_bytes=-1):
        """Every event so far (see EventLog.events)."""
        events = self.log.events(max_bytes)
        if conn is None:
            return events
        return [e for e in events if e.get("conn") == conn]

    def wait_for(self, pred, timeout=20.0, what="event"):
        """Waits until pred(events) returns a truthy value; returns it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = pred(self.events())
            if got:
                return got
            time.sleep(0.05)
        raise AssertionError(f"timed out after {timeout} s waiting for {what}")

    def matching(self, pred, n, timeout=20.0, what="events"):
        """The log's events that pred accepts, once there are at least n of
        them on disk (the harness writes lines a few milliseconds after it
        emits them: a test waits for what it expects, it never reads once)."""
        return self.wait_for(lambda ev: (lambda m: m if len(m) >= n else None)(
            [e for e in ev if pred(e)]), timeout=timeout, what=f"{n} {what}")

    def connections(self):
        """Connection ids in accept order, as far as the log on disk says: the
        harness writes its lines a few milliseconds after they happen, so a
        test that just saw a connection on the wire waits for it
        (new_connection, nth_connection) rather than reading this once."""
        return [e["conn"] for e in self.events() if e["event"] == "accept"]

    def new_connection(self, before=(), timeout=20.0):
        """The first connection whose accept is on disk and not in `before`."""
        return self.wait_for(lambda ev: next((e["conn"] for e in ev if e["event"] == "accept"
                                              and e["conn"] not in before), None),
                             timeout=timeout, what="a new connection")

    def conn_of(self, sockname, timeout=20.0):
        """The connection a client socket made (its getsockname()), once its
        accept is on disk."""
        host, port = sockname[:2]
        want = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        return self.wait_for(lambda ev: next((e["conn"] for e in ev if e["event"] == "accept"
                                              and e["client"] == want), None),
                             timeout=timeout, what=f"the connection from {want}")

    def nth_connection(self, n, timeout=20.0):
        """The n-th connection accepted (1-based), once its accept is on disk."""
        return self.wait_for(lambda ev: ([e["conn"] for e in ev if e["event"] == "accept"]
                                         + [None] * n)[n - 1],
                             timeout=timeout, what=f"connection #{n}")

    def settled(self, conn, timeout=20.0):
        """Waits for conn's close event: every earlier line of it is then on
        disk too (one writer, in order). Returns the close event."""
        return self.wait_for(lambda ev: next((e for e in ev if e["event"] == "close"
                                              and e["conn"] == conn), None),
                             timeout=timeout, what=f"the close of connection {conn}")

    def phases(self, conn):
        return [e["phase"] for e in self.events(conn) if e["event"] == "phase"]

    def first(self, conn, event, timeout=10.0):
        """conn's first `event`, waiting for it to reach the log on disk;
        None when none came within the timeout."""
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events(conn):
                if e["event"] == event:
                    return e
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.02)


def wait_capturing(cap, timeout=20):
    """Waits until a tshark started with stderr=PIPE, text=True really
    captures. "Capturing on" comes before the capture runs; as root, tshark
    also says "Capture started". Then allow a moment."""
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        line = cap.stderr.readline()
        seen += line
        if "Capture started" in line or ("Capturing on" in line and os.geteuid() != 0):
            time.sleep(0.5)
            return
        if cap.poll() is not None:
            break
    raise AssertionError(f"tshark did not start capturing: {seen}")


def end_process(proc, grace=5):
    """Ends a process we started: SIGTERM, then SIGKILL after `grace` s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def check_clean_stop(test, h, closes, last_phase=None):
    """SIGTERM: exit 0 in under a second, the log complete (ends with
    "stop", no peer left), every connection closed for "shutdown"."""
    rc, took = h.stop()
    test.assertEqual(rc, 0, h.stderr_text())
    test.assertLess(took, 1.0)
    ev = h.events()
    test.assertEqual(ev[-1]["event"], "stop")
    test.assertEqual(ev[-1]["peers_still_running"], 0)
    got = [e for e in ev if e["event"] == "close"]
    test.assertEqual(len(got), closes)
    for e in got:
        test.assertEqual(e["reason"], "shutdown")
        if last_phase:
            test.assertEqual(e["last_phase"], last_phase)


class Display:
    """A private Xvfb display, or the caller's when DISPLAY is set."""

    def __init__(self):
        self.proc = None
        self.name = os.environ.get("DISPLAY")

    def __enter__(self):
        if self.name:
            return self
        if not shutil.which("Xvfb"):
            raise RuntimeError("Xvfb is not installed (apt-get install xvfb)")
        # -displayfd: Xvfb picks a free display itself and writes its number
        # to the pipe once it is ready (no race between parallel tests).
        rfd, wfd = os.pipe()
        # -noreset: an X server resets when its last client leaves, and
        # refuses the connections that arrive meanwhile (1 in 3 under
        # connect/disconnect churn here): a cell's client would then fail to
        # open the display for no reason of the scenario's.
        self.proc = subprocess.Popen(["Xvfb", "-displayfd", str(wfd), "-screen", "0",
                                      "1280x800x24", "-nolisten", "tcp", "-maxclients", "512",
                                      "-noreset"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     pass_fds=(wfd,))
        os.close(wfd)
        number = b""
        deadline = time.monotonic() + 15
        try:
            while time.monotonic() < deadline and not number.endswith(b"\n"):
                ready, _, _ = select.select([rfd], [], [], 0.2)
                if ready:
                    chunk = os.read(rfd, 16)
                    if not chunk:
                        break
                    number += chunk
        finally:
            os.close(rfd)
        if not number.strip().isdigit():
            end_process(self.proc, grace=0)
            raise RuntimeError("could not start Xvfb")
        self.name = ":" + number.strip().decode()
        return self

    def __exit__(self, *exc):
        if self.proc:
            end_process(self.proc)


class Client:
    """A real client process (e.g. xfreerdp) with its output captured."""

    def __init__(self, argv, display=None, env_extra=None):
        self.out_file = tempfile.TemporaryFile(mode="w+")
        env = dict(os.environ)
        env.update(env_extra or {})
        if display:
            env["DISPLAY"] = display
        self.proc = subprocess.Popen(argv, stdout=self.out_file, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env)

    def wait(self, timeout):
        """Exit code, or None if it is still running after timeout."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        return end_process(self.proc)

    def output(self):
        self.out_file.seek(0)
        return self.out_file.read()


def xfreerdp(port, user, password="x", extra=(), display=None):
    return Client(["xfreerdp", f"/v:127.0.0.1:{port}", f"/u:{user}", f"/p:{password}",
                   "/cert:ignore", "/size:1024x768", *extra], display)


def schema_errors(doc, name):
    """What in `doc` docs/NAME.schema.json rejects (python3-jsonschema), as
    "path: message" lines; [] when it validates."""
    import jsonschema  # only the tests that check reports need it
    docs = os.path.join(ROOT, "docs")
    store = {}
    for f in os.listdir(docs):
        if f.endswith(".schema.json"):
            with open(os.path.join(docs, f)) as fh:
                s = json.load(fh)
            store[s["$id"]] = s
    schema = store[f"https://rdpfault.invalid/schemas/{name}.schema.json"]
    jsonschema.Draft202012Validator.check_schema(schema)
    v = jsonschema.Draft202012Validator(
        schema, resolver=jsonschema.RefResolver(schema["$id"], schema, store=store))
    return [f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message[:200]}"
            for e in v.iter_errors(doc)]

"""A pytest fixture that starts rdpfault and hands each test a client for
its control API (the Testcontainers pattern): copy this file beside your
tests. It runs the binary ($RDPFAULT_BIN, else `rdpfault` on PATH), or the
docker image when $RDPFAULT_IMAGE is set (started with --network host).
Each test gets a fresh harness on ports the kernel chooses.

    def test_slow_link(rdpfault):
        rdpfault.api.add_toxic(rdpfault.listener, "latency", attributes={"latency": 300})
        ...connect your client to rdpfault.port...
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import pytest

# rdpfault_api.py: installed beside the matrix runner, or in the source tree.
for d in (os.path.join(os.path.dirname(__file__), "..", ".."),
          "/usr/local/share/rdpfault/client-tests", "/usr/share/rdpfault/client-tests"):
    if os.path.exists(os.path.join(d, "rdpfault_api.py")):
        sys.path.insert(0, os.path.abspath(d))
        break
from rdpfault_api import Client  # noqa: E402


@dataclass
class Harness:
    api: Client
    port: int          # the listener your client connects to
    listener: str      # its address, as the API names it ("127.0.0.1:PORT")
    events_path: str


def _command(events):
    args = ["serve", "--listen", "127.0.0.1:0", "--api", "127.0.0.1:0", "--events", events,
            "--ready-file", events + ".ready"]
    image = os.environ.get("RDPFAULT_IMAGE")
    if image:
        d = os.path.dirname(events)
        return ["docker", "run", "--rm", "--network", "host", "-v", f"{d}:{d}", image, *args]
    return [os.environ.get("RDPFAULT_BIN") or shutil.which("rdpfault") or "rdpfault", *args]


@pytest.fixture
def rdpfault():
    tmp = tempfile.mkdtemp(prefix="rdpfault-pytest-")
    events = os.path.join(tmp, "events.jsonl")
    proc = subprocess.Popen(_command(events), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        start = None
        while start is None and time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError("rdpfault exited: " + proc.stderr.read().decode())
            if os.path.exists(events):
                with open(events) as f:
                    first = f.readline()
                if first.endswith("\n"):
                    start = json.loads(first)
            time.sleep(0.05)
        if start is None:
            raise RuntimeError("rdpfault did not start within 30 s")
        lst = start["listeners"][0]
        yield Harness(Client(start["api"]), lst["port"], lst["address"], events)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)

"""rdpfault_api — a client for rdpfault's control API (docs/api.md).

Standard library only, one module, typed. The project's own tests and
`rdpfault ctl` use it; so can a test suite:

    from rdpfault_api import Client
    api = Client("127.0.0.1:8390")
    mark = api.events_next()                     # where the log is now
    ...                                          # start a client
    api.wait_for(lambda e: e.get("phase") == "active", since=mark)
    for c in api.connections():
        api.cut(c["id"], mode="reset")

Every error the API answers is raised as ApiError(status, message, field).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable, Dict, Iterator, List, Optional

Event = Dict[str, Any]


_UNSET: Any = object()  # an argument not given (None has a meaning of its own)


def parse_schedule(spec: str) -> List[Dict[str, Any]]:
    """ "reset-at-mcs-connect*2,healthy-tls" -> the API's schedule steps."""
    steps: List[Dict[str, Any]] = []
    for part in spec.split(","):
        name, star, count = part.strip().partition("*")
        if not name or (star and not count.isdigit()):
            raise ValueError(f"schedule {spec!r}: expected NAME*COUNT,...,NAME")
        steps.append({"scenario": name, "count": int(count)} if star else {"scenario": name})
    return steps


class ApiError(Exception):
    """An error the API answered (status 4xx/5xx), or none at all (status 0)."""

    def __init__(self, status: int, message: str, field: Optional[str] = None) -> None:
        super().__init__(f"{status}: {message}" + (f" (field {field})" if field else ""))
        self.status, self.message, self.field = status, message, field


class Client:
    def __init__(self, address: str = "127.0.0.1:8390", timeout: float = 30.0,
                 token: Optional[str] = None) -> None:
        """token: the harness's --api-token, sent as a Bearer token."""
        self.base = address if "://" in address else f"http://{address}"
        self.timeout = timeout
        self.token = token

    def _call(self, method: str, path: str, query: Optional[Dict[str, Any]] = None,
              timeout: Optional[float] = None, body: Any = None) -> Any:
        url = self.base + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, method=method, data=data)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=timeout or self.timeout) as r:
                body = r.read().decode()
                ctype = r.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            text = e.read().decode()
            try:
                err = json.loads(text)
                raise ApiError(e.code, err.get("error", text), err.get("field")) from None
            except ValueError:
                raise ApiError(e.code, text) from None
        except (urllib.error.URLError, OSError) as e:
            raise ApiError(0, f"cannot reach {self.base}: {getattr(e, 'reason', e)}") from None
        if not body.strip():
            return None
        return json.loads(body) if ctype.startswith("application/json") else body

    @staticmethod
    def _q(segment: str) -> str:
        return urllib.parse.quote(segment, safe=":[]")

    def version(self) -> Dict[str, Any]:
        return self._call("GET", "/version")

    def scenarios(self) -> List[Dict[str, Any]]:
        return self._call("GET", "/scenarios")

    def scenario(self, name: str) -> Dict[str, Any]:
        return self._call("GET", "/scenarios/" + urllib.parse.quote(name, safe=""))

    def listeners(self) -> List[Dict[str, Any]]:
        return self._call("GET", "/listeners")

    def listener(self, address: str) -> Dict[str, Any]:
        return self._call("GET", "/listeners/" + self._q(address))

    def update_listener(self, address: str, scenario: Optional[str] = None,
                        enabled: Optional[bool] = None, schedule: Any = _UNSET,
                        match_client: Any = _UNSET) -> Dict[str, Any]:
        """scenario, enabled; schedule: steps (see parse_schedule), a
        "NAME*N,...,NAME" text, or None to remove it; match_client: the
        one client address the schedule applies to, or None for all."""
        body: Dict[str, Any] = {k: v for k, v in (("scenario", scenario), ("enabled", enabled))
                                if v is not None}
        if schedule is not _UNSET:
            body["schedule"] = parse_schedule(schedule) if isinstance(schedule, str) else schedule
        if match_client is not _UNSET:
            body["match"] = None if match_client is None else {"client": match_client}
        return self._call("POST", "/listeners/" + self._q(address), body=body)

    def create_listener(self, listen: str, scenario: Optional[str] = None,
                        name: Optional[str] = None, enabled: Optional[bool] = None
                        ) -> Dict[str, Any]:
        """A new listener on a loopback ADDR:PORT (PORT 0: the kernel's choice;
        the reply's "address" says which)."""
        body = {k: v for k, v in (("listen", listen), ("scenario", scenario), ("name", name),
                                  ("enabled", enabled)) if v is not None}
        return self._call("POST", "/listeners", body=body)

    def remove_listener(self, address: str) -> None:
        self._call("DELETE", "/listeners/" + self._q(address))

    def populate(self, listeners: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        """Creates or updates many listeners at once; all or none."""
        return self._call("POST", "/populate", body=listeners)

    def toxics(self, address: str) -> List[Dict[str, Any]]:
        return self._call("GET", f"/listeners/{self._q(address)}/toxics")

    def add_toxic(self, address: str, type: str, name: Optional[str] = None,
                  stream: Optional[str] = None, toxicity: Optional[float] = None,
                  trigger: Optional[Dict[str, Any]] = None,
                  attributes: Optional[Dict[str, float]] = None) -> Dict[str, Any]:
        body: Dict[str, Any] = {"type": type}
        for k, v in (("name", name), ("stream", stream), ("toxicity", toxicity),
                     ("trigger", trigger), ("attributes", attributes)):
            if v is not None:
                body[k] = v
        return self._call("POST", f"/listeners/{self._q(address)}/toxics", body=body)

    def update_toxic(self, address: str, name: str, attributes: Optional[Dict[str, float]] = None,
                     toxicity: Optional[float] = None) -> Dict[str, Any]:
        body = {k: v for k, v in (("attributes", attributes), ("toxicity", toxicity))
                if v is not None}
        return self._call("POST", f"/listeners/{self._q(address)}/toxics/{self._q(name)}",
                          body=body)

    def remove_toxic(self, address: str, name: str) -> None:
        self._call("DELETE", f"/listeners/{self._q(address)}/toxics/{self._q(name)}")

    def reset(self) -> Dict[str, Any]:
        return self._call("POST", "/reset")

    def connections(self) -> List[Dict[str, Any]]:
        return self._call("GET", "/connections")

    def cut(self, conn: int, mode: str = "reset") -> Dict[str, Any]:
        return self._call("DELETE", f"/connections/{int(conn)}", {"mode": mode})

    def metrics(self) -> str:
        return self._call("GET", "/metrics")

    def events(self, since: int = 0, wait_ms: int = 0, limit: Optional[int] = None
               ) -> Dict[str, Any]:
        """One page of the log after `since`: {"events", "next", "oldest", "missed"}."""
        return self._call("GET", "/events", {"since": since, "wait": wait_ms or None,
                                             "limit": limit},
                          timeout=self.timeout + wait_ms / 1000.0)

    def events_next(self) -> int:
        """The log's current end: pass it as `since` to see only what follows."""
        since = 0
        while True:
            page = self.events(since)
            if page["next"] == since:
                return since
            since = page["next"]

    def follow(self, since: int = 0, until: Optional[float] = None) -> Iterator[Event]:
        """Every event after `since`, as it comes (long polls), until the
        monotonic time `until` (None: for ever)."""
        while until is None or time.monotonic() < until:
            left = 10.0 if until is None else max(0.0, until - time.monotonic())
            page = self.events(since, wait_ms=int(min(10.0, left) * 1000))
            for e in page["events"]:
                yield e
            since = page["next"]

    def wait_for(self, pred: Callable[[Event], bool], since: int = 0, timeout: float = 30.0
                 ) -> Event:
        """The first event after `since` that pred accepts; ApiError 0 on timeout."""
        for e in self.follow(since, until=time.monotonic() + timeout):
            if pred(e):
                return e
        raise ApiError(0, f"no such event within {timeout} s")

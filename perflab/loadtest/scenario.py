"""Scenarios: what the load generator sends.

A :class:`Scenario` is a list of :class:`Request` steps. With ``order="weighted"`` (the
default) every request the generator sends is one step drawn at random by weight, a
traffic mix; with ``order="sequence"`` the steps are sent in turn (step ``i mod n``), a
user journey. :meth:`Scenario.from_har` replays the requests a browser recorded in a
HAR file: their method, path and query, headers and body, sent to the target instead
of the recorded host.

Each step is encoded once, before the test, into the exact bytes of an HTTP/1.1
request, so sending costs one ``write``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlencode, urlsplit

from perflab.errors import InputError, ParameterError

__all__ = ["Request", "Scenario"]

# Headers the generator writes itself, or that do not survive a replay.
_DROPPED = {
    "host",
    "content-length",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "upgrade",
    "proxy-connection",
    "te",
    "trailer",
}
_URL_SAFE = "/?&=%:@!$'()*+,;~-._[]#"
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


@dataclass(frozen=True)
class Request:
    """One step of a scenario.

    Parameters
    ----------
    path : str
        Path and query (``/api/items/1?x=2``), or a whole URL whose path and query are
        taken (the target's host is used).
    method : str
        HTTP method.
    headers : mapping of str to str
        Extra headers; ``Host`` and ``Content-Length`` are written by the generator.
    body : bytes or str, optional
        Request body (text is sent as UTF-8).
    weight : float
        Relative share of this step in a weighted scenario.
    name : str, optional
        Label in the results; default ``"METHOD path"`` without the query.

    Examples
    --------
    >>> r = Request("/api/items/1?x=2", "POST", {"Content-Type": "application/json"}, "{}")
    >>> r.label(), r.weight
    ('POST /api/items/1', 1.0)
    """

    path: str = "/"
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | str | None = None
    weight: float = 1.0
    name: str | None = None

    def label(self) -> str:
        """The step's name in the results.

        Returns
        -------
        str
            ``name`` when given, else ``"METHOD path"`` without the query (the path
            of a whole URL).

        Examples
        --------
        >>> Request("https://shop.test/cart?id=3").label(), Request(name="home").label()
        ('GET /cart', 'home')
        """
        if self.name:
            return self.name
        return f"{self.method} {_path_of(self.path).split('?', 1)[0]}"

    def encode(
        self,
        host: str,
        base: str = "",
        extra: Mapping[str, str] | None = None,
        query: str = "",
    ) -> bytes:
        """The request's bytes for ``host`` (``name:port``), under the target's ``base`` path.

        ``extra`` headers apply to every request (the step's own win, whatever their
        case); ``query`` is the target URL's query, added to the step's. A path with
        characters outside ASCII is percent-encoded as UTF-8.

        Parameters
        ----------
        host : str
            The ``Host`` header: ``name:port`` (the port left out when it is the
            scheme's default).
        base : str
            The target URL's path, put before the step's path.
        extra : mapping of str to str, optional
            Headers added to every request.
        query : str
            The target URL's query string (without ``?``).

        Returns
        -------
        bytes
            The request line, the headers (``Host``, ``User-Agent: perflab``, the extra
            and the step's headers, ``Content-Length`` when there is a body or the
            method is POST, PUT or PATCH) and the body.

        Raises
        ------
        ParameterError
            A header value holds a character outside latin-1.

        Examples
        --------
        >>> Request("/a?b=1").encode("127.0.0.1:8080")
        b'GET /a?b=1 HTTP/1.1\\r\\nHost: 127.0.0.1:8080\\r\\nUser-Agent: perflab\\r\\n\\r\\n'
        """
        path = _path_of(self.path)
        if base and base != "/":
            path = base.rstrip("/") + path
        if query:
            path += ("&" if "?" in path else "?") + query
        path = quote(path, safe=_URL_SAFE)
        body = self.body.encode() if isinstance(self.body, str) else (self.body or b"")
        lines = [f"{self.method} {path} HTTP/1.1", f"Host: {host}"]
        headers: dict[str, tuple[str, str]] = {}  # lower-case name → (name, value)
        for source in ({"User-Agent": "perflab"}, extra or {}, self.headers):
            for k, v in source.items():
                headers[k.lower()] = (k, v)
        for low, (k, v) in headers.items():
            if low not in _DROPPED:
                lines.append(f"{k}: {v}")
        if body or self.method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        try:
            head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        except UnicodeEncodeError as exc:
            bad = exc.object[exc.start : exc.end]
            raise ParameterError(
                f"{self.label()}: a header holds {bad!r}, which HTTP/1.1 cannot carry "
                "(latin-1 only; encode it, e.g. RFC 8187 or percent-encoding)"
            ) from None
        return head + body


def _path_of(path: str) -> str:
    if "://" in path:
        parts = urlsplit(path)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
    if not path.startswith("/"):
        path = "/" + path
    return path


def _check(req: Request, i: int) -> Request:
    if not _TOKEN.match(req.method):
        raise ParameterError(f"step {i}: {req.method!r} is not an HTTP method")
    if not (req.weight >= 0.0) or req.weight == float("inf"):
        raise ParameterError(f"step {i}: weight must be a finite number ≥ 0, not {req.weight!r}")
    if any(c in _path_of(req.path) for c in " \r\n"):
        raise ParameterError(f"step {i}: the path {req.path!r} holds a space or a line break")
    for k, v in req.headers.items():
        if not _TOKEN.match(k) or "\r" in v or "\n" in v:
            raise ParameterError(f"step {i}: bad header {k!r}")
    return req


class Scenario:
    """The requests a load test sends.

    Parameters
    ----------
    steps : sequence of Request, str or mapping
        The steps; a string is a ``GET`` of that path, a mapping holds
        :class:`Request`'s fields.
    order : {"weighted", "sequence"}
        Draw each request at random by weight, or send the steps in turn.

    Raises
    ------
    ParameterError
        No step, a step that is not a request, a bad method, path, header or weight,
        or weights that add up to 0 in a weighted scenario.

    Examples
    --------
    >>> s = Scenario(["/", {"path": "/api/items/1", "weight": 3, "name": "item"}])
    >>> s.names, s.weights
    (['GET /', 'item'], [0.25, 0.75])
    """

    def __init__(
        self,
        steps: Iterable[Request | str | Mapping[str, Any]],
        *,
        order: Literal["weighted", "sequence"] = "weighted",
    ) -> None:
        if order not in ("weighted", "sequence"):
            raise ParameterError(f"order must be 'weighted' or 'sequence', not {order!r}")
        parsed: list[Request] = []
        for i, step in enumerate(steps):
            if isinstance(step, Request):
                req = step
            elif isinstance(step, str):
                req = Request(step)
            elif isinstance(step, Mapping):
                try:
                    req = Request(**step)
                except TypeError as exc:
                    raise ParameterError(f"step {i}: {exc}") from None
            else:
                raise ParameterError(f"step {i}: a Request, a path or a mapping, not {step!r}")
            parsed.append(_check(req, i))
        if not parsed:
            raise ParameterError("a scenario needs at least one request")
        total = sum(r.weight for r in parsed)
        if order == "weighted" and total <= 0:
            raise ParameterError("the weights of a scenario add up to 0")
        self.steps: list[Request] = parsed
        self.order = order
        self.total_weight = total

    @property
    def names(self) -> list[str]:
        """Each step's label, in order (steps may share one).

        Examples
        --------
        >>> Scenario(["/", "/a?x=1", {"path": "/b", "name": "bee"}]).names
        ['GET /', 'GET /a', 'bee']
        """
        return [r.label() for r in self.steps]

    @property
    def weights(self) -> list[float]:
        """Each step's share of the requests (they add up to 1).

        A ``"sequence"`` scenario sends every step equally often, whatever the weights.

        Examples
        --------
        >>> steps = [{"path": "/a", "weight": 1}, {"path": "/b", "weight": 3}]
        >>> Scenario(steps).weights, Scenario(steps, order="sequence").weights
        ([0.25, 0.75], [0.5, 0.5])
        """
        if self.order == "sequence":
            return [1.0 / len(self.steps)] * len(self.steps)
        return [r.weight / self.total_weight for r in self.steps]

    def encode(
        self,
        host: str,
        base: str = "",
        headers: Mapping[str, str] | None = None,
        query: str = "",
    ) -> list[bytes]:
        """Every step's request bytes for ``host`` (see :meth:`Request.encode`).

        Parameters
        ----------
        host : str
            The ``Host`` header (``name:port``).
        base : str
            The target URL's path, put before each step's path.
        headers : mapping of str to str, optional
            Headers added to every request.
        query : str
            The target URL's query string, added to each step's.

        Returns
        -------
        list of bytes
            One encoded request per step, in order.

        Raises
        ------
        ParameterError
            A header value holds a character outside latin-1.

        Examples
        --------
        >>> Scenario(["/a", "/b"]).encode("h:80", base="/v1")[1].split(b"\\r\\n")[0]
        b'GET /v1/b HTTP/1.1'
        """
        return [r.encode(host, base, headers, query) for r in self.steps]

    def is_head(self) -> list[bool]:
        """Whether each step is a ``HEAD`` (its response has no body).

        Returns
        -------
        list of bool
            One flag per step, in order.

        Examples
        --------
        >>> Scenario(["/", {"path": "/", "method": "HEAD"}]).is_head()
        [False, True]
        """
        return [r.method == "HEAD" for r in self.steps]

    @classmethod
    def from_har(
        cls,
        path: str | Path,
        *,
        origin: str | None = None,
        order: Literal["weighted", "sequence"] = "sequence",
    ) -> Scenario:
        """The requests of a HAR 1.2 file, in the order they were made.

        Parameters
        ----------
        path : str or Path
            The HAR file (JSON, as Chromium, Firefox or Playwright write it).
        origin : str, optional
            Keep only requests to this origin (``https://shop.example``); default the
            origin that most requests went to — a page's own API and assets, not
            third-party trackers.
        order : {"sequence", "weighted"}
            Replay the entries in turn (default) or as an equal-weight mix.

        Returns
        -------
        Scenario
            One step per kept entry: method, path and query, headers (without
            HTTP/2 pseudo-headers and hop-by-hop ones), body (``postData.text``), named
            ``METHOD path``.

        Raises
        ------
        InputError
            When the file is not JSON, not a HAR, or holds no request to the origin.

        Examples
        --------
        >>> import json, tempfile, pathlib
        >>> har = {"log": {"entries": [
        ...     {"request": {"method": "GET", "url": "https://a.test/x?q=1", "headers": []}},
        ...     {"request": {"method": "POST", "url": "https://a.test/api", "headers": [
        ...         {"name": ":authority", "value": "a.test"},
        ...         {"name": "content-type", "value": "application/json"}],
        ...         "postData": {"mimeType": "application/json", "text": "{}"}}}]}}
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.har"
        >>> _ = p.write_text(json.dumps(har))
        >>> Scenario.from_har(p).names
        ['GET /x', 'POST /api']
        """
        name = str(path)
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise InputError(name, None, "no such file") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            line = getattr(exc, "lineno", None)
            raise InputError(name, line, f"not JSON ({exc})") from None
        entries = doc.get("log", {}).get("entries") if isinstance(doc, dict) else None
        if not isinstance(entries, list):
            raise InputError(name, None, "not a HAR file: no log.entries list")
        requests: list[tuple[str, dict[str, Any]]] = []
        for i, entry in enumerate(entries):
            req = entry.get("request") if isinstance(entry, dict) else None
            if not isinstance(req, dict) or "url" not in req or "method" not in req:
                raise InputError(name, None, f"entry {i} has no request with method and url")
            parts = urlsplit(str(req["url"]))
            if parts.scheme not in ("http", "https"):
                continue  # data:, blob:, chrome-extension: …
            requests.append((f"{parts.scheme}://{parts.netloc}", req))
        if not requests:
            raise InputError(name, None, "the HAR holds no http(s) request")
        keep = (
            origin.rstrip("/") if origin else Counter(o for o, _ in requests).most_common(1)[0][0]
        )
        steps = []
        for o, req in requests:
            if o != keep:
                continue
            headers = {
                str(h["name"]): str(h["value"])
                for h in req.get("headers", [])
                if isinstance(h, dict)
                and not str(h.get("name", "")).startswith(":")
                and str(h.get("name", "")).lower() not in _DROPPED
                and _TOKEN.match(str(h.get("name", "")))
            }
            post = req.get("postData")
            body = post.get("text") if isinstance(post, dict) else None
            if body is None and isinstance(post, dict) and isinstance(post.get("params"), list):
                body = urlencode(  # a form post recorded as its fields
                    [(str(q.get("name", "")), str(q.get("value", ""))) for q in post["params"]]
                )
            steps.append(Request(str(req["url"]), str(req["method"]).upper(), headers, body))
        if not steps:
            raise InputError(name, None, f"no request in the HAR goes to {keep}")
        return cls(steps, order=order)


def as_scenario(
    scenario: Scenario | Sequence[Request | str | Mapping[str, Any]] | str | None,
) -> Scenario:
    """A :class:`Scenario` from what :func:`perflab.loadtest.run` accepts.

    ``None`` is a ``GET`` of the target's path; a string ending in ``.har`` is a HAR
    file; another string is one path.
    """
    if scenario is None:
        return Scenario(["/"])
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, str | Path):
        text = str(scenario)
        if text.lower().endswith(".har"):
            return Scenario.from_har(text)
        return Scenario([text])
    return Scenario(scenario)

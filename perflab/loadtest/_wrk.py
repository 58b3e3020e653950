"""wrk importer (private): perflab's ``done()`` JSON line, or wrk's printed summary.

See :func:`perflab.loadtest.read.read_wrk` for the mapping.
"""

from __future__ import annotations

import json
import re
from typing import Any

import polars as pl

from perflab.errors import InputError
from perflab.loadtest._read_common import summary_frame
from perflab.loadtest.schema import SUMMARY
from perflab.sources import Source

__all__ = ["is_wrk", "wrk"]

_TIME_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_BYTE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50}
_NUM = r"(\d+(?:\.\d+)?)"
_TIME = _NUM + r"(us|ms|s|m|h)"
_RUNNING = re.compile(r"^Running \S+ test @ ")
_TOTAL = re.compile(rf"^\s*(\d+) requests in {_TIME}, {_NUM}([KMGTP]?)B read\s*$")
_LATENCY = re.compile(rf"^\s*Latency\s+{_TIME}\s+{_TIME}\s+{_TIME}\s+")
_PCT = re.compile(rf"^\s*{_NUM}%\s+{_TIME}\s*$")
_RPS = re.compile(rf"^\s*Requests/sec:\s+{_NUM}\s*$")
_NON2XX = re.compile(r"^\s*Non-2xx or 3xx responses:\s+(\d+)\s*$")
_SOCKET = re.compile(
    r"^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)\s*$"
)


def is_wrk(text: str) -> bool:
    """True for wrk's printed summary or perflab's done() JSON (first lines)."""
    head = text.lstrip("\ufeff \n")[:4096]
    first = head.split("\n", 1)[0]
    if _RUNNING.match(first):
        return True
    return first.startswith("{") and '"latency_us"' in first and '"requests"' in first


def _ms(value: str, unit: str) -> float:
    return float(value) * _TIME_UNITS[unit]


def wrk(src: Source, name: str) -> pl.DataFrame:
    """wrk output → one SUMMARY row named ``name``."""
    text = src.text()
    lines = text.split("\n")
    done: dict[str, Any] | None = None
    for n, line in enumerate(lines, start=1):
        s = line.strip()
        if s.startswith("{"):
            try:
                doc = json.loads(s)
            except ValueError as exc:
                cut = n >= len([x for x in lines if x.strip()])
                why = " (the file is cut short)" if cut else ""
                src.bad.add(n, f"perflab done() JSON that does not parse{why}: {exc}")
                continue
            if isinstance(doc, dict) and "latency_us" in doc:
                done = doc
                done["_line"] = n
    row = _from_done(src, done, name) if done is not None else _from_text(src, lines, name)
    frame = summary_frame([row]) if row else SUMMARY.empty()
    return src.finish(frame, "no 'N requests in' line and no done() JSON", what="rows")


def _from_done(src: Source, doc: dict[str, Any], name: str) -> dict[str, Any]:
    line = doc["_line"]

    def num(d: Any, key: str) -> float:
        v = d.get(key) if isinstance(d, dict) else None
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise InputError(src.name, line, f"done() JSON: {key!r} is not a number ({v!r})")
        return float(v)

    lat = doc.get("latency_us")
    pct = lat.get("percentiles", {}) if isinstance(lat, dict) else {}
    errs = doc.get("errors", {})
    errors = sum(num(errs, k) for k in ("connect", "read", "write", "status", "timeout"))
    requests = num(doc, "requests")
    seconds = num(doc, "duration_us") / 1e6

    def p(q: str) -> float | None:
        v = pct.get(q)
        return None if v is None else float(v) / 1e3

    return {
        "name": name,
        "requests": int(requests),
        "errors": int(errors),
        "duration_s": seconds,
        "rps": requests / seconds if seconds > 0 else None,
        "error_rate": errors / requests if requests else None,
        "mean_ms": num(lat, "mean") / 1e3,
        "min_ms": num(lat, "min") / 1e3,
        "p50_ms": p("50"),
        "p90_ms": p("90"),
        "p95_ms": p("95"),
        "p99_ms": p("99"),
        "max_ms": num(lat, "max") / 1e3,
        "bytes": int(num(doc, "bytes")),
    }


def _from_text(src: Source, lines: list[str], name: str) -> dict[str, Any]:
    row: dict[str, Any] = {"name": name}
    pct: dict[float, float] = {}
    non2xx = socket = 0
    seen_total = False
    for line in lines:
        if m := _TOTAL.match(line):
            seen_total = True
            row["requests"] = int(m[1])
            row["duration_s"] = _ms(m[2], m[3]) / 1e3
            row["bytes"] = round(float(m[4]) * _BYTE_UNITS[m[5]])
        elif m := _LATENCY.match(line):
            row["mean_ms"] = _ms(m[1], m[2])
            row["max_ms"] = _ms(m[5], m[6])
        elif m := _PCT.match(line):
            pct[float(m[1])] = _ms(m[2], m[3])
        elif m := _RPS.match(line):
            row["rps"] = float(m[1])
        elif m := _NON2XX.match(line):
            non2xx = int(m[1])
        elif m := _SOCKET.match(line):
            socket = sum(int(x) for x in m.groups())
    if not seen_total:
        if any(line.strip() for line in lines):
            raise InputError(
                src.name,
                None,
                "not wrk output: no 'N requests in Xs, Y read' line (cut short before "
                "wrk's summary?) and no perflab done() JSON line",
            )
        return {}
    errors = non2xx + socket
    row["errors"] = errors
    row["error_rate"] = errors / row["requests"] if row["requests"] else None
    if "rps" not in row and row["duration_s"]:
        row["rps"] = row["requests"] / row["duration_s"]
    for q, col in ((50.0, "p50_ms"), (90.0, "p90_ms"), (95.0, "p95_ms"), (99.0, "p99_ms")):
        row[col] = pct.get(q)
    return row

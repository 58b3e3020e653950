"""OTLP/JSON parser behind :func:`perflab.monitoring.read.read_otlp`.

OTLP/JSON is deeply nested and each level is a tagged union (``gauge`` | ``sum`` |
``histogram`` …, ``stringValue`` | ``intValue`` …), which no columnar JSON reader types
well; the document is walked in Python once, appending to plain column lists (the cost
is of the order of ``json.loads`` itself), and the frame is built from those columns.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator
from typing import Any

import polars as pl

from perflab.errors import BadLines, InputError
from perflab.frames import UTC_DATETIME
from perflab.monitoring._tabular import canonical, empty_frame, tag_name
from perflab.sources import Source

logger = logging.getLogger(__name__)

_UCUM = {"By": "bytes", "KiBy": "KiB", "MiBy": "MiB", "GiBy": "GiB", "kBy": "kB", "MBy": "MB"}
_NO_RECORDED_VALUE = 1


class _BadPointError(Exception):
    """A data point that cannot become a sample."""


def ucum_unit(unit: str, fallback: str | None = None) -> str:
    """perflab's unit for an OTLP (UCUM) unit string.

    Examples
    --------
    >>> [ucum_unit(u) for u in ("ms", "s", "By", "{request}", "", "1")]
    ['ms', 's', 'bytes', '1', '1', '1']
    """
    unit = (unit or "").strip()
    if not unit:
        return fallback or "1"
    if unit.startswith("{") and unit.endswith("}"):
        return "1"
    return _UCUM.get(unit, unit)


class _Columns:
    """Plain lists that become the frame's columns."""

    def __init__(self) -> None:
        self.name: list[str] = []
        self.value: list[float] = []
        self.unit: list[str] = []
        self.time_ns: list[int] = []
        self.tags: list[dict[str, str]] = []
        self.keys: dict[str, None] = {}
        self.points = 0  # data points seen
        self.no_value = 0  # of which flagged "no recorded value"

    def add(self, name: str, value: float, unit: str, time_ns: int, tags: dict[str, str]) -> None:
        self.name.append(name)
        self.value.append(value)
        self.unit.append(unit)
        self.time_ns.append(time_ns)
        self.tags.append(tags)

    def frame(self) -> pl.DataFrame:
        keys = list(self.keys)
        if not self.name:
            return empty_frame(keys)
        frame = pl.DataFrame(
            {
                "name": pl.Series(self.name, dtype=pl.String),
                "value": pl.Series(self.value, dtype=pl.Float64),
                "unit": pl.Series(self.unit, dtype=pl.String),
                "timestamp": (pl.Series(self.time_ns, dtype=pl.Int64) // 1000).cast(UTC_DATETIME),
            }
        )
        if keys:
            tags = pl.DataFrame(self.tags, schema=dict.fromkeys(keys, pl.String))
            frame = pl.concat([frame, tags], how="horizontal")
        return canonical(frame, keys)


def read(src: Source, *, unit: str | None) -> pl.DataFrame:
    """Parse one OTLP/JSON request, or one request per line (collector file exporter)."""
    if src.is_blank():
        return empty_frame()
    bad = src.bad
    cols = _Columns()
    for line, doc in _documents(src.text(), src.name, src.suffix, bad):
        if not isinstance(doc, dict) or not isinstance(doc.get("resourceMetrics"), list):
            bad.add(line, 'not an OTLP metrics request: no "resourceMetrics" list')
            continue
        path = "resourceMetrics"
        try:
            for path, point_fn in _points(doc, unit):
                try:
                    point_fn(cols)
                except _BadPointError as exc:
                    bad.add(line, f"{path}: {exc}")
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            # A structure that is not OTLP's (a list where an object belongs…).
            bad.add(line, f"{path}: malformed OTLP JSON ({type(exc).__name__}: {exc})")
    if cols.no_value:
        logger.info(
            "%s: left out %d data point(s) flagged 'no recorded value'", src.name, cols.no_value
        )
    if not cols.points:
        why = "the request holds no data points"
    else:
        why = f"its {cols.points} data point(s) are all flagged 'no recorded value'"
    return src.finish(cols.frame(), why)


def _documents(
    text: str, source: str, suffix: str, bad: BadLines
) -> Iterator[tuple[int | None, Any]]:
    """Yield (line, document): one for a JSON document, one per line for JSON lines."""
    lines_mode = suffix in (".jsonl", ".ndjson")
    if not lines_mode:
        try:
            yield None, json.loads(text)
            return
        except json.JSONDecodeError as exc:
            first = next((ln for ln in text.split("\n") if ln.strip()), "")
            try:
                json.loads(first)
                lines_mode = True  # the collector's file exporter: one object per line
            except json.JSONDecodeError:
                raise InputError(source, exc.lineno, f"not valid JSON: {exc.msg}") from None
    for n, ln in enumerate(text.split("\n"), start=1):
        if not ln.strip():
            continue
        try:
            doc = json.loads(ln)
        except json.JSONDecodeError as exc:
            bad.add(n, f"not valid JSON (cut short?): {exc.msg} at column {exc.colno}")
            continue
        yield n, doc


def _attrs(items: Any) -> dict[str, str]:
    """OTLP ``KeyValue`` list → {tag column: string}."""
    out: dict[str, str] = {}
    for kv in items or ():
        key = kv.get("key")
        if key is None:
            continue
        text = _any_value(kv.get("value") or {})
        if text is not None:
            out[tag_name(key)] = text
    return out


def _any_value(v: dict[str, Any]) -> str | None:
    if "stringValue" in v:
        return str(v["stringValue"])
    if "boolValue" in v:
        return "true" if v["boolValue"] else "false"
    if "intValue" in v:
        return str(int(v["intValue"]))
    if "doubleValue" in v:
        return json.dumps(_number(v["doubleValue"]))
    if "bytesValue" in v:
        return str(v["bytesValue"])
    if "arrayValue" in v:
        return json.dumps([_any_value(x) for x in v["arrayValue"].get("values", [])])
    if "kvlistValue" in v:
        return json.dumps(_attrs(v["kvlistValue"].get("values", [])))
    return None


def _number(x: Any) -> float:
    """A JSON number or protobuf's string forms ("NaN", "Infinity", "12")."""
    try:
        return float(x)
    except (TypeError, ValueError):
        raise _BadPointError(f"{x!r} is not a number") from None


def _finite(x: Any, what: str) -> float:
    v = _number(x)
    if not math.isfinite(v):
        raise _BadPointError(f"{what} {x} is not finite (values must be finite)")
    return v


def _time(point: dict[str, Any]) -> int:
    raw = point.get("timeUnixNano")
    ns = _int(raw, "timeUnixNano")
    if ns <= 0 or ns >= 2**63:
        raise _BadPointError(f"timeUnixNano {raw!r} is not a time")
    return ns


def _le(bound: float) -> str:
    return "+Inf" if bound == math.inf else repr(float(bound))


def _points(doc: dict[str, Any], unit_fallback: str | None) -> Iterator[tuple[str, Any]]:
    """Yield (json path, function adding that point's samples to the columns)."""
    for r, rm in enumerate(doc["resourceMetrics"]):
        resource = _attrs((rm.get("resource") or {}).get("attributes"))
        for s, sm in enumerate(rm.get("scopeMetrics") or ()):
            for m, metric in enumerate(sm.get("metrics") or ()):
                name = str(metric.get("name", ""))
                base = f"resourceMetrics[{r}].scopeMetrics[{s}].metrics[{m}] ({name})"
                unit = ucum_unit(metric.get("unit", ""), unit_fallback)
                kinds = [
                    k
                    for k in ("gauge", "sum", "histogram", "exponentialHistogram", "summary")
                    if k in metric
                ]
                if not name or not kinds:
                    yield base, _fail("no name" if not name else "unsupported metric type")
                    continue
                kind = kinds[0]
                for i, point in enumerate((metric[kind] or {}).get("dataPoints") or ()):
                    tags = {**resource, **_attrs(point.get("attributes"))}
                    yield (
                        f"{base}.{kind}.dataPoints[{i}]",
                        _ADDERS[kind](name, unit, point, tags),
                    )


def _fail(reason: str) -> Any:
    def add(cols: _Columns) -> None:
        raise _BadPointError(reason)

    return add


def _register(cols: _Columns, tags: dict[str, str]) -> None:
    for k in tags:
        cols.keys.setdefault(k, None)


def _no_value(cols: _Columns, point: dict[str, Any]) -> bool:
    """Count the point; true when it carries the spec's "no recorded value" flag
    (a staleness marker, not a sample)."""
    cols.points += 1
    if _int(point.get("flags", 0), "flags") & _NO_RECORDED_VALUE:
        cols.no_value += 1
        return True
    return False


def _number_point(name: str, unit: str, point: dict[str, Any], tags: dict[str, str]) -> Any:
    def add(cols: _Columns) -> None:
        if _no_value(cols, point):
            return
        if "asDouble" in point:
            value = _finite(point["asDouble"], "asDouble")
        elif "asInt" in point:
            value = float(_int(point["asInt"], "asInt"))
        else:
            raise _BadPointError("no asDouble or asInt value")
        ns = _time(point)
        _register(cols, tags)
        cols.add(name, value, unit, ns, tags)

    return add


def _int(x: Any, what: str) -> int:
    """An OTLP integer (64-bit ones are JSON strings)."""
    try:
        return int(x)
    except (TypeError, ValueError):
        raise _BadPointError(f"{what} {x!r} is not an integer") from None


def _count(point: dict[str, Any]) -> float:
    return float(_int(point.get("count", 0), "count"))


def _stats(
    cols: _Columns, name: str, unit: str, point: dict[str, Any], ns: int, tags: dict[str, str]
) -> None:
    """``_count`` then ``_sum``, ``_min``, ``_max`` where present."""
    cols.add(f"{name}_count", _count(point), "1", ns, tags)
    for field in ("sum", "min", "max"):
        if field in point:
            cols.add(f"{name}_{field}", _finite(point[field], field), unit, ns, tags)


def _buckets(
    cols: _Columns,
    name: str,
    bounds: list[float],
    counts: list[int],
    point: dict[str, Any],
    ns: int,
    tags: dict[str, str],
) -> None:
    """Cumulative ``_bucket`` samples with ``le`` tags; ``counts`` has one more entry than
    ``bounds`` (the overflow bucket) and ``+Inf`` holds the point's count."""
    total = _count(point)
    if sum(counts) != total:
        raise _BadPointError(f"bucket counts add up to {sum(counts)}, count is {total:g}")
    cols.keys.setdefault("le", None)
    running = 0
    for bound, c in zip(bounds, counts, strict=False):
        running += c
        cols.add(f"{name}_bucket", float(running), "1", ns, {**tags, "le": _le(bound)})
    cols.add(f"{name}_bucket", total, "1", ns, {**tags, "le": "+Inf"})


def _int_list(xs: Any, what: str) -> list[int]:
    try:
        return [int(x) for x in xs or ()]
    except (TypeError, ValueError):
        raise _BadPointError(f"{what} holds a non-integer") from None


def _guarded(cols: _Columns, fill: Any) -> None:
    """Run ``fill``; if the point turns out bad, remove the samples it already added."""
    start = len(cols.name)
    try:
        fill()
    except _BadPointError:
        for column in (cols.name, cols.value, cols.unit, cols.time_ns, cols.tags):
            del column[start:]
        raise


def _bucketed(
    cols: _Columns,
    name: str,
    unit: str,
    point: dict[str, Any],
    ns: int,
    tags: dict[str, str],
    bounds: list[float],
    counts: list[int],
) -> None:
    """A histogram point's ``_count``/``_sum``/``_min``/``_max`` and (when ``counts``)
    its cumulative buckets: all of them, or none if the point turns out bad."""

    def fill() -> None:
        _stats(cols, name, unit, point, ns, tags)
        if counts:
            _buckets(cols, name, bounds, counts, point, ns, tags)

    _register(cols, tags)
    _guarded(cols, fill)


def _histogram_point(name: str, unit: str, point: dict[str, Any], tags: dict[str, str]) -> Any:
    def add(cols: _Columns) -> None:
        if _no_value(cols, point):
            return
        ns = _time(point)
        counts = _int_list(point.get("bucketCounts"), "bucketCounts")
        bounds = [_number(b) for b in point.get("explicitBounds") or ()]
        if counts and len(counts) != len(bounds) + 1:
            raise _BadPointError(f"{len(counts)} bucket counts for {len(bounds)} bounds (want n+1)")
        _bucketed(cols, name, unit, point, ns, tags, bounds, counts)

    return add


def _exponential_point(name: str, unit: str, point: dict[str, Any], tags: dict[str, str]) -> Any:
    def add(cols: _Columns) -> None:
        if _no_value(cols, point):
            return
        ns = _time(point)
        scale = _int(point.get("scale", 0), "scale")
        base = 2.0 ** (2.0**-scale)
        pos, neg = point.get("positive") or {}, point.get("negative") or {}
        pos_counts = _int_list(pos.get("bucketCounts"), "positive.bucketCounts")
        neg_counts = _int_list(neg.get("bucketCounts"), "negative.bucketCounts")
        pos_off = _int(pos.get("offset", 0), "positive.offset")
        neg_off = _int(neg.get("offset", 0), "negative.offset")
        zero = _int(point.get("zeroCount", 0), "zeroCount")
        bounds: list[float] = []
        counts: list[int] = []
        # Negative bucket i holds [-base**(i+1), -base**i): most negative first.
        for k in reversed(range(len(neg_counts))):
            bounds.append(-(base ** (neg_off + k)))
            counts.append(neg_counts[k])
        if zero or neg_counts:
            bounds.append(_number(point.get("zeroThreshold", 0.0)))
            counts.append(zero)
        # Positive bucket i holds (base**i, base**(i+1)].
        for k, c in enumerate(pos_counts):
            bounds.append(base ** (pos_off + k + 1))
            counts.append(c)
        counts.append(0)  # nothing above the last bucket
        _bucketed(cols, name, unit, point, ns, tags, bounds, counts if len(counts) > 1 else [])

    return add


def _summary_point(name: str, unit: str, point: dict[str, Any], tags: dict[str, str]) -> Any:
    def add(cols: _Columns) -> None:
        if _no_value(cols, point):
            return
        ns = _time(point)

        def fill() -> None:
            for q in point.get("quantileValues") or ():
                quantile = repr(_number(q.get("quantile", 0.0)))
                value = _finite(q.get("value", 0.0), "quantile value")
                cols.add(name, value, unit, ns, {**tags, "quantile": quantile})
            cols.add(f"{name}_count", _count(point), "1", ns, tags)
            if "sum" in point:
                cols.add(f"{name}_sum", _finite(point["sum"], "sum"), unit, ns, tags)

        _register(cols, tags)
        if point.get("quantileValues"):
            cols.keys.setdefault("quantile", None)
        _guarded(cols, fill)

    return add


_ADDERS = {
    "gauge": _number_point,
    "sum": _number_point,
    "histogram": _histogram_point,
    "exponentialHistogram": _exponential_point,
    "summary": _summary_point,
}

"""Prometheus parsers behind :func:`perflab.monitoring.read.read_prometheus`.

The text exposition format is parsed with polars string expressions over all lines at
once (one regular expression for the sample line, one for the label block, ``extract_all``
for the pairs, a pivot for the tag columns): a node_exporter scrape of a few thousand
lines costs no Python per line. Query results are JSON: the Prometheus API answer and
promtool's output hold arrays of ``[time, "value"]`` pairs, split with ``zip`` per series
and parsed as columns; Grafana's data frames hold one array per field, made into one
polars frame per field. All of them end in :func:`_samples`, which checks the values and
times of every sample at once.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import polars as pl

from perflab.errors import InputError
from perflab.frames import UTC_DATETIME
from perflab.monitoring._tabular import canonical, empty_frame, tag_name
from perflab.monitoring.schema import CORE_COLUMNS
from perflab.sources import Source, drop_bad
from perflab.times import At, epoch_us

logger = logging.getLogger(__name__)

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
_QUOTED = r'"(?:[^"\\\n]|\\.)*"'
_PAIR = rf"{_LABEL}[ \t]*=[ \t]*{_QUOTED}"
_BLOCK = rf'(?:[^"}}]|{_QUOTED})*'  # a label block's inside: quoted values may hold "}"
_EXEMPLAR = rf"#[ \t]*\{{{_BLOCK}\}}[ \t]+[^ \t]+(?:[ \t]+[^ \t]+)?"
_SAMPLE_RE = (
    rf"^[ \t]*(?<name>{_NAME})(?:\{{(?<labels>{_BLOCK})\}}[ \t]*|[ \t]+)"
    rf"(?<value>[^ \t#]+)(?:[ \t]+(?<ts>[^ \t#]+))?[ \t]*(?:{_EXEMPLAR}[ \t]*)?$"
)
_LABELS_RE = rf"^[ \t]*(?:{_PAIR}[ \t]*,[ \t]*)*(?:{_PAIR}[ \t]*,?[ \t]*)?$"
_TYPE_RE = rf"^#[ \t]*TYPE[ \t]+(?<family>{_NAME})[ \t]+(?<type>[a-zA-Z]+)[ \t]*$"
# Only to say why a line failed: a label block that is not closed properly.
_LOOSE_RE = re.compile(rf"^\s*{_NAME}\{{(.*)\}}\s*\S+(?:\s+\S+)?\s*$")

# Internal column names; Prometheus reserves label names starting with "__".
_SID, _T, _RAW = "__perflab_sid", "__perflab_t", "__perflab_raw"
_COUNT_SUFFIXES = ("_bucket", "_count", "_gcount")
_UNIT_SUFFIXES = (
    ("_seconds", "s"),
    ("_milliseconds", "ms"),
    ("_microseconds", "us"),
    ("_nanoseconds", "ns"),
    ("_bytes", "bytes"),
)
_SHAPES = (
    'expected a Prometheus API answer ({"status": …, "data": …}), promtool\'s -o json '
    'output ([{"metric": …, "values": […]}, …]), Grafana\'s inspector JSON (data frames '
    '[{"schema": …, "data": …}], {"series": […]} or {"results": …}) or OTLP/JSON '
    '({"resourceMetrics": […]})'
)


def unit_for(name: str, fallback: str = "1", own_family: bool = False) -> str:
    """The unit a Prometheus metric name states by convention.

    ``own_family`` is true when the name is itself a declared family (a gauge called
    ``…_count`` is not a histogram's count).

    Examples
    --------
    >>> [unit_for(n) for n in ("http_request_duration_seconds_bucket",
    ...  "http_request_duration_seconds_sum", "node_cpu_seconds_total",
    ...  "process_resident_memory_bytes", "http_requests_total", "up")]
    ['1', 's', 's', 'bytes', '1', '1']
    """
    if name.endswith("_created"):
        return "s"  # creation time, epoch seconds (prometheus_client declares it a gauge)
    if not own_family:
        if name.endswith(_COUNT_SUFFIXES):
            return "1"
        for suffix in ("_sum", "_gsum"):
            if name.endswith(suffix):
                name = name[: -len(suffix)]
                break
    if name.endswith("_total"):
        name = name[: -len("_total")]
    for suffix, unit in _UNIT_SUFFIXES:
        if name.endswith(suffix):
            return unit
    return fallback


def _units(names: pl.Series, fallback: str | None, families: set[str]) -> pl.Series:
    """Map each name to its unit, computing once per distinct name."""
    distinct = names.unique().to_list()
    mapping = {n: unit_for(n, fallback or "1", n in families) for n in distinct}
    return names.replace_strict(mapping, return_dtype=pl.String).alias("unit")


def _unescape(s: pl.Expr) -> pl.Expr:
    r"""Undo the text format's label escapes ``\\``, ``\"`` and ``\n`` in one pass."""
    return (
        s.str.replace_all("\\\\", "\x00", literal=True)
        .str.replace_all('\\"', '"', literal=True)
        .str.replace_all("\\n", "\n", literal=True)
        .str.replace_all("\x00", "\\", literal=True)
    )


def _drop_gaps(src: Source, frame: pl.DataFrame) -> pl.DataFrame:
    """Drop NaN values — gaps, not samples — with one warning that counts them."""
    nan = frame.get_column("value").is_nan()
    n = int(nan.sum())
    if n:
        src.warn(
            f"dropped {n} NaN (or null) sample(s): gaps, not samples (Prometheus writes "
            "NaN for 0/0, e.g. a quantile over a window without observations)",
        )
    return frame.filter(~nan)


# ---------------------------------------------------------------------------------------
# text exposition


def read_exposition(src: Source, *, unit: str | None, at: At | None) -> pl.DataFrame:
    """Parse the text exposition format 0.0.4 or OpenMetrics (see ``read_prometheus``)."""
    if src.is_blank():
        return empty_frame()
    text = src.text()
    default_us = epoch_us(at, what="at") if at is not None else round(src.mtime() * 1e6)
    lines = pl.DataFrame({"line": text.split("\n")}).with_row_index("lineno", offset=1)
    lines = lines.with_columns(pl.col("line").str.strip_chars_end("\r"))
    body = pl.col("line").str.strip_chars()
    comments = lines.filter(body.str.starts_with("#"))
    openmetrics = comments.select((body == "# EOF").any()).item()
    types = comments.select(pl.col("line").str.extract_groups(_TYPE_RE)).unnest("line").drop_nulls()
    families = set(types.get_column("family").to_list())
    samples = lines.filter((body != "") & ~body.str.starts_with("#"))
    if samples.height == 0:
        return src.finish(empty_frame(), "no sample line, only comments (# HELP, # TYPE …)")
    if openmetrics:  # epoch seconds, fractions allowed
        t_us = (pl.col("ts").cast(pl.Float64, strict=False) * 1e6).round(0)
        t_us = pl.when(t_us.is_finite()).then(t_us).cast(pl.Int64, strict=False)
    else:  # integer milliseconds
        t_us = pl.col("ts").cast(pl.Int64, strict=False) * 1000
    parts = samples.select(
        "lineno", "line", pl.col("line").str.extract_groups(_SAMPLE_RE).alias("m")
    ).unnest("m")
    parts = parts.with_row_index(_SID).with_columns(
        pl.col("value").cast(pl.Float64, strict=False).alias("v"),
        t_us.alias("t"),
        pl.col("labels").str.contains(_LABELS_RE).alias("labels_ok"),
    )
    pairs = (
        parts.filter(pl.col("labels_ok").fill_null(False))
        .select(_SID, pl.col("labels").str.extract_all(_PAIR).alias("pair"))
        .explode("pair")
        .drop_nulls("pair")
        .select(
            _SID,
            pl.col("pair").str.extract(rf"^({_LABEL})", 1).alias("key"),
            _unescape(pl.col("pair").str.extract(r'"(.*)"$', 1)).alias("val"),
        )
    )
    dup = pairs.filter(pl.struct(_SID, "key").is_duplicated()).get_column(_SID).unique()
    mask = parts.select(
        pl.col("name").is_null()
        | (pl.col("labels").is_not_null() & ~pl.col("labels_ok"))
        | pl.col("v").is_null()
        | pl.col("v").is_infinite()
        | (pl.col("ts").is_not_null() & pl.col("t").is_null())
        | pl.col(_SID).is_in(dup.implode())
    ).to_series()

    def where(i: int) -> int | None:
        return int(parts.get_column("lineno")[i])

    def why(i: int) -> str:
        row = parts.row(i, named=True)
        if row["name"] is None:
            loose = _LOOSE_RE.match(row["line"])
            if loose:
                return f"malformed labels {{{loose.group(1)}}}"
            return (
                'not a sample line: expected name{label="value",…} value [timestamp] '
                "[# {exemplar labels} value [timestamp]]"
            )
        if row["labels"] is not None and not row["labels_ok"]:
            return f"malformed labels {{{row['labels']}}}"
        if row["v"] is None:
            return f"value {row['value']!r} is not a number"
        if row["ts"] is not None and row["t"] is None:
            if openmetrics:
                return f"timestamp {row['ts']!r} is not a number (OpenMetrics: epoch seconds)"
            return (
                f"timestamp {row['ts']!r} is not an integer (milliseconds since the epoch; "
                "a file with a '# EOF' line is read as OpenMetrics, in seconds)"
            )
        if int(row[_SID]) in set(dup.to_list()):
            return "a label is given twice"
        return f"value {row['value']} is infinite (values must be finite)"

    parts = drop_bad(parts, mask, src.bad, where, why).drop("value").rename({"v": "value"})
    parts = _drop_gaps(src, parts)
    pairs = pairs.filter(pl.col(_SID).is_in(parts.get_column(_SID).implode()))
    frame = parts.select(
        _SID,
        "name",
        "value",
        pl.col("t").fill_null(default_us).cast(UTC_DATETIME).alias("timestamp"),
    )
    frame = frame.with_columns(_units(frame.get_column("name"), unit, families))
    frame, tags = _attach_tags(frame, pairs)
    return src.finish(canonical(frame, tags), "no readable sample line")


def _attach_tags(frame: pl.DataFrame, pairs: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """Pivot (sid, key, val) rows into one String column per key and join them on."""
    if pairs.height == 0:
        return frame, []
    pairs = pairs.with_columns(pl.col("key").replace({k: tag_name(k) for k in CORE_COLUMNS}))
    keys = pairs.get_column("key").unique(maintain_order=True).to_list()
    wide = pairs.pivot(on="key", index=_SID, values="val")
    frame = frame.join(wide, on=_SID, how="left", maintain_order="left")
    return frame, keys


# ---------------------------------------------------------------------------------------
# JSON query results


def read_json(src: Source, *, name: str | None, unit: str | None) -> pl.DataFrame:
    """Parse a Prometheus, promtool or Grafana query result (see ``read_prometheus``)."""
    if src.is_blank():
        return empty_frame()
    try:
        doc = json.loads(src.text())
    except json.JSONDecodeError as exc:
        raise InputError(src.name, exc.lineno, f"not valid JSON: {exc.msg}") from None
    default_name = name or src.stem
    if isinstance(doc, dict) and "status" in doc:
        kind, result = _api_result(src, doc)
        return _series(src, kind, result, default_name, unit)
    if isinstance(doc, list) and (
        not doc or all(isinstance(s, dict) and "metric" in s for s in doc)
    ):
        kind = "matrix" if doc and ("values" in doc[0] or "histograms" in doc[0]) else "vector"
        return _series(src, kind, doc, default_name, unit)
    if isinstance(doc, list) and len(doc) == 2 and isinstance(doc[1], str):
        return _series(src, "vector", [{"metric": {}, "value": doc}], default_name, unit)
    frames = _grafana_frames(src, doc)
    if frames is None:
        raise InputError(src.name, None, f"unrecognised JSON: {_SHAPES}")
    return _grafana(src, frames, name, default_name, unit)


def _api_result(src: Source, doc: dict[str, Any]) -> tuple[str, Any]:
    """(resultType, result) of a Prometheus HTTP API answer."""
    if doc["status"] != "success":
        raise InputError(
            src.name,
            None,
            f"Prometheus returned an error: {doc.get('errorType', '?')}: "
            f"{doc.get('error', '(no message)')}",
        )
    for w in doc.get("warnings") or []:
        logger.warning("%s: Prometheus warned: %s", src.name, w)
    data = doc.get("data")
    if not isinstance(data, dict) or "resultType" not in data:
        raise InputError(src.name, None, 'Prometheus answer has no "data.resultType"')
    kind, result = data["resultType"], data.get("result")
    if kind == "scalar":
        return "vector", [{"metric": {}, "value": result}]
    if kind == "string":
        raise InputError(src.name, None, "a string result holds no samples")
    if kind not in ("matrix", "vector"):
        raise InputError(src.name, None, f"unknown resultType {kind!r}")
    if not isinstance(result, list):
        raise InputError(src.name, None, '"data.result" is not a list')
    return kind, result


def _series(
    src: Source, kind: str, result: list[Any], default_name: str, unit: str | None
) -> pl.DataFrame:
    """Samples of a matrix or vector ``result`` list: ``[{"metric": …, "values": …}]``."""
    bad = src.bad
    matrix = kind == "matrix"
    times: list[Any] = []
    values: list[Any] = []
    sids: list[int] = []
    labels: list[dict[str, str]] = []
    for sid, series in enumerate(result):
        where = f"series {sid + 1}"
        if not isinstance(series, dict) or not isinstance(series.get("metric", {}), dict):
            bad.add(None, f"{where}: expected {{'metric': …, 'values': [[t, 'v'], …]}}")
            continue
        hist = series.get("histograms" if matrix else "histogram")
        if hist:
            n = len(hist) if matrix and isinstance(hist, list) else 1
            bad.add(
                None,
                f"{where}: {n} native histogram sample(s) cannot be read (query "
                "histogram_quantile() or the classic _bucket series instead)",
            )
            bad.more(n - 1)
        points = series.get("values") if matrix else series.get("value")
        if points is None:
            if not hist:
                bad.add(None, f"{where}: expected {{'metric': …, 'values': [[t, 'v'], …]}}")
            continue
        try:
            ts, vs = zip(*(points if matrix else [points]), strict=True) if points else ((), ())
        except (TypeError, ValueError):
            bad.add(None, f"{where}: expected [time, 'value'] pairs, found {str(points)[:60]}")
            continue
        metric = dict(series.get("metric") or {})
        row = {_SID: str(sid), "name": str(metric.pop("__name__", default_name))}
        row.update({tag_name(str(k)): str(v) for k, v in metric.items()})
        labels.append(row)
        times.extend(ts)
        values.extend(vs)
        sids.extend([sid] * len(ts))
    if not sids:
        why = "its series hold no samples" if result else "the query matched no series"
        return src.finish(empty_frame(), why)
    pts = pl.DataFrame(
        {
            _SID: pl.Series(sids, dtype=pl.Int64),
            _T: pl.Series([_as_float(t) for t in times], dtype=pl.Float64),
            _RAW: pl.Series([str(v) for v in values], dtype=pl.String),
        }
    ).with_columns(
        ((pl.col(_T) * 1000).round(0).cast(pl.Int64) * 1000).alias(_T),  # ms resolution
        pl.col(_RAW).cast(pl.Float64, strict=False).alias("value"),
    )
    meta = pl.DataFrame(labels, schema={k: pl.String for lab in labels for k in lab})
    meta = meta.with_columns(pl.col(_SID).cast(pl.Int64))
    tags = [k for k in meta.columns if k not in (_SID, "name")]
    frame = pts.join(meta, on=_SID, how="left", maintain_order="left")
    return _samples(src, frame, tags, unit, raw_times=times)


def _as_float(t: Any) -> float | None:
    try:
        return float(t)
    except (TypeError, ValueError):
        return None


def _samples(
    src: Source, frame: pl.DataFrame, tags: list[str], unit: str | None, raw_times: list[Any]
) -> pl.DataFrame:
    """Check and finish query samples: ``_SID``, ``_T`` (epoch µs), ``value`` (null where
    unreadable, NaN for a gap), ``_RAW`` (the value as written), ``name`` and ``tags``."""
    mask = frame.select(
        pl.col("value").is_null() | pl.col("value").is_infinite() | pl.col(_T).is_null()
    ).to_series()

    def why(i: int) -> str:
        row = frame.row(i, named=True)
        what = _describe(row, tags)
        if row[_T] is None:
            return f"{what}: time {raw_times[i]!r} is not a number"
        if row["value"] is None:
            return f"{what}: value {row[_RAW]!r} is not a number"
        return f"{what}: value {row[_RAW]} is infinite (values must be finite)"

    frame = drop_bad(frame, mask, src.bad, lambda i: None, why)
    frame = _drop_gaps(src, frame)
    frame = frame.with_columns(
        pl.col(_T).cast(UTC_DATETIME).alias("timestamp"),
        _units(frame.get_column("name"), unit, set()),
    )
    return src.finish(canonical(frame, tags), "no sample has a readable value")


def _describe(row: dict[str, Any], tags: list[str]) -> str:
    labels = ",".join(f'{k}="{row[k]}"' for k in tags if row.get(k) is not None)
    return f"series {int(row[_SID]) + 1} {row['name']}{{{labels}}}"


# ---------------------------------------------------------------------------------------
# Grafana data frames


def _grafana_frames(src: Source, doc: Any) -> list[Any] | None:
    """The data frames of a Grafana inspector JSON, or None if ``doc`` is not one."""
    if isinstance(doc, dict) and isinstance(doc.get("response"), dict):
        doc = doc["response"]  # Query inspector: {"request": …, "response": …}
    if isinstance(doc, dict) and isinstance(doc.get("results"), dict):
        frames: list[Any] = []
        for res in doc["results"].values():
            if isinstance(res, dict):
                if res.get("error"):
                    raise InputError(src.name, None, f"Grafana query error: {res['error']}")
                frames.extend(res.get("frames") or ())
        return frames
    if isinstance(doc, dict) and isinstance(doc.get("series"), list):
        return list(doc["series"])  # Panel data
    if (
        isinstance(doc, list)
        and doc
        and all(isinstance(f, dict) and ("schema" in f or "fields" in f) for f in doc)
    ):
        return doc  # DataFrame JSON (from query)
    return None


def _fields(frame: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(meta, fields) of one frame, each field with ``values``/``entities``/``nanos``.

    Two encodings: ``DataFrameJSON`` (``schema.fields`` and ``data.values`` apart) and
    the frame objects of Panel data (``fields`` each holding its ``values``).
    """
    if "schema" in frame:
        schema, data = frame.get("schema") or {}, frame.get("data") or {}
        cols = data.get("values") or []
        entities = data.get("entities") or []
        nanos = data.get("nanos") or []
        fields = []
        for j, f in enumerate(schema.get("fields") or []):
            fields.append(
                {
                    **f,
                    "values": (cols[j] if j < len(cols) else None) or [],
                    "entities": entities[j] if j < len(entities) else None,
                    "nanos": nanos[j] if j < len(nanos) else None,
                }
            )
        return {**schema, "meta": schema.get("meta") or {}}, fields
    fields = [{**f, "values": f.get("values") or []} for f in frame.get("fields") or []]
    return {**frame, "meta": frame.get("meta") or {}}, fields


def _grafana(
    src: Source, frames: list[Any], name: str | None, default_name: str, unit: str | None
) -> pl.DataFrame:
    parts: list[pl.DataFrame] = []
    raw_times: list[Any] = []
    sid = 0
    for k, frame in enumerate(frames):
        where = f"frame {k + 1}"
        try:
            meta, fields = _fields(frame)
        except (AttributeError, TypeError):
            src.bad.add(None, f"{where}: not a Grafana data frame")
            continue
        custom = meta["meta"].get("custom") or {}
        if (
            meta["meta"].get("dataTopic") == "annotations"
            or meta.get("name") == "exemplar"
            or custom.get("resultType") == "exemplar"
        ):
            continue  # annotations and exemplars are not series
        times = next((f for f in fields if f.get("type") == "time"), None)
        numbers = [f for f in fields if f.get("type") == "number"]
        if times is None or not numbers:
            src.bad.add(None, f"{where}: expected a time field and number fields")
            continue
        rows = [f for f in fields if f is not times and f.get("type") != "number"]
        if any(len(f["values"]) != len(times["values"]) for f in fields):
            src.bad.add(None, f"{where}: its fields hold different numbers of values")
            continue
        t_us = _grafana_times(times)
        row_tags = {
            tag_name(str(f.get("name"))): pl.Series(
                [None if v is None else str(v) for v in f["values"]], dtype=pl.String
            )
            for f in rows
        }
        for f in numbers:
            labels = {str(a): str(b) for a, b in (f.get("labels") or {}).items()}
            field_name = str(f.get("name") or "")
            fallback = labels.pop("__name__", None) or name
            if fallback is None:
                generic = field_name in ("", "Value") or field_name.startswith("Value #")
                fallback = default_name if generic else field_name
            value, raw = _grafana_values(f)
            part = pl.DataFrame(
                {_SID: pl.Series([sid] * len(raw), dtype=pl.Int64), _T: t_us, "value": value}
            ).with_columns(pl.Series(_RAW, raw, dtype=pl.String))
            names = pl.lit(fallback, pl.String)
            if "__name__" in row_tags:
                names = pl.coalesce(pl.lit(row_tags["__name__"]), names)
            part = part.with_columns(
                names.alias("name"),
                *[pl.lit(s).alias(c) for c, s in row_tags.items() if c != "__name__"],
                *[pl.lit(v, pl.String).alias(tag_name(c)) for c, v in labels.items()],
            )
            parts.append(part)
            raw_times.extend(times["values"])
            sid += 1
    if not parts:
        why = "the frames hold no series" if frames else "the query result holds no frames"
        return src.finish(empty_frame(), why)
    frame = pl.concat(parts, how="diagonal")
    tags = [c for c in frame.columns if c not in (_SID, _T, _RAW, "name", "value")]
    return _samples(src, frame, tags, unit, raw_times=raw_times)


def _grafana_times(field: dict[str, Any]) -> pl.Series:
    """Epoch µs of a time field: milliseconds, plus the ``nanos`` beyond them."""
    ms = pl.Series([_as_float(t) for t in field["values"]], dtype=pl.Float64)
    us = (ms * 1000).round(0).cast(pl.Int64)
    if field.get("nanos"):
        us = us + pl.Series(field["nanos"], dtype=pl.Int64, strict=False).fill_null(0) // 1000
    return us.alias(_T)


def _grafana_values(field: dict[str, Any]) -> tuple[pl.Series, list[str]]:
    """(value, text) of a number field: NaN where Grafana wrote null or a NaN entity
    (gaps), ±inf for Inf entities, null where a value is not a number."""
    vals = field["values"]
    raw = [str(v) for v in vals]
    value = pl.Series([_as_float(v) if v is not None else float("nan") for v in vals])
    value = value.cast(pl.Float64)
    entities = field.get("entities") or {}
    for key, x in (("NaN", float("nan")), ("Inf", float("inf")), ("NegInf", float("-inf"))):
        idx = entities.get(key) or []
        if idx:
            value = value.scatter(idx, x)
            for i in idx:
                raw[i] = key
    return value.alias("value"), raw

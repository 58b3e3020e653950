"""The parser behind :func:`perflab.memory.read_trace_gc`: V8's ``--trace-gc`` lines.

What V8 prints, one line per collection (``[pid:isolate]`` then the milliseconds since
the isolate started)::

    [5680:0x3947ac00]       18 ms: Scavenge 3.9 (4.0) -> 3.7 (5.0) MB, 1.26 / 0.00 ms  (average
        mu = 1.000, current mu = 1.000) allocation failure;
    [5680:0x3947ac00]      159 ms: Mark-Compact 55.3 (85.6) -> 3.2 (36.2) MB, 4.23 / 0.00 ms  (+ 0.1
        ms in 1 steps since start of marking, …) (average mu = 1.000, current mu = 1.000)
        finalize incremental marking via stack guard; GC in old space requested

(each on one line). The shapes read (one pattern up to the pause, two searches after it,
over whole blocks of lines):

* Node 20 (V8 11), above; ``Minor Mark-Compact`` with ``--minor-mc``;
* newer V8: ``Mark-Compact (reduce)``, ``(during sweeping)``, ``pooled: 0.0 MB,`` before
  the pause, ``Incremental Mark-Compact``, ``Minor Mark-Sweep``;
* older Node (≤ 14): ``Mark-sweep`` for the full collection, no ``;`` before the
  collector's reason, ``wall-clock time since start of marking``, no mutator
  utilisation (Node ≤ 10), reasons in brackets (``[allocation failure]``, Node ≤ 6)
  and a ``[pid]`` prefix without an isolate with a single pause number (V8 3).

``--trace-gc-nvp`` prints ``name=value`` pairs after the same prefix (``pause=1.0
mutator=10.5 gc=s reduce_memory=0 … total_size_before=4074328 total_size_after=3856408
…``); newer V8 prints them as JSON (``GC: {"pause":1.0,"gc":"s",…,
"start_object_size":…,"end_object_size":…,"end_memory_size":…}``). Both are read from
the same keys, line by line, so a log may mix them.

``kind``: ``Scavenge`` → ``scavenge``; ``Mark-Compact``, ``Incremental Mark-Compact``
and the older ``Mark-sweep`` → ``mark-compact``; ``Minor Mark-Sweep`` → ``minor-ms``;
``Minor Mark-Compact`` → ``minor-mc``; `` (reduce)`` is kept as a suffix. NVP's short
names: ``s``, ``mc`` (and the older ``ms``), ``mms``, ``mmc``; ``reduce_memory=1``
adds `` (reduce)``. A collector name V8 adds later is lowercased, spaces → ``-``.
"""

from __future__ import annotations

import polars as pl

__all__ = ["PREFIX", "parse_block"]

_NUM = r"\d+(?:\.\d+)?"
PREFIX = r"^\[(?P<pid>\d+)(?::0x[0-9A-Fa-f]+)?\]\s+(?P<ms>" + _NUM + r") ms: "
"""``[pid:isolate]  N ms: `` — the stamp every V8 trace line starts with."""

# The start of a GC line, up to the pause (one pass with captures over ~80 bytes);
# the mutator utilisation and the reason come from two capture-light searches.
_CLASSIC = (
    PREFIX
    + r"(?P<name>[A-Z][A-Za-z-]*(?: [A-Z][A-Za-z-]*)*(?: \(reduce\))?)(?: \(during sweeping\))? "
    + rf"(?P<before>{_NUM}) \({_NUM}\) -> (?P<after>{_NUM}) \((?P<committed>{_NUM})\) MB, "
    + rf"(?:pooled: {_NUM} MB, )?(?P<pause>{_NUM})(?: / {_NUM})? ms"
)
_MU = r"current mu = (\d+(?:\.\d+)?)\)"
# the reason: after the pause or a bracket group, up to ";" (or inside [..], V8 3-5);
# V8's reasons hold no digit, which keeps ") MB, 0.9 / 0.0 ms" from passing for one
_REASON = r"(?:\)|\d ms)\s+\[?([^;\[\]()\r\d]*)(?:[;\]\r]|$)"
_OPEN = r"\([^)]*$"  # a bracket never closed: the line was cut

# A line is V8's when it has the [pid(:isolate)] prefix; one of those that is a GC line
# (or the start of one) but does not parse is bad — other stamped V8 output is not.
_HAS_PREFIX = r"^\[\d+(?::0x[0-9A-Fa-f]+)?\]"
_GC_START = (
    _HAS_PREFIX
    + r"(?:\s*[\d.]*\s*(?:m|ms|ms:)?\s*$"  # cut inside the stamp
    + rf"|\s+{_NUM} ms: (?:(?:Incremental |Minor )*(?:Scavenge|Mark-)|pause=|GC: ?\{{"
    + r"|[A-Z][\w-]*(?: [A-Z][\w-]*)*(?: \([a-z ]+\))* [\d.]+ \())"
)
_NVP = PREFIX + r"(?:GC: ?)?(?P<body>\{?\"?pause\"?[=:].*)$"

MB = float(1 << 20)

_KINDS = {
    "scavenge": "scavenge",
    "scavenger": "scavenge",
    "mark-compact": "mark-compact",
    "incremental mark-compact": "mark-compact",
    "mark-sweep": "mark-compact",
    "minor mark-sweep": "minor-ms",
    "incremental minor mark-sweep": "minor-ms",
    "minor mark-compact": "minor-mc",
    # --trace-gc-nvp's short names
    "s": "scavenge",
    "mc": "mark-compact",
    "ms": "mark-compact",  # V8 ≤ 8's short name for Mark-sweep
    "mms": "minor-ms",
    "mmc": "minor-mc",
}

_COLUMNS = {
    "pid": pl.Int64,
    "elapsed_s": pl.Float64,
    "kind": pl.String,
    "pause_ms": pl.Float64,
    "before_bytes": pl.Float64,
    "after_bytes": pl.Float64,
    "committed_bytes": pl.Float64,
    "reason": pl.String,
    "mutator_util": pl.Float64,
}


def _kind(name: pl.Expr, reduce: pl.Expr) -> pl.Expr:
    low = name.str.to_lowercase()
    known = low.replace_strict(_KINDS, default=None, return_dtype=pl.String)
    base = known.fill_null(low.str.replace_all(" ", "-", literal=True))
    return pl.when(reduce).then(base + " (reduce)").otherwise(base)


def _classic(lines: pl.Series, lineno: pl.Series) -> pl.DataFrame:
    """Every line through the classic pattern: the parsed rows (null pid: no match)."""
    line = pl.col("line")
    # one select: polars evaluates the four passes in parallel
    m = (
        pl.DataFrame({"line": lines, "lineno": lineno})
        .select(
            "lineno",
            line.str.extract_groups(_CLASSIC).alias("m"),
            line.str.extract(_MU, 1).alias("mu"),
            line.str.extract(_REASON, 1).str.strip_chars().alias("reason"),
            line.str.contains(_OPEN).alias("cut"),
        )
        .unnest("m")
    )
    name = pl.col("name")
    reduce = name.str.ends_with(" (reduce)")
    return m.select(
        "lineno",
        pl.col("pid").cast(pl.Int64),
        (pl.col("ms").cast(pl.Float64) / 1000.0).alias("elapsed_s"),
        _kind(name.str.strip_suffix(" (reduce)"), reduce).alias("kind"),
        pl.col("pause").cast(pl.Float64).alias("pause_ms"),
        (pl.col("before").cast(pl.Float64) * MB).alias("before_bytes"),
        (pl.col("after").cast(pl.Float64) * MB).alias("after_bytes"),
        (pl.col("committed").cast(pl.Float64) * MB).alias("committed_bytes"),
        pl.when(pl.col("reason") != "").then(pl.col("reason")).alias("reason"),
        pl.col("mu").cast(pl.Float64).alias("mutator_util"),
        pl.col("cut"),
        (pl.col("mu").is_not_null() & ~pl.col("cut")).alias("modern"),
    )


def _key(body: pl.Expr, *names: str) -> pl.Expr:
    """The value of the first of ``names`` present in an NVP or JSON body."""
    found = [
        body.str.extract(rf'(?:^|[\s,{{])"?{name}"?[=:]\s*"?([^\s",}}]*)', 1).alias(name)
        for name in names
    ]
    return pl.coalesce(found) if len(found) > 1 else found[0]


def _nvp(lines: pl.Series, lineno: pl.Series) -> pl.DataFrame:
    """``--trace-gc-nvp`` lines (name=value, or newer V8's JSON) → rows; null pid: no match."""
    m = lines.str.extract_groups(_NVP).struct.unnest().with_columns(lineno=lineno)
    body = pl.col("body")
    gc = _key(body, "gc")
    reduce = _key(body, "reduce_memory").is_in(["1", "true"])
    after = _key(body, "total_size_after", "end_object_size").cast(pl.Float64, strict=False)
    whole = (
        pl.when(body.str.starts_with("{"))
        .then(body.str.strip_chars_end().str.ends_with("}"))
        .otherwise(after.is_not_null())
    )
    return m.select(
        "lineno",
        pl.col("pid").cast(pl.Int64),
        (pl.col("ms").cast(pl.Float64) / 1000.0).alias("elapsed_s"),
        _kind(gc, reduce).alias("kind"),
        _key(body, "pause").cast(pl.Float64, strict=False).alias("pause_ms"),
        _key(body, "total_size_before", "start_object_size")
        .cast(pl.Float64, strict=False)
        .alias("before_bytes"),
        after.alias("after_bytes"),
        _key(body, "end_memory_size").cast(pl.Float64, strict=False).alias("committed_bytes"),
        pl.when(body.str.starts_with("{"))
        .then(body.str.extract(r'"reason":\s*"([^"]*)"', 1))
        .alias("reason"),
        pl.lit(None, pl.Float64).alias("mutator_util"),
        (~whole.fill_null(False) | gc.is_null() | _key(body, "pause").is_null()).alias("cut"),
        pl.lit(False).alias("modern"),
    )


def parse_block(
    lines: pl.Series, first: int, last: bool
) -> tuple[pl.DataFrame, list[tuple[int, str]], int]:
    """One block of lines → (events, the first bad lines (line, reason), bad count).

    ``first`` is the 1-based line number of the block's first line; ``last`` says the
    block's final line had no newline (a file cut short): a GC line there must be whole
    (Node ≥ 12's lines end their reason with ``;``).
    """
    n = lines.len()
    lineno = pl.int_range(first, first + n, eager=True, dtype=pl.Int64).alias("lineno")
    rows = _classic(lines, lineno)
    matched = rows["pid"].is_not_null()
    if last and n:  # a final line without newline: Node >= 12 ends a whole one with ";.."
        tail = rows.row(n - 1, named=True)
        if tail["pid"] is not None and tail["modern"] and ";" not in str(lines[n - 1]):
            rows = rows.with_columns(
                cut=pl.when(pl.col("lineno") == first + n - 1).then(True).otherwise("cut")
            )
    parts = [rows.filter(matched)]
    rest = ~matched & lines.str.starts_with("[")
    if rest.any():
        idx = rest.arg_true()
        sub, sub_no = lines.gather(idx), lineno.gather(idx)
        nvp = _nvp(sub, sub_no)
        ok = nvp["pid"].is_not_null()
        parts.append(nvp.filter(ok))
        left = ~ok
        if left.any():
            sub, sub_no = sub.filter(left), sub_no.filter(left)
            gcish = sub.str.contains(_GC_START)
            bad_no = sub_no.filter(gcish)
            bad_txt = sub.filter(gcish)
            bad = [
                (int(no), _why(str(t)))
                for no, t in zip(bad_no.head(3), bad_txt.head(3), strict=True)
            ]
            out = pl.concat(parts, how="vertical_relaxed").sort("lineno")
            return _split_cut(out, bad, len(bad_no))
    out = pl.concat(parts, how="vertical_relaxed").sort("lineno") if len(parts) > 1 else parts[0]
    return _split_cut(out, [], 0)


def _split_cut(
    rows: pl.DataFrame, bad: list[tuple[int, str]], count: int
) -> tuple[pl.DataFrame, list[tuple[int, str]], int]:
    cut = rows["cut"]
    if cut.any():
        gone = rows.filter(cut)
        count += gone.height
        bad = sorted(
            bad + [(int(no), "a --trace-gc line cut short") for no in gone["lineno"].head(3)]
        )[:3]
        rows = rows.filter(~cut)
    return rows.select(list(_COLUMNS)), bad, count


def _why(text: str) -> str:
    shown = text if len(text) <= 80 else text[:77] + "..."
    return f"a --trace-gc line cut short or malformed: {shown!r}"

"""PostgreSQL stderr logs → entries (see :mod:`perflab.queries._pgevents`), streamed.

Why this shape: a log can be gigabytes, and most of it is statement lines. The file
is read in blocks of a few megabytes cut just before a line that starts a primary
message, so a message and its ``DETAIL``/``STATEMENT``/continuation lines always share
a block; each block is split into lines and parsed by polars in one pass of the
compiled prefix regex (:mod:`perflab.queries._pgprefix`). Memory is one block plus
what the caller keeps.

Lines:

* a line starting with a tab continues the message before it (PostgreSQL indents
  every further line of a multi-line message with one tab);
* a line matching the prefix starts a message; ``DETAIL``, ``HINT``, ``CONTEXT``,
  ``STATEMENT``, ``QUERY`` and ``LOCATION`` attach to the latest primary message of
  the same process (PostgreSQL writes a message and its parts together);
* any other non-blank line is a bad line (raise, or skip and count).

If none of the first lines matches the prefix, the read stops at once with an
``InputError`` that quotes the first line and names a prefix that does match, when
one of :data:`~perflab.queries._pgprefix.COMMON_PREFIXES` does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import polars as pl

from perflab.errors import InputError, ParameterError
from perflab.frames import UTC_DATETIME
from perflab.queries._pgevents import ENTRY, empty_entries
from perflab.queries._pgprefix import COMMON_PREFIXES, PRIMARY, Prefix, compile_prefix
from perflab.sources import Source

__all__ = ["BLOCK_BYTES", "detect_prefix", "iter_entries", "parse_stamps"]

BLOCK_BYTES = 8 << 20
"""Bytes read per block (the block is then extended to a message boundary)."""

_PROBE_LINES = 200
_SECONDARY = ("DETAIL", "HINT", "CONTEXT", "STATEMENT", "QUERY", "LOCATION")

# Zone abbreviations PostgreSQL prints with %m/%t, by their fixed offset in minutes.
# An abbreviation names its offset (CET is +1 h, CEST +2 h); ambiguous ones (IST, CST
# in China) are left out: pass tz= for those.
_ZONES = {
    "UTC": 0,
    "GMT": 0,
    "UCT": 0,
    "Z": 0,
    "WET": 0,
    "WEST": 60,
    "BST": 60,
    "CET": 60,
    "CEST": 120,
    "MET": 60,
    "MEST": 120,
    "EET": 120,
    "EEST": 180,
    "MSK": 180,
    "EST": -300,
    "EDT": -240,
    "CDT": -300,
    "MST": -420,
    "MDT": -360,
    "PST": -480,
    "PDT": -420,
    "AKST": -540,
    "AKDT": -480,
    "HST": -600,
    "JST": 540,
    "KST": 540,
    "AEST": 600,
    "AEDT": 660,
    "ACST": 570,
    "ACDT": 630,
    "AWST": 480,
    "NZST": 720,
    "NZDT": 780,
}
_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})?$")


@dataclass
class _Block:
    text: str
    first_line: int  # 1-based line number of the block's first line


def detect_prefix(src: Source) -> Prefix | None:
    """The first of :data:`COMMON_PREFIXES` that matches most of the log's first lines."""
    lines = _head_lines(src)
    if not lines:
        return None
    for text in COMMON_PREFIXES:
        prefix = compile_prefix(text)
        if _match_share(prefix, lines) >= 0.9:
            return prefix
    return None


def _head_lines(src: Source) -> list[str]:
    head = src.head(256 << 10).decode("utf-8", errors="replace").removeprefix("\ufeff")
    lines = [ln.rstrip("\r") for ln in head.split("\n")[:_PROBE_LINES]]
    if len(lines) > 1:
        lines = lines[:-1]  # the last may be cut
    return [ln for ln in lines if ln.strip() and not ln.startswith("\t")]


def _match_share(prefix: Prefix, lines: list[str]) -> float:
    rx = re.compile(prefix.pattern)
    return sum(1 for ln in lines if rx.match(ln)) / len(lines)


def _check_prefix(src: Source, prefix: Prefix) -> None:
    """InputError on the first lines when the prefix matches none of them."""
    lines = _head_lines(src)
    if not lines or _match_share(prefix, lines) > 0:
        return
    better = detect_prefix(src)
    hint = (
        f"; the log looks like it was written with log_line_prefix = {better.text!r}"
        if better is not None
        else (
            "; give the server's log_line_prefix (SHOW log_line_prefix;), or read csvlog/"
            "jsonlog files with read_postgres_csvlog/read_postgres_jsonlog"
        )
    )
    first = lines[0] if len(lines[0]) <= 160 else lines[0][:157] + "..."
    raise InputError(
        src.name,
        1,
        f"log_line_prefix {prefix.text!r} matches none of the first {len(lines)} lines; "
        f"line 1 reads {first!r}{hint}",
    )


def iter_entries(
    src: Source,
    prefix: str | Sequence[str] | None,
    *,
    tz: str | None = None,
    block_bytes: int = BLOCK_BYTES,
) -> Iterator[pl.DataFrame]:
    """Entries of a stderr log, one frame per block (see the module docstring).

    ``prefix`` may list several prefixes, for a log whose ``log_line_prefix`` changed
    on a reload: each line is read with the first that matches it.
    """
    if src.is_blank():
        return
    if prefix is None:
        detected = detect_prefix(src)
        if detected is None:
            raise InputError(
                src.name,
                1,
                "no common log_line_prefix matches the first lines: pass prefix= (the "
                f"server's log_line_prefix); tried {list(COMMON_PREFIXES)}",
            )
        compiled = [detected]
    else:
        texts = [prefix] if isinstance(prefix, str) else list(prefix)
        if not texts:
            raise ParameterError("prefix= lists no log_line_prefix")
        compiled = [compile_prefix(t) for t in texts]
        _check_prefix(src, compiled[0])
    primary = [re.compile(c.pattern) for c in compiled]
    for block in _blocks(src, primary, block_bytes):
        frame = _parse_block(block, compiled, src, tz)
        if frame.height:
            yield frame


def _blocks(src: Source, primary: list[re.Pattern[str]], block_bytes: int) -> Iterator[_Block]:
    """The file as text blocks that each end just before a primary message line."""
    stream = src.open()
    carry = ""
    line_no = 1
    first = True
    try:
        while True:
            try:
                raw = stream.read(block_bytes)
            except (EOFError, OSError) as exc:  # a truncated gzip stream
                raw = b""
                src.bad.add(line_no + carry.count("\n"), f"the file is cut short ({exc})")
            text = raw.decode("utf-8", errors="replace")
            if first:
                text = text.removeprefix("\ufeff")
                first = False
            if not raw:
                if carry:
                    yield _Block(carry, line_no)
                return
            text = carry + text
            if len(raw) < block_bytes:  # the end of the file: one last block
                yield _Block(text, line_no)
                return
            cut = _cut(text, primary)
            if cut is None:
                carry = text
                continue
            block, carry = text[:cut], text[cut:]
            yield _Block(block, line_no)
            line_no += block.count("\n")
    finally:
        stream.close()


def _cut(text: str, primary: list[re.Pattern[str]]) -> int | None:
    """Offset of the last line start in ``text`` that begins a primary message (not 0)."""
    end = text.rfind("\n")
    tries = 0
    while end > 0 and tries < 2000:
        start = text.rfind("\n", 0, end) + 1
        if start == 0:
            return None
        tries += 1
        line = text[start:end]
        for rx in primary:
            m = rx.match(line)
            if m is not None and (m.group("level") in PRIMARY or m.group("level")[:5] == "DEBUG"):
                return start
        end = start - 1
    return None


def _parse_block(
    block: _Block, prefixes: list[Prefix], src: Source, tz: str | None
) -> pl.DataFrame:
    lines = (
        pl.DataFrame({"raw": [block.text]})
        .select(pl.col("raw").str.split("\n"))
        .explode("raw")
        .with_row_index("idx")
        .with_columns(
            (pl.col("idx").cast(pl.Int64) + block.first_line).alias("line"),
            pl.col("raw").str.strip_suffix("\r"),
        )
    )
    if block.text.endswith("\n"):
        lines = lines.head(lines.height - 1)
    cont = pl.col("raw").str.starts_with("\t")
    lines = lines.with_columns(cont.alias("cont"), (~cont).cum_sum().alias("entry"))
    heads = lines.filter(~pl.col("cont"))
    parts = []
    rest = heads
    for prefix in prefixes:  # after a change of log_line_prefix: each on what is left
        got = rest.with_columns(pl.col("raw").str.extract_groups(prefix.pattern).alias("m"))
        fields = got.get_column("m").struct.unnest()
        got = pl.concat([got.drop("m"), fields], how="horizontal")
        hit = got.get_column("level").is_not_null()
        parts.append(got.filter(hit))
        rest = rest.filter(~hit)
        if rest.height == 0:
            break
    parts.append(rest)
    parsed = pl.concat(parts, how="diagonal_relaxed").sort("entry")
    if "level" not in parsed.columns:
        parsed = parsed.with_columns(pl.lit(None, pl.String).alias("level"))
    bad = parsed.get_column("level").is_null() & (parsed.get_column("raw").str.strip_chars() != "")
    if bad.any():
        _report_bad(parsed.filter(bad), src)
        parsed = parsed.filter(~bad)
    parsed = parsed.filter(pl.col("level").is_not_null())
    if parsed.height == 0:
        return empty_entries()
    more = lines.filter(pl.col("cont"))
    if more.height:
        joined = more.group_by("entry").agg(
            pl.col("raw").str.strip_prefix("\t").str.join("\n").alias("_more")
        )
        parsed = parsed.join(joined, on="entry", how="left").with_columns(
            pl.when(pl.col("_more").is_not_null())
            .then(pl.concat_str([pl.col("message"), pl.col("_more")], separator="\n"))
            .otherwise(pl.col("message"))
            .alias("message")
        )
        parsed = parsed.sort("entry")
    return _entries(parsed, src, tz)


def _report_bad(rows: pl.DataFrame, src: Source) -> None:
    n = rows.height
    shown = rows.head(1 if src.bad.mode == "raise" else 3)
    for line, raw in shown.select("line", "raw").iter_rows():
        text = raw if len(raw) <= 120 else raw[:117] + "..."
        src.bad.add(
            line, f"not a log line of this log_line_prefix and not a continuation: {text!r}"
        )
    src.bad.more(n - shown.height)


def _entries(parsed: pl.DataFrame, src: Source, tz: str | None) -> pl.DataFrame:
    """Primary messages with their secondary parts attached, as ENTRY columns."""
    cols = parsed.columns
    level = pl.col("level")
    is_primary = ~level.is_in(_SECONDARY)
    key = "pid" if "pid" in cols else None
    frame = parsed.with_row_index("_r").with_columns(
        pl.when(is_primary).then(pl.col("_r")).alias("_owner")
    )
    owner = pl.col("_owner").forward_fill()
    frame = frame.with_columns(owner.over(key) if key else owner)
    secondary = (
        frame.filter(~is_primary & pl.col("_owner").is_not_null())
        .group_by("_owner", "level")
        .agg(pl.col("message").str.join("\n"))
        .pivot(on="level", index="_owner", values="message")
    )
    primaries = frame.filter(is_primary)
    if secondary.height:
        primaries = primaries.join(secondary, left_on="_r", right_on="_owner", how="left")
    stamps = (
        parse_stamps(primaries.get_column("stamp"), src, tz)
        if "stamp" in cols
        else (
            (primaries.get_column("epoch").cast(pl.Float64) * 1e6).cast(pl.Int64).cast(UTC_DATETIME)
            if "epoch" in cols
            else pl.Series("timestamp", [None] * primaries.height, dtype=UTC_DATETIME)
        )
    )

    def col(name: str, dtype: pl.DataType | type[pl.DataType] = pl.String) -> pl.Expr:
        if name in primaries.columns:
            expr = pl.col(name)
            if dtype == pl.String:
                expr = pl.when(expr.is_in(["", "[unknown]"])).then(None).otherwise(expr)
            return expr.cast(dtype, strict=False)
        return pl.lit(None, dtype)

    client = col("client").str.replace(r"\(\d+\)$", "")
    return primaries.select(
        pl.col("line"),
        stamps.alias("timestamp"),
        col("pid", pl.Int64).alias("pid"),
        col("user").alias("user"),
        col("database").alias("database"),
        col("application").alias("application"),
        client.alias("client"),
        col("session").alias("session"),
        col("sqlstate").alias("sqlstate"),
        col("query_id", pl.Int64).alias("query_id"),
        pl.col("level").str.replace(r"^DEBUG\d$", "DEBUG"),
        pl.col("message"),
        col("DETAIL").alias("detail"),
        col("HINT").alias("hint"),
        col("CONTEXT").alias("context"),
        pl.coalesce(col("STATEMENT"), col("QUERY")).alias("statement"),
    ).cast(ENTRY)


def parse_stamps(stamps: pl.Series, src: Source, tz: str | None) -> pl.Series:
    """``%m``/``%t`` texts (``2026-12-03 08:33:23.080 UTC``) → datetime[μs, UTC].

    The zone is what PostgreSQL prints for ``log_timezone``: an abbreviation (``UTC``,
    ``CET``, ``EDT`` …) or an offset (``+01``, ``-0530``). ``tz`` (an IANA name such as
    ``Europe/Amsterdam``) overrides it, for abbreviations that are not in the table.
    """
    parts = stamps.str.extract_groups(r"^(?P<local>\S+ \S+) (?P<zone>\S+)$").struct.unnest()
    local = parts.get_column("local").str.to_datetime(
        "%Y-%m-%d %H:%M:%S%.f", time_unit="us", strict=False
    )
    if tz is not None:
        try:
            return local.dt.replace_time_zone(
                tz, ambiguous="earliest", non_existent="null"
            ).dt.convert_time_zone("UTC")
        except pl.exceptions.PolarsError as exc:
            raise ParameterError(f"tz={tz!r} is not a time zone polars knows: {exc}") from None
    zones = parts.get_column("zone")
    offsets: dict[str, int] = {}
    for zone in zones.unique().drop_nulls().to_list():
        minutes = _zone_minutes(zone)
        if minutes is None:
            i = int((zones == zone).arg_true()[0])
            raise InputError(
                src.name,
                None,
                f"time zone {zone!r} (first in {stamps[i]!r}) is not one perflab knows "
                "the offset of: pass tz= (the server's log_timezone, e.g. 'Asia/Kolkata')",
            )
        offsets[zone] = minutes
    if set(offsets.values()) <= {0}:
        return local.dt.replace_time_zone("UTC")
    shift_us = zones.replace_strict(offsets, default=0, return_dtype=pl.Int64) * 60_000_000
    utc = local.dt.replace_time_zone("UTC")
    return (utc - shift_us.cast(pl.Duration("us"))).alias("timestamp")


def _zone_minutes(zone: str) -> int | None:
    if zone in _ZONES:
        return _ZONES[zone]
    m = _OFFSET.match(zone)
    if m is None:
        return None
    sign = -1 if m.group(1) == "-" else 1
    return sign * (int(m.group(2)) * 60 + int(m.group(3) or 0))

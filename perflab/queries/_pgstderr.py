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
one of :data:`~perflab.queries._pgprefix.COMMON_PREFIXES` does. Without a prefix, the
first common prefix that matches the first lines is used, and the other common ones
for the lines it does not match (a log whose prefix was changed on a reload).
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
    """Of :data:`COMMON_PREFIXES` that match ≥ 90 % of the log's first lines, the one with
    the most fields (the first such in the list on a tie)."""
    lines = _head_lines(src)
    if not lines:
        return None
    matching = [
        compile_prefix(text)
        for text in COMMON_PREFIXES
        if _match_share(compile_prefix(text), lines) >= 0.9
    ]
    if not matching:
        return None
    # the one that reads the most fields (a generic prefix also matches a richer one's lines)
    return max(matching, key=lambda p: len(p.groups))


def _head_lines(src: Source) -> list[str]:
    head = src.head(256 << 10).decode("utf-8", errors="replace").removeprefix("\ufeff")
    lines = [ln.rstrip("\r") for ln in head.split("\n")[:_PROBE_LINES]]
    if len(lines) > 1:
        lines = lines[:-1]  # the last may be cut
    return [ln for ln in lines if ln.strip() and not ln.startswith("\t")]


def _match_share(prefix: Prefix, lines: list[str]) -> float:
    rx = re.compile(prefix.pattern)
    return sum(1 for ln in lines if rx.match(ln)) / len(lines)


def _check_prefix(src: Source, prefixes: list[Prefix]) -> None:
    """InputError on the first lines when no prefix matches any of them."""
    lines = _head_lines(src)
    if not lines or any(_match_share(p, lines) > 0 for p in prefixes):
        return
    prefix = prefixes[0]
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
    block_bytes: int | None = None,
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
        # the others too, for the lines of a log whose prefix changed to another common one
        compiled = [detected, *(compile_prefix(t) for t in COMMON_PREFIXES if t != detected.text)]
    else:
        texts = [prefix] if isinstance(prefix, str) else list(prefix)
        if not texts:
            raise ParameterError("prefix= lists no log_line_prefix")
        compiled = [compile_prefix(t) for t in texts]
        _check_prefix(src, compiled)
    primary = [re.compile(c.pattern) for c in compiled]
    for block in _blocks(src, primary, block_bytes or BLOCK_BYTES):
        frame = _parse_block(block, compiled, src, tz)
        if frame.height:
            yield frame


def _blocks(src: Source, primary: list[re.Pattern[str]], block_bytes: int) -> Iterator[_Block]:
    """The file as text blocks that each end just before a primary message line.

    Blocks are cut in bytes at a line start, then decoded: a character split between
    two reads is decoded whole.
    """
    carry = b""
    line_no = 1
    first = True
    for raw in src.chunks(block_bytes):
        data = carry + raw if carry else raw
        if first:
            data = data.removeprefix(b"\xef\xbb\xbf")
            first = False
        cut = _cut(data, primary) if len(raw) >= block_bytes else None
        if cut is None:
            carry = data
            continue
        block, carry = data[:cut], data[cut:]
        yield _Block(block.decode("utf-8", errors="replace"), line_no)
        line_no += block.count(b"\n")
    if carry:
        yield _Block(carry.decode("utf-8", errors="replace"), line_no)


def _cut(data: bytes, primary: list[re.Pattern[str]]) -> int | None:
    """Offset of the last line start in ``data`` that begins a primary message (not 0)."""
    end = data.rfind(b"\n")
    tries = 0
    while end > 0 and tries < 2000:
        start = data.rfind(b"\n", 0, end) + 1
        if start == 0:
            return None
        tries += 1
        line = data[start:end].decode("utf-8", errors="replace")
        for rx in primary:
            m = rx.match(line)
            if m is not None and (m.group("level") in PRIMARY or m.group("level")[:5] == "DEBUG"):
                return start
        end = start - 1
    return None


_JOIN = "\x00"  # stands for a continuation's "\n\t" while lines are split (no log has NUL)


def _parse_block(
    block: _Block, prefixes: list[Prefix], src: Source, tz: str | None
) -> pl.DataFrame:
    text = block.text
    if "\r" in text:
        text = text.replace("\r\n", "\n").removesuffix("\r")
    text = text.removesuffix("\n")
    first_line = block.first_line
    if text.startswith("\t"):  # continuation lines of an entry before the file's start
        n = 0
        while text.startswith("\t"):
            cut = text.find("\n")
            text = text[cut + 1 :] if cut >= 0 else ""
            n += 1
        first_line += n
    # a continuation line (a tab first) joins its entry before the split: one row an entry
    has_more = "\n\t" in text
    if has_more:
        text = text.replace(_JOIN, "\ufffd").replace("\n\t", _JOIN)
    line = pl.col("entry").cast(pl.Int64) + first_line
    if has_more:  # the line of an entry counts the continuation lines before it
        more = pl.col("raw").str.count_matches(_JOIN, literal=True).cast(pl.Int64)
        line = line + more.cum_sum() - more
    heads = (
        pl.DataFrame({"raw": [text]})
        .lazy()
        .select(pl.col("raw").str.split("\n"))
        .explode("raw")
        .with_row_index("entry")
        .with_columns(line.alias("line"))
        .collect()
    )
    parsed = _match(heads, prefixes)
    bad = parsed.get_column("level").is_null()
    if bad.any():
        blank = parsed.get_column("raw").str.strip_chars() == ""
        really = bad & ~blank
        if really.any():
            _report_bad(parsed.filter(really), src)
        parsed = parsed.filter(~bad)
    if parsed.height == 0:
        return empty_entries()
    if has_more:
        parsed = parsed.with_columns(pl.col("message").str.replace_all(_JOIN, "\n", literal=True))
    return _entries(parsed, src, tz)


def _fields(frame: pl.DataFrame, prefix: Prefix) -> pl.DataFrame:
    """The prefix fields and the message of each line (nulls where the prefix fails)."""
    got = frame.with_columns(pl.col("raw").str.extract_groups(prefix.head).alias("m"))
    got = pl.concat([got.drop("m"), got.get_column("m").struct.unnest()], how="horizontal")
    if prefix.padded:  # %-8p: the group holds the value with its padding
        got = got.with_columns(pl.col(prefix.padded).str.strip_chars(" "))
    # the message is what follows the matched head (cheaper than capturing it)
    return got.with_columns(pl.col("raw").str.strip_prefix(pl.col("_head")).alias("message")).drop(
        "_head"
    )


def _match(heads: pl.DataFrame, prefixes: list[Prefix]) -> pl.DataFrame:
    """The prefix fields of each line: the first prefix that matches it (null: none)."""
    got = _fields(heads, prefixes[0])
    if len(prefixes) == 1:
        return got
    parts = [got.filter(pl.col("level").is_not_null())]
    rest = heads.filter(got.get_column("level").is_null())
    for prefix in prefixes[1:]:  # after a change of log_line_prefix: each on what is left
        if rest.height == 0:
            break
        more = _fields(rest, prefix)
        hit = more.get_column("level").is_not_null()
        parts.append(more.filter(hit))
        rest = rest.filter(~hit)
    parts.append(rest.with_columns(pl.lit(None, pl.String).alias("level")))
    return pl.concat(parts, how="diagonal_relaxed").sort("entry")


def _report_bad(rows: pl.DataFrame, src: Source) -> None:
    n = rows.height
    shown = rows.head(1 if src.bad.mode == "raise" else 3)
    for line, raw in shown.select("line", "raw").iter_rows():
        raw = raw.split(_JOIN, 1)[0]
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
        .agg(pl.col("message"))  # a list joined: str.join in agg is 3× slower
        .with_columns(pl.col("message").list.join("\n"))
        .pivot(on="level", index="_owner", values="message")
    )
    primaries = frame.filter(is_primary)
    if secondary.height:
        primaries = primaries.join(secondary, left_on="_r", right_on="_owner", how="left")
    stamps = (
        parse_stamps(primaries.get_column("stamp"), src, tz)
        if "stamp" in cols
        else (
            (primaries.get_column("epoch").cast(pl.Float64) * 1e6)
            .round(0)
            .cast(pl.Int64)
            .cast(UTC_DATETIME)
            if "epoch" in cols
            else pl.Series("timestamp", [None] * primaries.height, dtype=UTC_DATETIME)
        )
    )

    def col(name: str, dtype: pl.DataType | type[pl.DataType] = pl.String) -> pl.Expr:
        if name in primaries.columns:
            return pl.col(name).cast(dtype, strict=False)
        return pl.lit(None, dtype)

    def field(name: str) -> pl.Expr:
        """A prefix field: empty, or [unknown] before authentication, is no value."""
        if name not in primaries.columns:
            return pl.lit(None, pl.String)
        expr = pl.col(name)
        return pl.when((expr.str.len_bytes() > 0) & (expr != "[unknown]")).then(expr)

    client = field("client")
    if "client" in primaries.columns:
        client = client.str.replace(r"\(\d+\)$", "")
    return primaries.select(
        pl.col("line"),
        stamps.alias("timestamp"),
        col("pid", pl.Int64).alias("pid"),
        field("user").alias("user"),
        field("database").alias("database"),
        field("application").alias("application"),
        client.alias("client"),
        field("session").alias("session"),
        field("sqlstate").alias("sqlstate"),
        pl.when(col("query_id", pl.Int64) != 0).then(col("query_id", pl.Int64)).alias("query_id"),
        pl.when(level.str.starts_with("DEBUG"))
        .then(pl.lit("DEBUG"))
        .otherwise(level)
        .alias("level"),
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
    # %m's local time is 23 characters, %t's 19: slices are ten times cheaper than a regex
    dot = stamps.str.slice(19, 1) == "."
    width = 23 if dot.all() else 19 if not dot.any() else None
    if width is not None:
        local_text, zones = stamps.str.slice(0, width), stamps.str.slice(width + 1)
    else:  # both, from a log whose prefix changed
        parts = stamps.str.extract_groups(r"^(?P<local>\S+ \S+) (?P<zone>\S+)$").struct.unnest()
        local_text, zones = parts.get_column("local"), parts.get_column("zone")
    local = local_text.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us", strict=False)
    if tz is not None:
        try:
            return local.dt.replace_time_zone(
                tz, ambiguous="earliest", non_existent="null"
            ).dt.convert_time_zone("UTC")
        except pl.exceptions.PolarsError as exc:
            raise ParameterError(f"tz={tz!r} is not a time zone polars knows: {exc}") from None
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

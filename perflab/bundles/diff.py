"""Build a against build b: what grew, what appeared, per entry, chunk and package.

Chunks are matched by their key (``main``, ``id:534`` — webpack 5's deterministic ids
stay put while a chunk's modules keep their names), packages by name, entries by name.
Compressed sizes are those of :meth:`~perflab.bundles.Bundle.chunks` (measured when the
build's output folder was read, else estimated) and :meth:`~perflab.bundles.Bundle.packages`
(estimated). :meth:`BundleDiff.to_markdown` writes the comment a pull request gets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from perflab.bundles.budget import format_bytes

if TYPE_CHECKING:
    from perflab.bundles.model import Bundle

__all__ = ["DIFF_COLUMNS", "BundleDiff", "diff"]

DIFF_COLUMNS = {
    "status": pl.String,
    "before_bytes": pl.Int64,
    "after_bytes": pl.Int64,
    "delta_bytes": pl.Int64,
    "before_gzip": pl.Int64,
    "after_gzip": pl.Int64,
    "delta_gzip": pl.Int64,
    "delta_pct": pl.Float64,
}
"""Columns every frame of a :class:`BundleDiff` has after its key column."""


def _compare(a: pl.DataFrame, b: pl.DataFrame, key: str) -> pl.DataFrame:
    """Outer-join two (key, bytes, gzip) frames into DIFF_COLUMNS, biggest change first."""
    left = a.select(key, pl.col("bytes").alias("before_bytes"), pl.col("gzip").alias("before_gzip"))
    right = b.select(key, pl.col("bytes").alias("after_bytes"), pl.col("gzip").alias("after_gzip"))
    j = left.join(right, on=key, how="full", coalesce=True)
    delta = pl.col("after_gzip").fill_null(0) - pl.col("before_gzip").fill_null(0)
    raw = pl.col("after_bytes").fill_null(0) - pl.col("before_bytes").fill_null(0)
    status = (
        pl.when(pl.col("before_bytes").is_null())
        .then(pl.lit("added"))
        .when(pl.col("after_bytes").is_null())
        .then(pl.lit("removed"))
        .when(raw > 0)
        .then(pl.lit("grown"))
        .when(raw < 0)
        .then(pl.lit("shrunk"))
        .otherwise(pl.lit("unchanged"))
    )
    out = j.with_columns(
        status.alias("status"),
        raw.cast(pl.Int64).alias("delta_bytes"),
        delta.cast(pl.Int64).alias("delta_gzip"),
        pl.when(pl.col("before_bytes") > 0)
        .then(100.0 * raw / pl.col("before_bytes"))
        .otherwise(None)
        .alias("delta_pct"),
    )
    cols = [key, *DIFF_COLUMNS]
    out = out.select(cols).with_columns([pl.col(c).cast(t) for c, t in DIFF_COLUMNS.items()])
    return out.sort(
        [pl.col("delta_gzip").abs(), pl.col("delta_bytes").abs(), pl.col(key)],
        descending=[True, True, False],
    )


def _measured(bundle: Bundle) -> bool:
    cf = bundle.chunk_frame
    return bool(cf.height) and bool(
        ((cf["sizes"] == "measured") & cf["gzip_bytes"].is_not_null()).all()
    )


def _chunk_sizes(bundle: Bundle, measured: bool) -> pl.DataFrame:
    from perflab.bundles.sizes import GZIP_RATIO

    cf = bundle.chunk_frame.unique("chunk", keep="first")
    gz = (
        pl.col("gzip_bytes")
        if measured
        else (pl.col("size_bytes") * GZIP_RATIO).round(0).cast(pl.Int64)
    )
    return cf.select("chunk", pl.col("size_bytes").alias("bytes"), gz.alias("gzip"))


def _package_sizes(bundle: Bundle) -> pl.DataFrame:
    p = bundle.packages()
    return p.select(
        "package", pl.col("size_bytes").alias("bytes"), pl.col("gzip_bytes").alias("gzip")
    )


def _entry_sizes(bundle: Bundle, chunks: pl.DataFrame) -> pl.DataFrame:
    eps = bundle.entrypoints.filter(pl.col("initial")).select("entry", "chunk")
    return (
        eps.join(chunks, on="chunk", how="left")
        .group_by("entry", maintain_order=True)
        .agg(pl.col("bytes").sum(), pl.col("gzip").sum())
    )


def _md(text: object) -> str:
    """A table cell: pipes escaped, no line breaks, code spans kept apart."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("`", "'")


def _signed(n: float | None) -> str:
    if n is None:
        return "–"
    return ("+" if n > 0 else "") + format_bytes(n) if n else "0 B"


def _pct(p: float | None) -> str:
    return "new" if p is None else f"{p:+.1f} %"


@dataclass(frozen=True)
class BundleDiff:
    """The difference between two builds.

    Attributes
    ----------
    entries, chunks, packages : polars.DataFrame
        Keyed by ``entry`` (its initial download), ``chunk`` and ``package``, then
        :data:`DIFF_COLUMNS`: ``status`` (added, removed, grown, shrunk, unchanged),
        raw and gzip bytes before and after, their deltas, and the raw change in %.
    before, after : str
        The files the two builds were read from.
    measured : bool
        Whether chunk gzip sizes were measured in both builds (else both estimated).
    """

    entries: pl.DataFrame
    chunks: pl.DataFrame
    packages: pl.DataFrame
    before: str
    after: str
    measured: bool = False

    @property
    def initial_delta_gzip(self) -> int:
        """Change of the initial download summed over entries, gzip bytes."""
        return int(self.entries["delta_gzip"].sum()) if self.entries.height else 0

    @property
    def total_delta_gzip(self) -> int:
        """Change of every chunk, gzip bytes."""
        return int(self.chunks["delta_gzip"].sum()) if self.chunks.height else 0

    def to_markdown(self, *, max_rows: int = 10) -> str:
        """A pull-request comment: a summary line, then what grew and what appeared.

        Examples
        --------
        >>> e = pl.DataFrame({"entry": ["main"], "bytes": [100], "gzip": [40]})
        >>> d = BundleDiff(_compare(e, e.with_columns(gzip=pl.lit(50)), "entry"),
        ...     _compare(e.rename({"entry": "chunk"}), e.rename({"entry": "chunk"}), "chunk"),
        ...     _compare(e.rename({"entry": "package"}), e.rename({"entry": "package"}), "package"),
        ...     "a", "b")
        >>> d.to_markdown().splitlines()[0]
        '### Bundle size: initial JS +10 B gzip (+25.0 %), all chunks 0 B gzip'
        """
        before = int(self.entries["before_gzip"].fill_null(0).sum()) if self.entries.height else 0
        pct = f" ({100.0 * self.initial_delta_gzip / before:+.1f} %)" if before else ""
        lines = [
            f"### Bundle size: initial JS {_signed(self.initial_delta_gzip)} gzip{pct}, "
            f"all chunks {_signed(self.total_delta_gzip)} gzip",
            "",
        ]
        if self.entries.height:
            lines += [
                "| Entry | Initial JS before (gzip) | After | Change |",
                "|---|---:|---:|---:|",
            ]
            for r in self.entries.iter_rows(named=True):
                lines.append(
                    f"| {_md(r['entry'])} | {format_bytes(r['before_gzip'] or 0)} | "
                    f"{format_bytes(r['after_gzip'] or 0)} | {_signed(r['delta_gzip'])} |"
                )
            lines.append("")

        def table(title: str, frame: pl.DataFrame, key: str) -> None:
            if frame.height == 0:
                return
            shown = frame.sort(["delta_gzip", key], descending=[True, False]).head(max_rows)
            lines.extend(
                [
                    f"#### {title}",
                    "",
                    f"| {key.title()} | Status | Before (gzip) | "
                    "After (gzip) | Change (gzip) | Raw change |",
                    "|---|---|---:|---:|---:|---:|",
                ]
            )
            for r in shown.iter_rows(named=True):
                lines.append(
                    f"| {_md(r[key])} | {r['status']} | "
                    f"{format_bytes(r['before_gzip']) if r['before_gzip'] is not None else '–'} | "
                    f"{format_bytes(r['after_gzip']) if r['after_gzip'] is not None else '–'} | "
                    f"{_signed(r['delta_gzip'])} | {_pct(r['delta_pct'])} |"
                )
            if frame.height > max_rows:
                lines.append(f"| … {frame.height - max_rows} more | | | | | |")
            lines.append("")

        moved = pl.col("status").is_in(["grown", "added"])
        table("What appeared", self.packages.filter(pl.col("status") == "added"), "package")
        table("What grew: packages", self.packages.filter(pl.col("status") == "grown"), "package")
        table("What grew: chunks", self.chunks.filter(moved), "chunk")
        gone = self.packages.filter(pl.col("status").is_in(["removed", "shrunk"]))
        if gone.height:
            names = ", ".join(
                f"{_md(p)} ({_signed(d)})"
                for p, d in gone.select("package", "delta_gzip").iter_rows()
            )
            lines += [f"Shrank or went away: {names}.", ""]
        if not self.packages.filter(moved).height and not self.chunks.filter(moved).height:
            lines += ["Nothing grew.", ""]
        how = "measured from the emitted files" if self.measured else "estimated from raw sizes"
        lines.append(
            f"<sub>gzip sizes: chunks {how}, packages estimated from module sizes "
            "(perflab.bundles).</sub>"
        )
        return "\n".join(lines)


def diff(a: Bundle, b: Bundle) -> BundleDiff:
    """Compare build ``a`` (before) with build ``b`` (after).

    Parameters
    ----------
    a, b : Bundle
        Two reads of the same app (any bundler, though chunk keys only match within one).

    Returns
    -------
    BundleDiff
        ``entries``, ``chunks`` and ``packages`` frames (see :class:`BundleDiff`) and
        :meth:`BundleDiff.to_markdown`.

    Examples
    --------
    >>> from perflab.bundles.model import Bundle
    >>> e = Bundle.empty("webpack", "a.json")
    >>> diff(e, e).chunks.columns[:3]
    ['chunk', 'status', 'before_bytes']
    """
    # like for like: measured gzip sizes only when both builds have them for every chunk
    measured = _measured(a) and _measured(b)
    ca, cb = _chunk_sizes(a, measured), _chunk_sizes(b, measured)
    return BundleDiff(
        entries=_compare(_entry_sizes(a, ca), _entry_sizes(b, cb), "entry"),
        chunks=_compare(ca, cb, "chunk"),
        packages=_compare(_package_sizes(a), _package_sizes(b), "package"),
        before=a.source,
        after=b.source,
        measured=measured,
    )

"""The one model every bundle reader fills: :class:`Bundle`.

A :class:`Bundle` holds five canonical frames (see :mod:`perflab.bundles.schema`) and
derives the views people ask for: :meth:`Bundle.chunks`, :meth:`Bundle.modules` (with
compressed sizes attributed to each module) and :meth:`Bundle.packages` (one row per
npm package, first-party code as ``"(app)"``). Findings and "why is this included"
chains are computed by :mod:`perflab.bundles.rules` and :mod:`perflab.bundles.why`.

Module compressed sizes are always estimates: a bundler reports each module's source
size, and compression works on whole files. A module gets its share of its chunk's
gzip/brotli bytes in proportion to its source size (the chunk's own sizes are measured
from the emitted files when ``output_dir`` was given, estimated otherwise); in a chunk
with no compressed size the default ratios of :mod:`perflab.bundles.sizes` apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from perflab.bundles.schema import ASSETS, CHUNKS, ENTRYPOINTS, MODULES, REASONS
from perflab.bundles.sizes import BROTLI_RATIO, GZIP_RATIO

__all__ = ["APP", "PACKAGES", "Bundle"]

APP = "(app)"
"""The ``package`` name :meth:`Bundle.packages` gives first-party code."""

PACKAGES = pl.Schema(
    {
        "package": pl.String(),
        "versions": pl.List(pl.String()),
        "chunks": pl.List(pl.String()),
        "chunk_count": pl.Int64(),
        "modules": pl.Int64(),
        "size_bytes": pl.Int64(),
        "gzip_bytes": pl.Int64(),
        "brotli_bytes": pl.Int64(),
        "sizes": pl.String(),
        "initial": pl.Boolean(),
    }
)
"""Columns and dtypes of :meth:`Bundle.packages`."""


@dataclass(frozen=True)
class Bundle:
    """One build of a web app: its assets, chunks, entry points, modules and reasons.

    Made by the readers (:func:`~perflab.bundles.read_webpack_stats`,
    :func:`~perflab.bundles.read_esbuild_metafile`,
    :func:`~perflab.bundles.read_rollup_visualizer`); the frames follow
    :mod:`perflab.bundles.schema`.

    Attributes
    ----------
    tool : str
        ``"webpack"``, ``"esbuild"``, ``"rollup"`` or ``"next"``.
    version : str or None
        The bundler's version when the file says it.
    source : str
        The file that was read.
    assets, chunk_frame, entrypoints, module_frame, reasons : polars.DataFrame
        ASSETS, CHUNKS, ENTRYPOINTS, MODULES and REASONS frames.
    output_dir : str or None
        The emitted files' folder, when sizes were measured from it.

    Examples
    --------
    >>> b = Bundle.empty("webpack", "stats.json")
    >>> b.chunks().columns[:4], b.packages().height
    (['chunk', 'chunk_id', 'names', 'files'], 0)
    """

    tool: str
    version: str | None
    source: str
    assets: pl.DataFrame
    chunk_frame: pl.DataFrame
    entrypoints: pl.DataFrame
    module_frame: pl.DataFrame
    reasons: pl.DataFrame
    output_dir: str | None = None

    @classmethod
    def empty(cls, tool: str, source: str, version: str | None = None) -> Bundle:
        """A bundle with no assets, chunks or modules (what an empty file reads as).

        Examples
        --------
        >>> Bundle.empty("esbuild", "meta.json").module_frame.height
        0
        """
        return cls(
            tool=tool,
            version=version,
            source=source,
            assets=ASSETS.empty(),
            chunk_frame=CHUNKS.empty(),
            entrypoints=ENTRYPOINTS.empty(),
            module_frame=MODULES.empty(),
            reasons=REASONS.empty(),
        )

    def __repr__(self) -> str:
        version = f" {self.version}" if self.version else ""
        return (
            f"<Bundle {self.tool}{version} {self.source!r}: {self.assets.height} assets, "
            f"{self.chunk_frame.height} chunks, {self.module_frame.height} module rows>"
        )

    def chunks(self) -> pl.DataFrame:
        """The CHUNKS frame, biggest first.

        Returns
        -------
        polars.DataFrame
            ``chunk, chunk_id, names, files, entry, initial, size_bytes, gzip_bytes,
            brotli_bytes, sizes, modules`` (see :mod:`perflab.bundles.schema`).

        Examples
        --------
        >>> Bundle.empty("webpack", "s.json").chunks().height
        0
        """
        return self.chunk_frame.sort(["size_bytes", "chunk"], descending=[True, False])

    def modules(self) -> pl.DataFrame:
        """The MODULES frame with compressed sizes attributed to each (module, chunk).

        A module's ``gzip_bytes`` is its chunk's gzip bytes times its share of the
        chunk's module bytes; where the chunk has no compressed size,
        ``size_bytes × GZIP_RATIO`` (likewise brotli). ``sizes`` is always
        ``"estimated"``: compression is measured per file, never per module.

        Returns
        -------
        polars.DataFrame
            MODULES columns plus ``gzip_bytes`` (i64), ``brotli_bytes`` (i64) and
            ``sizes`` (str), biggest first.

        Examples
        --------
        >>> Bundle.empty("webpack", "s.json").modules().columns[-3:]
        ['gzip_bytes', 'brotli_bytes', 'sizes']
        """
        mods = self.module_frame
        totals = mods.group_by("chunk").agg(pl.col("size_bytes").sum().alias("_total"))
        chunk_sizes = self.chunk_frame.select(
            "chunk", pl.col("gzip_bytes").alias("_gz"), pl.col("brotli_bytes").alias("_br")
        ).unique("chunk", keep="first")
        share = pl.col("size_bytes") / pl.col("_total")

        def attributed(col: str, ratio: float) -> pl.Expr:
            by_chunk = (pl.col(col) * share).round(0)
            fallback = (pl.col("size_bytes") * ratio).round(0)
            usable = pl.col(col).is_not_null() & (pl.col("_total") > 0)
            return pl.when(usable).then(by_chunk).otherwise(fallback).cast(pl.Int64)

        out = (
            mods.join(totals, on="chunk", how="left")
            .join(chunk_sizes, on="chunk", how="left")
            .with_columns(
                attributed("_gz", GZIP_RATIO).alias("gzip_bytes"),
                attributed("_br", BROTLI_RATIO).alias("brotli_bytes"),
                pl.lit("estimated").alias("sizes"),
            )
            .drop("_total", "_gz", "_br")
        )
        return out.sort(["size_bytes", "module", "chunk"], descending=[True, False, False])

    def packages(self) -> pl.DataFrame:
        """One row per npm package (first-party code as ``"(app)"``), biggest first.

        Sizes add up every (module, chunk) row: a package shipped in two chunks counts
        twice, as the browser may download it twice.

        Returns
        -------
        polars.DataFrame
            ``package, versions (list[str]), chunks (list[str]), chunk_count, modules
            (distinct modules), size_bytes, gzip_bytes, brotli_bytes, sizes
            ("estimated"), initial`` (in at least one initial chunk).

        Examples
        --------
        >>> list(Bundle.empty("webpack", "s.json").packages().schema)[:3]
        ['package', 'versions', 'chunks']
        """
        mods = self.modules()
        if mods.height == 0:
            return pl.DataFrame(schema=PACKAGES)
        initial = self.chunk_frame.select("chunk", pl.col("initial").alias("_initial")).unique(
            "chunk", keep="first"
        )
        out = (
            mods.join(initial, on="chunk", how="left")
            .with_columns(pl.col("package").fill_null(APP))
            .group_by("package")
            .agg(
                pl.col("package_version").drop_nulls().unique().sort().alias("versions"),
                pl.col("chunk").unique().sort().alias("chunks"),
                pl.col("chunk").n_unique().cast(pl.Int64).alias("chunk_count"),
                pl.col("module").n_unique().cast(pl.Int64).alias("modules"),
                pl.col("size_bytes").sum().cast(pl.Int64),
                pl.col("gzip_bytes").sum().cast(pl.Int64),
                pl.col("brotli_bytes").sum().cast(pl.Int64),
                pl.lit("estimated").alias("sizes"),
                pl.col("_initial").fill_null(False).any().alias("initial"),
            )
        )
        return (
            out.select(list(PACKAGES))
            .cast(PACKAGES)
            .sort(["size_bytes", "package"], descending=[True, False])
        )

    def findings(self, **kw: Any) -> pl.DataFrame:
        """Ranked recommendations for this build (see :mod:`perflab.bundles.rules`).

        Keyword arguments go to :func:`perflab.bundles.rules.findings`.
        """
        from perflab.bundles.rules import findings

        return findings(self, **kw)

    def why(self, module: str) -> list[list[str]]:
        """Import chains from an entry point to ``module`` (see :mod:`perflab.bundles.why`)."""
        from perflab.bundles.why import why_chains

        return why_chains(self, module)

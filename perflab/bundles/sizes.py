"""Compressed sizes of emitted files: measured from the output folder, else estimated.

Measured: gzip at level 9 (``gzip -9``, what size-limit, bundlesize and
webpack-bundle-analyzer's gzip sizes use) and brotli at quality 11 (the ``brotli``
CLI default, what static pre-compression uses) of each emitted file. A file ``x.js``
that is absent but has ``x.js.gz`` beside it (nginx ``gzip_static`` layout, and how
perflab's sample keeps its output small) is read through gzip: the sizes are those of
the original bytes.

Estimated: ``GZIP_RATIO`` and ``BROTLI_RATIO`` times the raw size for text assets
(JS, CSS, HTML, JSON, SVG, source maps…); already-compressed formats (images, fonts,
archives) keep their size. The ratios are those of minified JavaScript: perflab's
webpack sample (``data/sample/bundles/a``) compresses to 0.28 (gzip -9) and 0.23
(brotli 11) of its raw bytes, weighted by size; small files compress less, so the
estimate rounds up to 0.30 and 0.25.
"""

from __future__ import annotations

import contextlib
import gzip
import zlib
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import brotli
import polars as pl

__all__ = [
    "BROTLI_QUALITY",
    "BROTLI_RATIO",
    "GZIP_LEVEL",
    "GZIP_RATIO",
    "TEXT_SUFFIXES",
    "asset_sizes",
    "chunk_sizes",
    "measure",
]

GZIP_LEVEL = 9
BROTLI_QUALITY = 11
GZIP_RATIO = 0.30
BROTLI_RATIO = 0.25
TEXT_SUFFIXES = frozenset(
    {
        ".js",
        ".mjs",
        ".cjs",
        ".css",
        ".html",
        ".htm",
        ".json",
        ".map",
        ".svg",
        ".txt",
        ".xml",
        ".wasm",
        ".ts",
    }
)
_CODE_SUFFIXES = (".js", ".mjs", ".cjs", ".css")


def _suffix(name: str) -> str:
    return Path(name.split("?", 1)[0]).suffix.lower()


def measure(path: str | Path) -> tuple[int, int, int] | None:
    """``(raw, gzip, brotli)`` bytes of one emitted file, or None when it is not there.

    Reads ``path``, else ``path.gz`` decompressed.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.js"
    >>> _ = p.write_text("var a = 1;" * 100)
    >>> raw, gz, br = measure(p)
    >>> raw, gz < raw, br < raw
    (1000, True, True)
    """
    p = Path(path)
    if p.is_file():
        return _measure(str(p), p.stat().st_mtime_ns, p.stat().st_size)
    gz = p.with_name(p.name + ".gz")
    if gz.is_file():
        return _measure(str(gz), gz.stat().st_mtime_ns, gz.stat().st_size)
    return None


@lru_cache(maxsize=1024)
def _measure(path: str, mtime: int, size: int) -> tuple[int, int, int]:
    data = Path(path).read_bytes()
    if path.endswith(".gz"):
        with contextlib.suppress(OSError, EOFError, zlib.error):
            data = gzip.decompress(data)
    return (
        len(data),
        len(gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)),
        len(brotli.compress(data, quality=BROTLI_QUALITY)),
    )


def _estimate(name: str, size: int | None) -> tuple[int | None, int | None]:
    if size is None:
        return None, None
    if _suffix(name) in TEXT_SUFFIXES:
        return round(size * GZIP_RATIO), round(size * BROTLI_RATIO)
    return size, size


def asset_sizes(
    names: Iterable[str], sizes: Iterable[int | None], output_dir: str | Path | None
) -> pl.DataFrame:
    """Raw, gzip and brotli bytes of emitted files, and how they were obtained.

    Parameters
    ----------
    names : iterable of str
        Asset names, relative to ``output_dir``.
    sizes : iterable of int or None
        The raw sizes the bundler reported.
    output_dir : path or None
        Where the files were emitted: measure them (``sizes="measured"``). A file
        missing there, or no folder at all, gets estimates (``sizes="estimated"``).

    Returns
    -------
    polars.DataFrame
        ``asset, size_bytes, gzip_bytes, brotli_bytes, sizes``.

    Examples
    --------
    >>> asset_sizes(["a.js", "logo.png"], [1000, 500], None).rows()
    [('a.js', 1000, 300, 250, 'estimated'), ('logo.png', 500, 500, 500, 'estimated')]
    """
    rows: list[tuple[str, int | None, int | None, int | None, str]] = []
    base = Path(output_dir) if output_dir is not None else None
    for name, size in zip(names, sizes, strict=True):
        got = measure(base / name) if base is not None else None
        if got is not None:
            rows.append((name, *got, "measured"))
        else:
            rows.append((name, size, *_estimate(name, size), "estimated"))
    return pl.DataFrame(
        rows,
        schema={
            "asset": pl.String,
            "size_bytes": pl.Int64,
            "gzip_bytes": pl.Int64,
            "brotli_bytes": pl.Int64,
            "sizes": pl.String,
        },
        orient="row",
    )


def chunk_sizes(chunks: pl.DataFrame, assets: pl.DataFrame) -> pl.DataFrame:
    """Chunk sizes from their JS/CSS files; the bundler's chunk size where there are none.

    ``chunks`` needs ``chunk, files, size_bytes`` (the bundler's size); ``assets`` needs
    ``asset, size_bytes, gzip_bytes, brotli_bytes, sizes``. Returns ``chunks`` with
    ``size_bytes, gzip_bytes, brotli_bytes, sizes`` set.

    Examples
    --------
    >>> c = pl.DataFrame({"chunk": ["main"], "files": [["main.js", "main.js.map"]],
    ...                   "size_bytes": [900]})
    >>> a = asset_sizes(["main.js", "main.js.map"], [1000, 3000], None)
    >>> chunk_sizes(c, a).select("size_bytes", "gzip_bytes", "sizes").row(0)
    (1000, 300, 'estimated')
    """
    files = (
        chunks.select("chunk", pl.col("files").alias("asset"))
        .explode("asset")
        .filter(pl.col("asset").str.to_lowercase().str.contains(r"\.(?:m|c)?(?:js|css)(?:\?|$)"))
        .join(assets, on="asset", how="inner")
        .group_by("chunk")
        .agg(
            pl.col("size_bytes").sum().alias("_raw"),
            pl.col("gzip_bytes").sum().alias("_gz"),
            pl.col("brotli_bytes").sum().alias("_br"),
            pl.col("gzip_bytes").null_count().alias("_gz_nulls"),
            pl.col("sizes").unique().sort().alias("_kinds"),
        )
    )
    out = chunks.drop([c for c in ("gzip_bytes", "brotli_bytes", "sizes") if c in chunks.columns])
    out = out.join(files, on="chunk", how="left")
    has = pl.col("_raw").is_not_null()
    stats_size = pl.col("size_bytes")
    kind = (
        pl.when(has & (pl.col("_kinds").list.len() == 1))
        .then(pl.col("_kinds").list.first())
        .otherwise(pl.lit("estimated"))
    )
    return out.with_columns(
        pl.when(has).then(pl.col("_raw")).otherwise(stats_size).cast(pl.Int64).alias("size_bytes"),
        pl.when(has & (pl.col("_gz_nulls") == 0))
        .then(pl.col("_gz"))
        .otherwise((stats_size * GZIP_RATIO).round(0))
        .cast(pl.Int64)
        .alias("gzip_bytes"),
        pl.when(has & (pl.col("_gz_nulls") == 0))
        .then(pl.col("_br"))
        .otherwise((stats_size * BROTLI_RATIO).round(0))
        .cast(pl.Int64)
        .alias("brotli_bytes"),
        kind.alias("sizes"),
    ).drop("_raw", "_gz", "_br", "_gz_nulls", "_kinds")

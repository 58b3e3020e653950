"""The generated caching sample: ``data/sample/caching/zipf-scan.oracleGeneral.zst``.

The recorded sample (``recorded.csv.gz``, with the live statistics ``stats.csv``)
comes from running the runtime cache over a real Redis and is kept as files
(``data/make/caching_real.py``; see ``data/README.md``). What is generated here is the
synthetic trace, seeded so the same call always writes the same bytes: 100 000
requests drawn from a Zipf(0.9) law over 10 000 objects (sizes lognormal around
2 KiB), with a scan of 8 000 never-repeated objects at 60 % of the trace — the batch
job that flushes a recency-based cache, and the reason scan-resistant policies
(S3-FIFO, SIEVE, ARC, W-TinyLFU) exist. It is written in libCacheSim's oracleGeneral
format, zstd-compressed, so the same file runs through libCacheSim too.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from perflab.caching.synth import zipf_trace

__all__ = ["ZIPF_SCAN", "write_samples", "zipf_scan_trace"]

ZIPF_SCAN = "zipf-scan.oracleGeneral.zst"
"""File name of the synthetic trace under ``data/sample/caching/``."""


def zipf_scan_trace(seed: int = 43) -> pl.DataFrame:
    """The synthetic sample trace (see the module docstring).

    Examples
    --------
    >>> t = zipf_scan_trace()
    >>> t.height, t["key"].n_unique() > 8_000
    (108000, True)
    """
    return zipf_trace(
        100_000, 10_000, 0.9, seed=seed, mean_size=2048, scan=(0.6, 8_000), rate=200.0
    )


def write_samples(dest: str | Path) -> list[Path]:
    """Write the generated caching sample under ``dest/caching/``; return its path.

    Examples
    --------
    >>> import tempfile
    >>> [p.name for p in write_samples(tempfile.mkdtemp())]
    ['zipf-scan.oracleGeneral.zst']
    """
    from perflab.caching.read import write_oracle_general

    out = Path(dest) / "caching"
    out.mkdir(parents=True, exist_ok=True)
    return [write_oracle_general(zipf_scan_trace(), out / ZIPF_SCAN)]

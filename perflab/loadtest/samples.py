"""The generated load-test sample: ``data/sample/loadtest/history.csv``.

The per-request samples (``baseline.parquet``, ``candidate.parquet``,
``candidate-closed.parquet``) are real runs of :func:`perflab.loadtest.run` against the
sample server, kept as files (``data/make/loadtest_real.py``); the other tools' outputs
under ``tools/`` are real runs too (``data/make/loadtest_tools.py``; see
``data/README.md``). What is generated here is a history of nightly runs, the input
of :func:`perflab.loadtest.run_changes`, seeded so the same call always writes the same
bytes: 40 nights of one test's ``"all"`` summary row (``run, time, requests, rps,
error_rate, p50_ms, p95_ms, p99_ms``) with lognormal night-to-night noise (4 % on the
latencies), an error-rate incident in runs ``nightly-13`` to ``nightly-15`` (a
failing dependency: 3 % errors) and a release from ``nightly-29`` on that makes p95
30 % slower (p50 8 %, p99 40 %) and costs 5 % of the throughput of the closed-model
test.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from perflab.frames import write_atomic

__all__ = ["HISTORY", "history", "write_samples"]

HISTORY = "history.csv"
"""File name of the generated history under ``data/sample/loadtest/``."""


def history(nights: int = 40, seed: int = 11) -> pl.DataFrame:
    """The generated history of nightly runs (see the module docstring).

    Parameters
    ----------
    nights : int
        Runs, one a night from 2026-10-01 02:00. The incident (nights 12–14, counted
        from 0) and the release (night 28 on) stay where they are whatever the count.
    seed : int
        Seed of the noise: the same arguments give the same frame.

    Returns
    -------
    polars.DataFrame
        One row per night: ``run`` (``nightly-01``…), ``time`` (datetime),
        ``requests``, ``rps``, ``error_rate`` (a fraction), ``p50_ms``, ``p95_ms``,
        ``p99_ms`` — the input of :func:`perflab.loadtest.run_changes`.

    Examples
    --------
    >>> h = history()
    >>> h.height, h.columns[:3]
    (40, ['run', 'time', 'requests'])
    >>> bool(h["p95_ms"][30:].median() > 1.2 * h["p95_ms"][:28].median())
    True
    """
    rng = np.random.default_rng(seed)
    k = np.arange(nights)
    release = k >= 28
    noise = lambda sd: np.exp(rng.normal(0.0, sd, nights))  # noqa: E731
    p50 = 12.0 * np.where(release, 1.08, 1.0) * noise(0.04)
    p95 = 48.0 * np.where(release, 1.30, 1.0) * noise(0.04)
    p99 = 95.0 * np.where(release, 1.40, 1.0) * noise(0.05)
    rps = 850.0 * np.where(release, 0.95, 1.0) * noise(0.01)
    incident = (k >= 12) & (k <= 14)
    error_rate = np.where(incident, 0.03, 0.002) * noise(0.15)
    start = datetime(2026, 10, 1, 2, 0)
    return pl.DataFrame(
        {
            "run": [f"nightly-{i + 1:02d}" for i in k],
            "time": [start + timedelta(days=int(i)) for i in k],
            "requests": np.round(rps * 600).astype(np.int64),
            "rps": np.round(rps, 2),
            "error_rate": np.round(error_rate, 5),
            "p50_ms": np.round(p50, 2),
            "p95_ms": np.round(p95, 2),
            "p99_ms": np.round(p99, 2),
        }
    )


def write_samples(dest: str | Path) -> list[Path]:
    """Write the generated load-test sample under ``dest/loadtest/``; return its path.

    Parameters
    ----------
    dest : str or Path
        The sample folder (``data/sample``); ``loadtest/`` is created under it. The
        file is written atomically, replacing an earlier generated one.

    Returns
    -------
    list of Path
        The file written: ``dest/loadtest/history.csv`` (:func:`history` as CSV).

    Examples
    --------
    >>> import tempfile
    >>> [p.name for p in write_samples(tempfile.mkdtemp())]
    ['history.csv']
    """
    out = Path(dest) / "loadtest"
    frame = history()
    return [write_atomic(out / HISTORY, frame.write_csv)]

"""The generated monitoring sample: ``data/sample/monitoring/latency.parquet``.

Real-format samples (Prometheus, OTLP …) come from running the real software and are
kept as files (``data/make/monitoring_real.py``; see ``data/README.md``). What is
generated here is volume: seeded, so the same call always writes the same bytes,
and shaped to tell a story the notebook can find. ``make samples`` reaches
:func:`write_samples` through :mod:`perflab.samples`.

The story (:func:`latency_samples`), 24 hours of request latencies of one web
service on two hosts:

* ``http.server.duration`` (ms) for four routes with a daily load curve; the
  ``/api/search`` route gets about 35 % slower after a deploy at 16:00 UTC;
  ``/api/cart`` has a heavy tail (rare multi-second stalls);
* ``db.query.duration`` (ms), steady;
* ``process.memory.rss`` (bytes) every minute per host, slowly leaking on ``web-2``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from perflab.frames import UTC_DATETIME, write_atomic
from perflab.monitoring.schema import METRICS

__all__ = ["SAMPLE_START", "latency_samples", "write_samples"]

logger = logging.getLogger(__name__)

SAMPLE_START = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
"""Start of the generated monitoring day."""

_ROUTES = {
    # route: (median ms, lognormal sigma, requests per hour at peak)
    "/": (42.0, 0.35, 900),
    "/api/search": (120.0, 0.45, 1200),
    "/api/cart": (85.0, 0.55, 500),
    "/static/app.js": (6.0, 0.30, 700),
}
_DEPLOY = SAMPLE_START + timedelta(hours=16)


def _arrivals(rng: np.random.Generator, per_hour_peak: float, hours: int) -> np.ndarray:
    """Seconds since start of a Poisson process with a daily load curve."""
    # Thinning: candidates at peak rate, kept with probability load(t) in [0.2, 1].
    n = rng.poisson(per_hour_peak * hours)
    t = np.sort(rng.uniform(0.0, hours * 3600.0, n))
    hour = (t / 3600.0) % 24
    load = 0.6 - 0.4 * np.cos((hour - 3.0) / 24.0 * 2 * np.pi)  # trough 03:00, peak 15:00
    return t[rng.uniform(0, 1, n) < load]


def latency_samples(seed: int = 7, hours: int = 24) -> pl.DataFrame:
    """Generate the monitoring sample: request, query and memory metrics.

    Parameters
    ----------
    seed : int
        Seed of the generator; the same seed gives the same frame.
    hours : int
        Length of the generated period from :data:`SAMPLE_START`.

    Returns
    -------
    polars.DataFrame
        A ``METRICS`` frame with tag columns ``route`` and ``host``, sorted by time.

    Examples
    --------
    >>> df = latency_samples(hours=2)
    >>> sorted(df.get_column("name").unique().to_list())
    ['db.query.duration', 'http.server.duration', 'process.memory.rss']
    >>> df.schema["timestamp"]
    Datetime(time_unit='us', time_zone='UTC')
    """
    rng = np.random.default_rng(seed)
    parts: list[pl.DataFrame] = []
    deploy_s = (_DEPLOY - SAMPLE_START).total_seconds()
    for route, (median, sigma, rate) in _ROUTES.items():
        t = _arrivals(rng, rate, hours)
        hour = (t / 3600.0) % 24
        busy = 1.0 + 0.06 * np.clip(np.sin((hour - 9.0) / 24.0 * 2 * np.pi), 0, None)
        v = median * busy * rng.lognormal(0.0, sigma, t.size)
        if route == "/api/search":
            v = np.where(t >= deploy_s, v * 1.35, v)
        if route == "/api/cart":
            stall = rng.uniform(0, 1, t.size) < 0.012
            v = np.where(stall, v + rng.uniform(1500, 4000, t.size), v)
        parts.append(_frame("http.server.duration", "ms", t, v, route, rng))
    t = _arrivals(rng, 2500, hours)
    parts.append(_frame("db.query.duration", "ms", t, rng.gamma(2.0, 2.2, t.size), "", rng))
    minutes = np.arange(0, hours * 60) * 60.0
    for host, leak_per_hour in (("web-1", 0.0), ("web-2", 9e6)):
        rss = 310e6 + leak_per_hour * minutes / 3600.0 + rng.normal(0, 6e6, minutes.size)
        parts.append(_frame("process.memory.rss", "bytes", minutes, rss, "", rng, host=host))
    df = pl.concat(parts, how="vertical").sort("timestamp", maintain_order=True)
    return METRICS.validate(df)


def _frame(
    name: str,
    unit: str,
    seconds: np.ndarray,
    values: np.ndarray,
    route: str,
    rng: np.random.Generator,
    *,
    host: str | None = None,
) -> pl.DataFrame:
    hosts = (
        np.full(seconds.size, host)
        if host
        else np.where(rng.uniform(0, 1, seconds.size) < 0.5, "web-1", "web-2")
    )
    start_us = int(SAMPLE_START.timestamp() * 1_000_000)
    return pl.DataFrame(
        {
            "name": pl.Series([name] * seconds.size, dtype=pl.String),
            "value": np.round(values, 3),
            "unit": pl.Series([unit] * seconds.size, dtype=pl.String),
            "timestamp": pl.Series(start_us + (seconds * 1e6).astype(np.int64)).cast(UTC_DATETIME),
            "route": pl.Series([route or None] * seconds.size, dtype=pl.String),
            "host": pl.Series(hosts, dtype=pl.String),
        }
    )


def write_samples(dest: str | Path = "data/sample", *, seed: int = 7) -> list[Path]:
    """Write the generated monitoring files under ``dest/monitoring/``; return their paths.

    Files are written atomically; real-format samples in ``dest`` are left alone.

    Examples
    --------
    >>> import tempfile
    >>> [p.name for p in write_samples(tempfile.mkdtemp())]
    ['latency.parquet']
    """
    frame = latency_samples(seed)
    path = write_atomic(
        Path(dest) / "monitoring" / "latency.parquet",
        lambda fh: frame.write_parquet(fh, compression="zstd", statistics=False),
    )
    logger.info("wrote %s", path)
    return [path]

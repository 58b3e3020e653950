"""read_metrics on a 2M-row metrics CSV vs pandas.read_csv + pd.to_datetime(utc=True).

Both sides read the same file in the same process; the pandas side does only what a
user would do by hand (read, parse UTC times), without perflab's row checks. Prints the
median of several runs for each and the ratio, for the plain CSV and for the same file
gzipped (``.csv.gz``: both sides decompress in memory).

    .venv/bin/python benchmarks/bench_monitoring_read.py [--rows 2000000] [--runs 5]
"""

from __future__ import annotations

import argparse
import gzip
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
from _timing import interleaved

from perflab.monitoring.read import read_metrics


def make_csv(path: Path, rows: int) -> None:
    rng = np.random.default_rng(0)
    start = np.datetime64("2024-05-01T00:00:00", "ms")
    times = start + np.sort(rng.integers(0, 86_400_000, rows)).astype("timedelta64[ms]")
    frame = pl.DataFrame(
        {
            "name": rng.choice(["http_request_duration", "db_query_duration"], rows),
            "value": np.round(rng.lognormal(3.0, 0.7, rows), 3),
            "unit": "ms",
            "timestamp": pl.Series(times).dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"),
            "route": rng.choice(["/api/items", "/checkout", "/search", "/login"], rows),
            "host": rng.choice([f"web-{i}" for i in range(8)], rows),
        }
    )
    frame.write_csv(path)


def with_pandas(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path)
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True)
    return df


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "metrics.csv"
        make_csv(path, args.rows)
        packed = path.with_name("metrics.csv.gz")
        packed.write_bytes(gzip.compress(path.read_bytes(), compresslevel=6))
        size_mb = path.stat().st_size / 1e6
        print(f"input: {args.rows:,} rows, {size_mb:.0f} MB CSV; median of {args.runs} runs")
        for label, file in (("csv", path), ("csv.gz", packed)):
            (ours, frame), (peer, pdf) = (
                (t.median, t.result)
                for t in interleaved(
                    [lambda f=file: read_metrics(f), lambda f=file: with_pandas(f)], args.runs
                )
            )
            check(frame, pdf, args.rows)
            print(f"[{label}] perflab read_metrics           {ours:8.3f} s")
            print(f"[{label}] pandas read_csv + to_datetime  {peer:8.3f} s")
            print(f"[{label}] ratio (pandas / perflab)       {peer / ours:8.2f}x")


def check(frame: object, pdf: object, rows: int) -> None:
    """Both sides read the same rows and the same instants."""
    assert isinstance(frame, pl.DataFrame) and isinstance(pdf, pd.DataFrame)
    assert frame.height == len(pdf) == rows
    assert (
        frame.get_column("timestamp").dt.epoch("ms").to_numpy()
        == pdf["timestamp"].dt.tz_localize(None).to_numpy().astype("datetime64[ms]").astype("int64")
    ).all()


if __name__ == "__main__":
    main()

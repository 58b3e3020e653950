"""Importers of command and code benchmarks (private): hyperfine, pytest-benchmark, asv.

Each is one JSON document: a structural problem raises
:class:`~perflab.errors.InputError` naming the JSON path (``results[2].times[5]``)
since there are no lines to name; with ``errors="skip"`` the entries that cannot be
read are dropped and counted in the warning. See :mod:`perflab.loadtest.read`.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from typing import Any

import polars as pl

from perflab.errors import InputError
from perflab.loadtest._read_common import requests_frame, summary_frame
from perflab.loadtest.schema import REQUESTS, SUMMARY
from perflab.sources import Source

__all__ = ["asv", "hyperfine", "pytest_benchmark"]

logger = logging.getLogger(__name__)


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _runs(
    names: Sequence[str], seconds: Sequence[float | None], errors: Sequence[str | None]
) -> pl.DataFrame:
    n = len(names)
    return requests_frame(
        n,
        {
            "latency_ms": pl.Series([None if s is None else s * 1000.0 for s in seconds]),
            "error": pl.Series(errors, dtype=pl.String),
            "name": pl.Series(names, dtype=pl.String),
        },
    )


def hyperfine(src: Source, doc: Any) -> pl.DataFrame:
    """``hyperfine --export-json`` → REQUESTS, one row per timed run."""
    results = doc.get("results") if isinstance(doc, dict) else None
    if not isinstance(results, list):
        raise InputError(src.name, None, "no 'results' list: not hyperfine --export-json output")
    names: list[str] = []
    secs: list[float | None] = []
    errs: list[str | None] = []
    for i, res in enumerate(results):
        times = res.get("times") if isinstance(res, dict) else None
        if not isinstance(times, list) or not all(_is_num(t) for t in times):
            src.bad.add(None, f"results[{i}]: no 'times' list of numbers")
            continue
        codes = res.get("exit_codes")
        if codes is not None and (not isinstance(codes, list) or len(codes) != len(times)):
            src.bad.add(None, f"results[{i}]: 'exit_codes' does not match 'times'")
            continue
        command = str(res.get("command", f"command {i + 1}"))
        for j, t in enumerate(times):
            code = codes[j] if codes is not None else 0
            names.append(command)
            secs.append(float(t))
            if code == 0:
                errs.append(None)
            elif code is None:
                errs.append("killed by a signal")
            else:
                errs.append(f"exit {code}")
    frame = _runs(names, secs, errs) if names else REQUESTS.empty()
    return src.finish(frame, "no timed run in 'results'", what="runs")


def pytest_benchmark(src: Source, doc: Any) -> pl.DataFrame:
    """``--benchmark-json`` (or a saved run) → REQUESTS from ``stats.data``, else SUMMARY."""
    benches = doc.get("benchmarks") if isinstance(doc, dict) else None
    if not isinstance(benches, list):
        raise InputError(src.name, None, "no 'benchmarks' list: not pytest-benchmark JSON")
    good: list[tuple[str, dict[str, Any]]] = []
    for i, b in enumerate(benches):
        stats = b.get("stats") if isinstance(b, dict) else None
        if not isinstance(stats, dict):
            src.bad.add(None, f"benchmarks[{i}]: no 'stats' object")
            continue
        name = b.get("fullname") or b.get("name") or f"benchmark {i + 1}"
        data = stats.get("data")
        if data is not None and not (isinstance(data, list) and all(_is_num(x) for x in data)):
            src.bad.add(None, f"benchmarks[{i}].stats.data: not a list of numbers")
            continue
        good.append((str(name), stats))
    if good and all(s.get("data") is not None for _, s in good):
        names = [n for n, s in good for _ in s["data"]]
        secs = [float(x) for _, s in good for x in s["data"]]
        frame = _runs(names, secs, [None] * len(names)) if names else REQUESTS.empty()
        return src.finish(frame, "no timing in 'benchmarks'", what="runs")
    rows = []
    for i, (name, s) in enumerate(good):
        try:
            rows.append(_bench_row(name, s))
        except (TypeError, ValueError):
            src.bad.add(None, f"benchmarks[{i}].stats: a statistic is not a number")
    frame = summary_frame(rows) if rows else (REQUESTS.empty() if not good else SUMMARY.empty())
    return src.finish(frame, "no benchmark in 'benchmarks'", what="rows")


def _bench_row(name: str, s: dict[str, Any]) -> dict[str, Any]:
    def ms(key: str) -> float | None:
        v = s.get(key)
        if v is None:
            return None
        if not _is_num(v):
            raise TypeError(key)
        return float(v) * 1000.0

    rounds = s.get("rounds")
    return {
        "name": name,
        "requests": None if rounds is None else int(rounds),
        "errors": 0,
        "duration_s": None if s.get("total") is None else float(s["total"]),
        "rps": None if s.get("ops") is None else float(s["ops"]),
        "error_rate": 0.0,
        "mean_ms": ms("mean"),
        "min_ms": ms("min"),
        "p50_ms": ms("median"),
        "max_ms": ms("max"),
    }


def asv(src: Source, doc: Any) -> pl.DataFrame:
    """An asv results file → REQUESTS from recorded samples, else SUMMARY."""
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), dict):
        raise InputError(src.name, None, "no 'results' object: not an asv results file")
    columns = doc.get("result_columns")
    if not isinstance(columns, list):
        raise InputError(
            src.name,
            None,
            "no 'result_columns': results of asv < 0.5 (api version 1) are not read; "
            "'asv update' converts them",
        )
    col = {c: k for k, c in enumerate(columns)}
    entries: list[tuple[str, float | None, list[float] | None, int | None]] = []
    skipped: list[str] = []
    for bench, row in doc["results"].items():
        kind = str(bench).rsplit(".", 1)[-1]
        if not kind.startswith("time"):
            skipped.append(str(bench))
            continue
        if not isinstance(row, list):
            src.bad.add(None, f"results[{bench!r}]: not a list")
            continue

        def get(key: str, row: list[Any] = row) -> Any:
            k = col.get(key)
            return row[k] if k is not None and k < len(row) else None

        result, params = get("result"), get("params") or []
        samples, repeat = get("samples"), get("stats_repeat")
        combos = list(itertools.product(*params)) if params else [()]
        if not isinstance(result, list) or len(result) != len(combos):
            src.bad.add(None, f"results[{bench!r}]: 'result' does not match 'params'")
            continue
        for k, combo in enumerate(combos):
            label = f"{bench}({', '.join(map(str, combo))})" if combo else str(bench)
            value = result[k]
            sample = samples[k] if isinstance(samples, list) and k < len(samples) else None
            reps = repeat[k] if isinstance(repeat, list) and k < len(repeat) else None
            if value is not None and not _is_num(value):
                src.bad.add(None, f"results[{bench!r}]: result {value!r} is not a number")
                continue
            if sample is not None and not all(_is_num(x) for x in sample):
                src.bad.add(None, f"results[{bench!r}]: samples are not numbers")
                continue
            entries.append((label, value, sample, reps))
    if skipped:
        logger.info("%s: not timings, skipped: %s", src.name, ", ".join(skipped))
    if (
        entries
        and all(s is not None or v is None for _, v, s, _ in entries)
        and any(s is not None for _, _, s, _ in entries)
    ):
        names: list[str] = []
        secs: list[float | None] = []
        errs: list[str | None] = []
        for label, value, sample, _ in entries:
            if value is None:  # the benchmark failed: asv recorded no time
                names.append(label)
                secs.append(None)
                errs.append("benchmark failed")
                continue
            names += [label] * len(sample or [])
            secs += [float(x) for x in sample or []]
            errs += [None] * len(sample or [])
        return src.finish(_runs(names, secs, errs), "no timing benchmark", what="runs")
    rows = [
        {
            "name": label,
            "requests": reps if value is not None else 0,
            "errors": 0 if value is not None else 1,
            "error_rate": 0.0 if value is not None else 1.0,
            "p50_ms": None if value is None else float(value) * 1000.0,
        }
        for label, value, _, reps in entries
    ]
    frame = summary_frame(rows) if rows else REQUESTS.empty()
    return src.finish(frame, "no timing benchmark (time_*) in 'results'", what="rows")

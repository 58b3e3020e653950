"""Pass or fail a whole run: the gate a scheduled batch ends with.

``perflab check [RUN]`` (and :func:`check_run`) looks at one run — the latest by
default — and fails when

- a notebook failed or timed out (it produced no evidence: a broken input is not a
  pass);
- a headline figure breaks a limit the team set (``--limit "api/p95_ms<=300"``);
- a headline figure regressed against the runs before it, by the stated rule below;
- a finding at or above a severity is present (``--fail-on critical``), when asked.

The regression rule
-------------------
A figure with a direction (``better`` = ``lower`` or ``higher``) regressed when, with
at least ``min_runs`` earlier runs among the last ``runs``, its value is worse than
*every* earlier value **and** worse than their median by more than ``margin`` (a
fraction of the median). The first part keeps normal run-to-run noise from failing a
job (a value inside the range seen before passes); the second keeps a new record that
is only a hair past it from failing. A sustained level shift found later by
:func:`perflab.report.trend` (E-Divisive) shows in the overview; this gate judges the
run at hand, which a change-point test cannot do until runs after it exist.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Literal

import polars as pl

from perflab.errors import ParameterError, positive_int
from perflab.recommend import SEVERITIES
from perflab.report.export import load_run, resolve_run
from perflab.report.overview import load

__all__ = ["CHECKS", "Limit", "check_run", "parse_limit"]

CHECKS = {
    "check": pl.String,
    "subject": pl.String,
    "value": pl.Float64,
    "limit": pl.String,
    "passed": pl.Boolean,
    "detail": pl.String,
}
"""Columns of :func:`check_run`'s frame: one row per check made."""

_LIMIT = re.compile(r"^\s*([A-Za-z0-9_.-]+)/([A-Za-z0-9_.%-]+)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*$")

Op = Literal["<=", ">=", "<", ">"]


class Limit(tuple[str, str, str, float]):
    """``(notebook, figure, op, bound)``: a figure's value must satisfy ``value op bound``."""

    __slots__ = ()

    def __new__(cls, notebook: str, figure: str, op: str, bound: float) -> Limit:
        """Make a limit (see :func:`parse_limit`)."""
        return super().__new__(cls, (notebook, figure, op, float(bound)))

    def holds(self, value: float) -> bool:
        """Whether ``value`` satisfies the limit."""
        op, bound = self[2], self[3]
        return {
            "<=": value <= bound,
            ">=": value >= bound,
            "<": value < bound,
            ">": value > bound,
        }[op]

    def __str__(self) -> str:
        return f"{self[0]}/{self[1]} {self[2]} {self[3]:g}"


def parse_limit(text: str) -> Limit:
    """Read ``"notebook/figure<=value"`` (or ``>=``, ``<``, ``>``).

    Raises
    ------
    ParameterError
        When the text is not of that form.

    Examples
    --------
    >>> str(parse_limit("api/p95_ms <= 300"))
    'api/p95_ms <= 300'
    >>> parse_limit("p95 300")
    Traceback (most recent call last):
    ...
    perflab.errors.ParameterError: limit 'p95 300' is not NOTEBOOK/FIGURE<=VALUE (or >=, <, >)
    """
    found = _LIMIT.match(text)
    if not found:
        raise ParameterError(f"limit {text!r} is not NOTEBOOK/FIGURE<=VALUE (or >=, <, >)")
    notebook, figure, op, bound = found.groups()
    try:
        value = float(bound)
    except ValueError:
        raise ParameterError(f"limit {text!r}: {bound!r} is not a number") from None
    return Limit(notebook, figure, op, value)


def _row(
    check: str, subject: str, value: float | None, limit: str, passed: bool, detail: str
) -> dict[str, object]:
    return {
        "check": check,
        "subject": subject,
        "value": value,
        "limit": limit,
        "passed": passed,
        "detail": detail,
    }


def check_run(
    run: str | os.PathLike[str] | None = None,
    reports: str | os.PathLike[str] = "reports",
    *,
    limits: Iterable[Limit | str] = (),
    regressions: bool = True,
    runs: int = 20,
    min_runs: int = 3,
    margin: float = 0.1,
    fail_on: str | None = None,
) -> pl.DataFrame:
    """Every check of a run, passed or not (see the module docstring for the rules).

    Parameters
    ----------
    run : str or path, optional
        A run id under ``reports`` or a run directory; default the latest run.
    reports : path
        The reports directory.
    limits : iterable of Limit or str
        Limits on figures (``"api/p95_ms<=300"``). A limit on a figure the run did
        not record fails: a gate must not pass because its figure went missing.
    regressions : bool
        Check each figure against the earlier runs.
    runs : int
        How many runs (this one included) the regression check looks at.
    min_runs : int
        Fewest earlier runs the regression check needs for a figure.
    margin : float
        How far past the earlier median (a fraction of it) a record must be to fail.
    fail_on : str, optional
        A severity (``critical``, ``high`` …): fail when a finding of it or worse is
        present.

    Returns
    -------
    polars.DataFrame
        :data:`CHECKS`, failures first. The run passes when ``passed`` is all true.

    Raises
    ------
    ParameterError
        No such run, a malformed limit, or bad numbers.

    Examples
    --------
    >>> import json, tempfile
    >>> from pathlib import Path
    >>> d = Path(tempfile.mkdtemp()) / "r1"; d.mkdir()
    >>> _ = (d / "manifest.json").write_text(json.dumps({"run_id": "r1", "notebooks": [
    ...     {"name": "api", "status": "ok", "figures": [{"name": "p95_ms", "value": 340,
    ...      "unit": "ms", "better": "lower"}]}]}))
    >>> check_run(d, limits=["api/p95_ms<=300"]).select("check", "passed").rows()
    [('limit', False), ('notebook', True)]
    """
    runs = positive_int("runs", runs)
    min_runs = positive_int("min_runs", min_runs)
    if not margin >= 0:
        raise ParameterError(f"margin must be 0 or more, not {margin!r}")
    if fail_on is not None and fail_on not in SEVERITIES:
        raise ParameterError(f"fail_on must be one of {', '.join(SEVERITIES)}, not {fail_on!r}")
    parsed = [lim if isinstance(lim, Limit) else parse_limit(lim) for lim in limits]
    run_dir = resolve_run(run, reports)
    overview = load(run_dir)
    rows: list[dict[str, object]] = []
    notebooks = load_run(run_dir)["notebooks"]
    if not notebooks:  # a batch that ran nothing produced no evidence: not a pass
        rows.append(_row("notebook", "(none)", None, "at least one", False, "the run is empty"))
    for nb in notebooks:
        status = str(nb.get("status"))
        first = str(nb.get("error") or "").strip().partition("\n")[0]
        rows.append(
            _row(
                "notebook",
                str(nb["name"]),
                None,
                "status ok",
                status == "ok",
                status if status == "ok" else f"{status}: {first}",
            )
        )
    values = {
        (book, fig): value
        for book, fig, value in overview.figures.select("notebook", "figure", "value").iter_rows()
    }
    for lim in parsed:
        got = values.get((lim[0], lim[1]))
        if got is None:
            rows.append(
                _row(
                    "limit",
                    f"{lim[0]}/{lim[1]}",
                    None,
                    str(lim),
                    False,
                    "the run did not record this figure",
                )
            )
        else:
            ok = lim.holds(got)
            rows.append(
                _row(
                    "limit",
                    f"{lim[0]}/{lim[1]}",
                    got,
                    str(lim),
                    ok,
                    f"{got:g} {'within' if ok else 'breaks'} {lim[2]} {lim[3]:g}",
                )
            )
    if regressions:
        rows.extend(_regressions(overview.history, overview.run_id, runs, min_runs, margin))
    if fail_on is not None:
        worst = SEVERITIES.index(fail_on)
        hits = overview.recommendations.filter(
            pl.col("severity").is_in(list(SEVERITIES[: worst + 1]))
        )
        detail = (
            "; ".join(
                f"{r['notebook']}: {r['rule']} {r['subject']}"
                for r in hits.head(5).iter_rows(named=True)
            )
            or "none"
        )
        rows.append(
            _row(
                "findings",
                f"severity {fail_on} or worse",
                float(hits.height),
                "0 findings",
                hits.height == 0,
                detail,
            )
        )
    return pl.DataFrame(rows, schema=CHECKS).sort("passed", maintain_order=True)


def _regressions(
    history: pl.DataFrame, run_id: str, runs: int, min_runs: int, margin: float
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    recent = history.sort("started_at", "run_id")
    for (notebook, figure), series in recent.group_by(["notebook", "figure"], maintain_order=True):
        series = series.tail(runs)
        here = series.filter(pl.col("run_id") == run_id)
        better = here.get_column("better")[0] if here.height else None
        if here.height == 0 or better not in ("lower", "higher"):
            continue
        value = float(here.get_column("value")[0])
        earlier = series.filter(pl.col("run_id") != run_id).get_column("value")
        subject = f"{notebook}/{figure}"
        if earlier.len() < min_runs:
            continue
        median = float(earlier.median())  # type: ignore[arg-type]
        lo, hi = float(earlier.min()), float(earlier.max())  # type: ignore[arg-type]
        if better == "lower":
            record, past = value > hi, value - median > margin * abs(median)
        else:
            record, past = value < lo, median - value > margin * abs(median)
        regressed = record and past
        detail = (
            f"{value:g} against {earlier.len()} earlier runs (median {median:g}, "
            f"range {lo:g}–{hi:g}); {better} is better"
        )
        rows.append(
            _row(
                "regression",
                subject,
                value,
                f"within the earlier range or ±{margin:.0%} of the median",
                not regressed,
                ("regressed: " if regressed else "") + detail,
            )
        )
    return rows

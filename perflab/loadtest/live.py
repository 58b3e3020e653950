"""The notebook's live mode: a baseline, a candidate and a closed-model view, run now."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from perflab.loadtest.generator import RateSpec, run
from perflab.loadtest.sample_server import SampleServer

__all__ = ["live_runs"]


def live_runs(
    target: str | None = None,
    *,
    rate: RateSpec = 400.0,
    duration: float = 20.0,
    scenario: Sequence[Any] | None = None,
    workers: int | None = 0,
    candidate: Mapping[str, Any] | None = None,
    users: int = 4,
    think_time: float = 0.01,
) -> dict[str, pl.DataFrame]:
    """Run a baseline, a candidate and the candidate as a closed-model tool sees it.

    Parameters
    ----------
    target : str, optional
        A URL to test twice (then the comparison is a repeatability check); default
        :class:`~perflab.loadtest.sample_server.SampleServer`, once as it is and once
        as a candidate build with the ``candidate`` settings.
    rate : float or sequence of (seconds, rate)
        The open model's arrival rate, or a ramp (then ``duration`` is ignored for the
        open-model runs and the closed-model run lasts ``duration``).
    duration : float
        Seconds of each run.
    scenario : list, optional
        What to send (see :func:`perflab.loadtest.run`).
    workers : int, optional
        Load-generator processes (0: a thread of this process).
    candidate : mapping, optional
        :class:`SampleServer` settings of the candidate build; default
        ``slowdown=1.25, stall_every=4.0, stall_ms=150.0``.
    users, think_time : int, float
        The closed-model view: users, and seconds each waits between requests.

    Returns
    -------
    dict of str to polars.DataFrame
        ``baseline``, ``candidate`` and ``closed``: REQUESTS frames.

    Examples
    --------
    >>> runs = live_runs(rate=100, duration=0.3, candidate={"slowdown": 2.0})
    >>> sorted(runs), runs["baseline"].height
    (['baseline', 'candidate', 'closed'], 30)
    """
    ramp = not isinstance(rate, int | float)
    settings = dict(candidate or {"slowdown": 1.25, "stall_every": 4.0, "stall_ms": 150.0})

    def opened(url: str) -> pl.DataFrame:
        return run(
            url,
            rate=rate,
            duration=None if ramp else duration,
            scenario=scenario,
            workers=workers,
        )

    def closed(url: str) -> pl.DataFrame:
        return run(
            url,
            users=users,
            think_time=think_time,
            duration=duration,
            scenario=scenario,
            workers=workers,
        )

    if target:
        return {"baseline": opened(target), "candidate": opened(target), "closed": closed(target)}
    with SampleServer() as server:
        base = opened(server.url)
    with SampleServer(**settings) as server:
        return {"baseline": base, "candidate": opened(server.url), "closed": closed(server.url)}

"""Choosing the windows to compare when the user has not said."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from perflab.errors import ParameterError
from perflab.frames import FrameLike
from perflab.monitoring.validate import metrics_frame
from perflab.times import instant

__all__ = ["split_windows"]


def split_windows(
    df: FrameLike, *, split: datetime | str | None = None, hours: float = 8.0
) -> tuple[tuple[datetime, datetime], tuple[datetime, datetime]]:
    """Baseline and current windows of ``hours`` each, either side of ``split``.

    Parameters
    ----------
    df : frame-like
        A ``METRICS`` frame; its last timestamp is the default end.
    split : datetime or ISO-8601 str, optional
        Where current begins (naive values are UTC). Default: ``hours`` before the
        end of the minute holding the last sample, so the last ``hours`` are compared
        with the ``hours`` before them.
    hours : float
        Length of each window.

    Returns
    -------
    ((baseline_start, baseline_end), (current_start, current_end))
        Half-open UTC intervals, ready for :func:`perflab.monitoring.compare_windows`.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> import polars as pl
    >>> t = [datetime(2026, 1, 1, 0, tzinfo=UTC), datetime(2026, 1, 1, 9, 59, 30, tzinfo=UTC)]
    >>> f = pl.DataFrame({"name": ["a", "a"], "value": [1.0, 2.0], "unit": ["ms", "ms"],
    ...     "timestamp": t})
    >>> (b0, b1), (c0, c1) = split_windows(f, hours=4)
    >>> b0.hour, b1.hour, c0.hour, c1.hour
    (2, 6, 6, 10)
    """
    frame = metrics_frame(df)
    if frame.height == 0:
        raise ParameterError("cannot choose comparison windows on an empty frame")
    if not math.isfinite(hours) or hours <= 0:
        raise ParameterError(f"hours must be positive, not {hours}")
    width = timedelta(hours=hours)
    last = frame.get_column("timestamp").max()
    assert isinstance(last, datetime)
    if split is None:
        end = last.replace(second=0, microsecond=0) + timedelta(minutes=1)
        start = end - width
    else:
        start = instant(split, what="split")
    return (start - width, start), (start, start + width)

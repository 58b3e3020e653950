"""Headline figures: what a notebook records so the run can show and trend it.

Inside a report run the runner sets ``PERFLAB_FIGURES`` to a JSON-lines file for each
notebook; :func:`figure` appends one line per call there, and the worker reads the file
back into the run manifest. Outside a run (JupyterLab) figures are kept in a list in
the process (:func:`recorded`). Only the standard library is imported here: this
module is loaded in every kernel.
"""

from __future__ import annotations

import json
import logging
import math
import numbers
import os
import threading
from pathlib import Path
from typing import Any, Literal, TypedDict

from perflab.errors import ParameterError

__all__ = ["BETTER", "FIGURES_ENV", "Better", "Figure", "figure", "read_figures", "recorded"]

logger = logging.getLogger(__name__)

FIGURES_ENV = "PERFLAB_FIGURES"
"""Environment variable naming the JSON-lines file that :func:`figure` appends to."""

Better = Literal["lower", "higher"] | None
BETTER: tuple[str | None, ...] = ("lower", "higher", None)
"""Allowed values of ``better``: which direction of change is an improvement."""


class Figure(TypedDict):
    """One recorded headline figure (a row of the manifest's ``figures``)."""

    name: str
    value: float
    unit: str
    better: str | None
    label: str | None


_recorded: list[Figure] = []
_lock = threading.Lock()


def _validate(
    name: Any, value: Any, unit: Any, better: Any, label: Any, *, where: str = "figure"
) -> Figure:
    if not isinstance(name, str) or not name.strip():
        raise ParameterError(f"{where}: name must be a non-empty string, not {name!r}")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(f"{where} {name!r}: value must be a number, not {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ParameterError(f"{where} {name!r}: value must be finite, not {number!r}")
    if not isinstance(unit, str):
        raise ParameterError(f"{where} {name!r}: unit must be a string, not {unit!r}")
    if better not in BETTER:
        raise ParameterError(
            f"{where} {name!r}: better must be 'lower', 'higher' or None, not {better!r}"
        )
    if label is not None and not isinstance(label, str):
        raise ParameterError(f"{where} {name!r}: label must be a string or None, not {label!r}")
    return Figure(name=name, value=number, unit=unit, better=better, label=label)


def figure(
    name: str,
    value: float,
    unit: str = "",
    better: Better = "lower",
    label: str | None = None,
) -> None:
    """Record a headline figure of the current notebook.

    In a report run the figure goes to the run's manifest and history (so the index
    page shows it with its trend and change); outside a run it is kept in
    :func:`recorded`.

    Parameters
    ----------
    name : str
        Stable identifier of the figure within the notebook (``"p95_ms"``); the
        history is keyed by notebook and name.
    value : float
        A finite real number.
    unit : str
        Unit shown next to the value (``"ms"``, ``"%"``).
    better : {"lower", "higher", None}
        Which direction of change is an improvement; ``None`` for neutral figures.
    label : str, optional
        Human-readable title for the dashboard; defaults to ``name`` there.

    Raises
    ------
    ParameterError
        When the value is not a finite number or ``better`` is not allowed.

    Examples
    --------
    >>> figure("p95_ms", 231.5, "ms", better="lower", label="p95 latency")
    >>> recorded()[-1]
    {'name': 'p95_ms', 'value': 231.5, 'unit': 'ms', 'better': 'lower', 'label': 'p95 latency'}
    >>> figure("p95_ms", float("nan"))
    Traceback (most recent call last):
    ...
    perflab.errors.ParameterError: figure 'p95_ms': value must be finite, not nan
    """
    fig = _validate(name, value, unit, better, label)
    with _lock:
        _recorded.append(fig)
        target = os.environ.get(FIGURES_ENV)
        if target:
            line = json.dumps(fig, ensure_ascii=False) + "\n"
            with open(target, "a", encoding="utf-8") as fh:
                fh.write(line)


def recorded() -> list[Figure]:
    """Figures recorded by :func:`figure` in this process, oldest first.

    Examples
    --------
    >>> figure("hit_ratio", 0.93, better="higher")
    >>> recorded()[-1]["name"]
    'hit_ratio'
    """
    with _lock:
        return list(_recorded)


def read_figures(path: str | os.PathLike[str]) -> list[Figure]:
    """Read the figures a notebook appended to ``path`` (JSON lines).

    A missing file means no figures. Lines that do not parse or validate are skipped
    with a warning (a notebook may have been killed mid-write). A figure recorded more
    than once keeps its last value, in the place it was first recorded (as in the
    history, see :func:`perflab.report.store.run_frame`).

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "f.jsonl"
    >>> _ = p.write_text('{"name": "rps", "value": 120, "unit": "1/s", "better": "higher"}\\n')
    >>> read_figures(p)
    [{'name': 'rps', 'value': 120.0, 'unit': '1/s', 'better': 'higher', 'label': None}]
    """
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    out: dict[str, Figure] = {}
    for number, line in enumerate(text.split("\n"), 1):  # not splitlines: U+2028 is data
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            if not isinstance(raw, dict):
                raise ParameterError("not a JSON object")
            fig = _validate(
                raw.get("name"),
                raw.get("value"),
                raw.get("unit", ""),
                raw.get("better"),
                raw.get("label"),
                where=f"{source}:{number}",
            )
        except (ValueError, ParameterError) as exc:
            logger.warning("%s:%d: skipped unreadable figure: %s", source, number, exc)
            continue
        out[fig["name"]] = fig
    return list(out.values())

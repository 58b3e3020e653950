"""``make samples``: regenerate the generated parts of ``data/sample/``, domain by domain.

Each domain that generates sample data has a ``samples`` module with a function
``write_samples(dest) -> list[Path]`` that writes under ``dest/<domain>/``
(atomically; real-format captures are left alone). This module only finds those
modules among :func:`perflab.domains` and calls them, so it imports no domain by
name and a new domain's generator is picked up without an edit here. A domain whose
samples are all real captures (memory, pooling, balancing, bundles, images) has no
``samples`` module: its scripts under ``data/make/`` rerun the real tools.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Sequence
from pathlib import Path

__all__ = ["generators", "write_samples"]

logger = logging.getLogger(__name__)


def generators() -> list[str]:
    """The domains that generate sample data (have a ``samples`` module), sorted.

    Examples
    --------
    >>> "monitoring" in generators()
    True
    """
    from perflab import domains

    return [d for d in domains() if importlib.util.find_spec(f"perflab.{d}.samples") is not None]


def write_samples(
    dest: str | Path = "data/sample", *, only: Sequence[str] | None = None
) -> list[Path]:
    """Run every domain's sample generator (or those in ``only``); return the files written.

    Examples
    --------
    >>> import tempfile
    >>> [p.name for p in write_samples(tempfile.mkdtemp(), only=["monitoring"])]
    ['latency.parquet']
    """
    from perflab.errors import ParameterError

    names = generators()
    if only is not None:
        unknown = sorted(set(only) - set(names))
        if unknown:
            raise ParameterError(f"no sample generator for {unknown}; there are {names}")
        names = [n for n in names if n in only]
    written: list[Path] = []
    for name in names:
        module = importlib.import_module(f"perflab.{name}.samples")
        paths = module.write_samples(Path(dest))
        for path in paths:
            logger.info("%s: wrote %s", name, path)
        written.extend(paths)
    return written

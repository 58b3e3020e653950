"""The memory domain's generated samples: none — every memory sample is a real capture.

``data/sample/memory/`` holds Node.js v20 ``--trace-gc`` / ``--trace-gc-nvp`` logs and
``process.memoryUsage()`` JSON lines written by Node itself
(``data/make/memory_real.py``; provenance in ``data/README.md``). ``make samples``
reaches :func:`write_samples` through :mod:`perflab.samples` and leaves them alone;
volume for benchmarks is built from the real capture (``benchmarks/bench_memory_read.py``).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["write_samples"]


def write_samples(dest: str | Path) -> list[Path]:
    """Write the generated memory samples under ``dest/memory/``: there are none.

    Parameters
    ----------
    dest : str or Path
        The sample root (``data/sample``).

    Returns
    -------
    list of Path
        Always empty: the real captures are not regenerated here.

    Examples
    --------
    >>> write_samples("data/sample")
    []
    """
    return []

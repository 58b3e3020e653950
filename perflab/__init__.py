"""perflab — a performance lab in Jupyter notebooks for web platforms.

Domains are subpackages, imported on first use::

    import perflab
    perflab.monitoring.summarize(frame)
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

DOMAINS: tuple[str, ...] = ("monitoring",)
"""The domain subpackages that exist in this version."""

_LAZY = (*DOMAINS, "report", "stats", "recommend", "charts", "frames", "errors", "samples")

__all__ = ["DOMAINS", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(f"perflab.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'perflab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)

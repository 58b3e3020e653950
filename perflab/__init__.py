"""perflab — a performance lab in Jupyter notebooks for web platforms.

Domains are subpackages, imported on first use::

    import perflab
    perflab.monitoring.summarize(frame)

A *domain* is any subpackage of ``perflab`` that has a ``schema.py`` (the canonical
frames every domain declares); :func:`domains` finds them, so a new domain adds its
folder and edits no list. ``perflab`` is a split package (:func:`pkgutil.extend_path`):
a ``perflab/<domain>/`` folder in another entry of ``sys.path`` joins it too, which
is how a team adds a domain of its own without touching this checkout.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from typing import Any

__path__ = pkgutil.extend_path(__path__, __name__)

__version__ = "0.1.0"

_CORE = (
    *("charts", "errors", "frames", "groupstats", "kernels", "lazy", "recommend", "report"),
    *("queueing", "samples", "sources", "stats", "times", "urls", "vega"),
)

__all__ = ["__version__", "domains", *_CORE]


def domains() -> list[str]:
    """The domain subpackages installed, sorted by name.

    Examples
    --------
    >>> "monitoring" in domains()
    True
    """
    found = set()
    for module in pkgutil.iter_modules(__path__):
        if module.ispkg and not module.name.startswith("_"):
            spec = importlib.util.find_spec(f"{__name__}.{module.name}")
            locations = spec.submodule_search_locations if spec else None
            if locations and any(
                name == "schema" for _, name, _ in pkgutil.iter_modules(list(locations))
            ):
                found.add(module.name)
    return sorted(found)


def __getattr__(name: str) -> Any:
    """Import ``perflab.<name>`` (a core module or a domain) on first use."""
    if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'perflab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*__all__, *domains()})

"""API responses: access logs and HAR files to per-route latency, size and cache facts.

Readers turn nginx access logs (parsed from your own ``log_format`` line), Apache
common/combined logs, JSON-lines logs and HAR 1.2 files into one :data:`REQUESTS`
frame (columns in :mod:`perflab.api.schema`); :func:`read_har_pages` gives a HAR's
page views. The analyses (route templating, per-route tables, compression, findings)
and the notebook follow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from perflab.api.schema import REQUESTS
from perflab.lazy import exports as _exports

if TYPE_CHECKING:
    from perflab.api.har import read_har, read_har_pages
    from perflab.api.read import read_apache_log, read_json_log, read_nginx_log

# name → the module that defines it, imported on first use.
_HOME = {
    "read_apache_log": "read",
    "read_har": "har",
    "read_har_pages": "har",
    "read_json_log": "read",
    "read_nginx_log": "read",
}

__all__ = [
    "REQUESTS",
    "read_apache_log",
    "read_har",
    "read_har_pages",
    "read_json_log",
    "read_nginx_log",
]

__getattr__, __dir__ = _exports(__name__, _HOME, __all__)

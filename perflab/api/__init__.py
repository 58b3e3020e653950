"""API responses: access logs and HAR files to per-route latency, size and cache facts.

Readers turn nginx access logs (parsed from your own ``log_format`` line), Apache
common/combined logs, JSON-lines logs and HAR 1.2 files into one :data:`REQUESTS`
frame (columns in :mod:`perflab.api.schema`); :func:`read_har_pages` gives a HAR's
page views. :func:`template_routes` groups paths into routes, :func:`endpoints` is the
route table, :func:`compression_savings` measures what gzip, brotli and zstd would save,
and :func:`findings` (the rules of :mod:`perflab.api.rules`) take those frames.
:func:`summarize_access_logs` gives the route table of many files, a glob or URLs,
parsed on a Dask cluster's workers when given a client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from perflab.api.schema import REQUESTS
from perflab.lazy import exports as _exports

if TYPE_CHECKING:
    from perflab.api.compression import (
        compression_candidates,
        compression_savings,
        compression_summary,
    )
    from perflab.api.har import read_har, read_har_pages
    from perflab.api.read import COMBINED, MAIN, read_apache_log, read_json_log, read_nginx_log
    from perflab.api.route_table import ENDPOINTS, endpoints
    from perflab.api.routes import load_routes_manifest, template_path, template_routes
    from perflab.api.rules import findings
    from perflab.api.summary import summarize_access_logs

# name → the module that defines it, imported on first use.
_HOME = {
    "COMBINED": "read",
    "MAIN": "read",
    "ENDPOINTS": "route_table",
    "compression_savings": "compression",
    "compression_candidates": "compression",
    "compression_summary": "compression",
    "endpoints": "route_table",
    "findings": "rules",
    "load_routes_manifest": "routes",
    "template_path": "routes",
    "template_routes": "routes",
    "read_apache_log": "read",
    "read_har": "har",
    "read_har_pages": "har",
    "read_json_log": "read",
    "read_nginx_log": "read",
    "summarize_access_logs": "summary",
}

__all__ = [
    "COMBINED",
    "ENDPOINTS",
    "MAIN",
    "REQUESTS",
    "compression_candidates",
    "compression_savings",
    "compression_summary",
    "endpoints",
    "findings",
    "load_routes_manifest",
    "read_apache_log",
    "read_har",
    "read_har_pages",
    "read_json_log",
    "read_nginx_log",
    "summarize_access_logs",
    "template_path",
    "template_routes",
]

__getattr__, __dir__ = _exports(__name__, _HOME, __all__)

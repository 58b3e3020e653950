"""CDN: edge logs to hit ratios and offload, a Cache-Control audit, ready-to-apply policies.

Readers turn CloudFront standard logs, Cloudflare Logpush and Fastly JSON logs into one
:data:`CDN_REQUESTS` frame (the API domain's request columns plus ``provider, edge,
country, ttfb_ms, origin_ms, cache_hit``; :mod:`perflab.cdn.schema`). :func:`hit_ratio`
gives request and byte hit ratio, origin offload and edge vs origin latency by any
dimension and over time (access logs with ``$upstream_cache_status`` too);
:func:`compare_providers` puts two CDNs side by side. :func:`audit_cache_headers`
checks each asset's ``Cache-Control`` (from a HAR or ``$sent_http_*`` log columns) and
:func:`cache_policy` writes the recommended headers as nginx, CloudFront, Vercel or
Netlify configuration. :func:`top_recommendations` ranks the rules of
:mod:`perflab.cdn.rules`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from perflab.cdn.schema import CDN_REQUESTS, PROVIDERS
from perflab.lazy import exports as _exports

if TYPE_CHECKING:
    from perflab.cdn.audit import audit_by_route, audit_cache_headers, header_summary
    from perflab.cdn.headers import asset_class, cache_directives, parse_cache_control
    from perflab.cdn.offload import add_prefix, compare_providers, hit_ratio
    from perflab.cdn.policy import CachePolicy, cache_policy, recommended_policies
    from perflab.cdn.read import read_cloudflare, read_cloudfront, read_fastly
    from perflab.cdn.rules import cache_findings, offload_findings, top_recommendations

# name → the module that defines it, imported on first use.
_HOME = {
    "CachePolicy": "policy",
    "add_prefix": "offload",
    "asset_class": "headers",
    "audit_by_route": "audit",
    "audit_cache_headers": "audit",
    "cache_directives": "headers",
    "cache_findings": "rules",
    "cache_policy": "policy",
    "compare_providers": "offload",
    "header_summary": "audit",
    "hit_ratio": "offload",
    "offload_findings": "rules",
    "parse_cache_control": "headers",
    "read_cloudflare": "read",
    "read_cloudfront": "read",
    "read_fastly": "read",
    "recommended_policies": "policy",
    "top_recommendations": "rules",
}

__all__ = [
    "CDN_REQUESTS",
    "PROVIDERS",
    "CachePolicy",
    "add_prefix",
    "asset_class",
    "audit_by_route",
    "audit_cache_headers",
    "cache_directives",
    "cache_findings",
    "cache_policy",
    "compare_providers",
    "header_summary",
    "hit_ratio",
    "offload_findings",
    "parse_cache_control",
    "read_cloudflare",
    "read_cloudfront",
    "read_fastly",
    "recommended_policies",
    "top_recommendations",
]

__getattr__, __dir__ = _exports(__name__, _HOME, __all__)

"""Ready-to-apply cache policies: the recommended headers per asset class, as config.

:func:`cache_policy` takes the paths a site serves (a requests frame, an audit, any
frame with ``path``), classes them (:func:`~perflab.cdn.headers.asset_class`), derives
path patterns from what it saw and writes the configuration for one target:

===============  ==============================================================
target           output
===============  ==============================================================
``nginx``        ``location`` blocks with ``add_header Cache-Control "…" always;``
                 (and ``etag on;`` where validators are wanted), to paste inside a
                 ``server {}`` block
``cloudfront``   JSON: one ``CachePolicyConfig`` per class (as ``aws cloudfront
                 create-cache-policy --cli-input-json`` takes it), one
                 ``ResponseHeadersPolicyConfig`` per class (sets Cache-Control
                 where the origin cannot be changed) and the cache behaviors'
                 ``PathPattern`` list, in precedence order
``vercel``       ``vercel.json``: ``{"headers": [{"source": …, "headers": [{"key":
                 "Cache-Control", "value": …}]}]}`` (path-to-regexp sources)
``netlify``      a ``_headers`` file: a path line, then ``  Cache-Control: …``
``headers``      a plain list: glob pattern, class and header — for any other
                 server or CDN
===============  ==============================================================

The recommended headers (:data:`RECOMMENDED`)
---------------------------------------------
======  ==================================================================
class   Cache-Control
======  ==================================================================
hashed  ``public, max-age=31536000, immutable`` — the URL changes with the
        content (RFC 8246; web.dev "Love your cache")
static  ``public, max-age=86400, stale-while-revalidate=604800`` — a day
        fresh, then a week served stale while refreshed (RFC 5861)
image   ``public, max-age=604800, stale-while-revalidate=2592000``
font    ``public, max-age=2592000, stale-while-revalidate=2592000``
html    ``public, max-age=0, s-maxage=60, stale-while-revalidate=86400`` —
        browsers revalidate (ETag → 304), the CDN keeps it a minute and
        refreshes it in the background
api     ``private, no-cache`` — personal by default; with
        ``shared_api=True`` ``public, max-age=0, s-maxage=60,
        stale-while-revalidate=300``
======  ==================================================================

Unhashed files get a day to a month, not a year: their URL does not change when they
do, so a long TTL would keep users on the old version; ``stale-while-revalidate``
(RFC 5861) hides the refresh. Every class but ``hashed`` wants an ETag or
Last-Modified. ``other`` paths (``robots.txt``, ``text/plain`` pages) get no rule.

How patterns are derived
------------------------
From coarse to fine, a pattern is kept only if the observed paths it newly matches
are all of its class and the paths it matches that already have a rule keep it —
judged with the target's own matching: nginx picks one location (``=``, then the
longest ``^~`` prefix, then the first regex), Vercel applies every match (the last
wins; an overlap of one class is harmless), Netlify applies every match and joins the
values, CloudFront takes the first behavior (perflab keeps Netlify, CloudFront and the
plain list free of overlaps). So each observed path gets exactly one header, of its
class:

1. a folder (``/_next/static/``, ``/img/``, ``/api/``) holding only one class; for
   ``hashed`` only a folder inside a known content-addressed one (``hashed_prefixes``)
   or one with at least three hashed files right in it (a folder with one may hold
   unhashed files too; ``/_next/`` also holds ``/_next/image``);
2. an extension (``*.png``) — never for ``hashed``: ``immutable`` on a file that is
   not content-addressed would pin a stale copy for a year;
3. (nginx, Vercel) a regex for the content hashes seen (``[.-][0-9a-f]{8,64}\\.js$``);
4. a folder and an extension (``/img/*.png``); (nginx, Vercel) a folder's hashed names;
5. (hashed) the file name with its hash as a wildcard (``/static/app.*.js``);
6. the exact path.

Paths with characters outside ``A-Z a-z 0-9 / . _ ~ @ -`` (percent-escapes, ``:``,
spaces) are left out of patterns (each target escapes them differently); they are
listed in :attr:`CachePolicy.unmatched` with the ``other`` paths.
"""

from __future__ import annotations

import json
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import polars as pl

from perflab.cdn.headers import HASHED_PREFIXES, ONE_YEAR_S, asset_class
from perflab.errors import ParameterError
from perflab.frames import FrameLike, as_frame, write_atomic

__all__ = [
    "RECOMMENDED",
    "TARGETS",
    "CachePolicy",
    "ClassPolicy",
    "cache_policy",
    "recommended_policies",
]

logger = logging.getLogger(__name__)

Target = Literal["nginx", "cloudfront", "vercel", "netlify", "headers"]
TARGETS: tuple[str, ...] = ("nginx", "cloudfront", "vercel", "netlify", "headers")
"""The configuration formats :func:`cache_policy` writes."""


@dataclass(frozen=True)
class ClassPolicy:
    """What one asset class should be served with.

    Parameters
    ----------
    asset_class : str
        The class (:data:`~perflab.cdn.headers.ASSET_CLASSES`).
    cache_control : str
        The ``Cache-Control`` value.
    ttl_s : int
        The shared-cache TTL it gives (``s-maxage``, else ``max-age``; 0 when
        ``private``/``no-cache``), for the expected hit ratio.
    validators : bool
        Whether the responses should carry an ETag (or Last-Modified).
    min_ttl_s, default_ttl_s, max_ttl_s : int
        The CloudFront cache policy's ``MinTTL``, ``DefaultTTL`` (used when the
        origin sends no Cache-Control) and ``MaxTTL``; all 0 disables caching.
    query_strings : {"none", "all"}
        CloudFront ``QueryStringBehavior``: hashed files ignore query strings (a
        better hit ratio), the rest keep them in the cache key (``?v=2`` busting).
    why : str
        One line of rationale, written into the generated config.
    """

    asset_class: str
    cache_control: str
    ttl_s: int
    validators: bool
    min_ttl_s: int
    default_ttl_s: int
    max_ttl_s: int
    query_strings: Literal["none", "all"]
    why: str


def recommended_policies(*, shared_api: bool = False) -> dict[str, ClassPolicy]:
    """The recommended :class:`ClassPolicy` per asset class.

    Parameters
    ----------
    shared_api : bool
        API GETs are the same for every user and may be cached by the CDN (a
        minute, five more served stale). Default: personal — ``private, no-cache``.

    Examples
    --------
    >>> recommended_policies()["hashed"].cache_control
    'public, max-age=31536000, immutable'
    >>> recommended_policies(shared_api=True)["api"].ttl_s
    60
    """
    day, week, month = 86_400, 604_800, 2_592_000
    out = {
        "hashed": ClassPolicy(
            "hashed", "public, max-age=31536000, immutable", ONE_YEAR_S, False,
            0, ONE_YEAR_S, ONE_YEAR_S, "none",
            "content-hashed: a new version gets a new URL, so cache it for a year",
        ),
        "static": ClassPolicy(
            "static", "public, max-age=86400, stale-while-revalidate=604800", day, True,
            0, day, ONE_YEAR_S, "all",
            "unhashed scripts/styles/media: a day fresh, refreshed in the background",
        ),
        "image": ClassPolicy(
            "image", "public, max-age=604800, stale-while-revalidate=2592000", week, True,
            0, week, ONE_YEAR_S, "all",
            "unhashed images: a week fresh, refreshed in the background",
        ),
        "font": ClassPolicy(
            "font", "public, max-age=2592000, stale-while-revalidate=2592000", month, True,
            0, month, ONE_YEAR_S, "all",
            "unhashed fonts: a month fresh, refreshed in the background",
        ),
        "html": ClassPolicy(
            "html", "public, max-age=0, s-maxage=60, stale-while-revalidate=86400", 60, True,
            0, 60, day, "all",
            "browsers revalidate (ETag, 304), the CDN keeps it a minute",
        ),
        "api": ClassPolicy(
            "api", "private, no-cache", 0, True, 0, 0, 0, "none",
            "personal answers: no shared cache, browsers revalidate",
        ),
    }  # fmt: skip
    if shared_api:
        out["api"] = ClassPolicy(
            "api", "public, max-age=0, s-maxage=60, stale-while-revalidate=300", 60, True,
            0, 0, 3600, "all",
            "the same for everyone: the CDN keeps it a minute, five more stale",
        )  # fmt: skip
    return out


RECOMMENDED: dict[str, ClassPolicy] = recommended_policies()
"""Asset class → the recommended :class:`ClassPolicy` (API answers personal)."""


# --------------------------------------------------------------------------- rules

_SAFE = re.compile(r"^[A-Za-z0-9/._~@-]*$")
_HASH_SUFFIX = r"(?:\.(?:chunk|min|bundle|module|esm|legacy|iife))?"
_MAX_CLOUDFRONT_BEHAVIORS = 25  # default quota of cache behaviors per distribution


@dataclass(frozen=True)
class _Rule:
    cls: str
    kind: str  # prefix | ext | hash | dir_ext | dir_hash | stem | exact
    base: str = ""  # folder (prefix, dir_ext, dir_hash), exact path, or stem head
    ext: str = ""  # extension (ext, dir_ext) or stem tail
    regex: str = ""  # hash regex (hash, dir_hash)


def _rx_escape(text: str) -> str:
    """Escape for a regex shared by PCRE (nginx), JavaScript and Python."""
    return re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", text)


def _hash_regex(tokens: Sequence[tuple[str, str]]) -> str:
    """A regex (without the folder) for file names carrying the hashes seen.

    ``tokens`` are (token, extension) pairs; only the token shapes and extensions
    seen are allowed, with :func:`~perflab.cdn.headers.hash_token`'s conditions as
    lookaheads (PCRE, JavaScript and Python all read them).
    """
    hexdigest = r"(?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])"  # a digit and a letter
    b64 = (
        r"(?=[A-Za-z0-9_-]{0,7}[A-Z])(?=[A-Za-z0-9_-]{0,7}[a-z])"
        r"(?=[A-Za-z0-9_-]{0,7}[0-9_-]|(?:[a-z]*[A-Z]){3})"
    )
    alts = set()
    for token, _ in tokens:
        if re.fullmatch(r"[0-9a-f]{8,64}", token):
            alts.add(r"[/._~-]" + hexdigest + r"[0-9a-f]{8,64}")
        elif re.fullmatch(r"[0-9a-f]{6,7}", token):
            alts.add(r"\." + hexdigest + r"[0-9a-f]{6,7}")
        else:
            alts.add("-" + b64 + r"[A-Za-z0-9_-]{8}")
    exts = sorted({ext for _, ext in tokens})
    head = alts.pop() if len(alts) == 1 else "(?:" + "|".join(sorted(alts)) + ")"
    tail = exts[0] if len(exts) == 1 else "(?:" + "|".join(exts) + ")"
    return head + _HASH_SUFFIX + r"\." + tail + "$"


# Each target's own matching, as a Python regex for one rule.


def _nginx_regex(r: _Rule) -> str:
    if r.kind == "prefix":
        return "^" + _rx_escape(r.base)
    if r.kind == "exact":
        return "^" + _rx_escape(r.base) + "$"
    return _nginx_location_regex(r)


def _nginx_location_regex(r: _Rule) -> str:
    """The regex of a ``location ~``/``~*`` block (case-insensitive for extensions)."""
    if r.kind == "ext":
        return r"(?i)\." + _rx_escape(r.ext) + "$"
    if r.kind == "dir_ext":
        return "(?i)^" + _rx_escape(r.base) + r".*\." + _rx_escape(r.ext) + "$"
    if r.kind == "hash":
        return r.regex
    if r.kind == "dir_hash":
        return "^" + _rx_escape(r.base) + "[^/]*" + r.regex
    if r.kind == "stem":
        return "^" + _rx_escape(r.base) + "[^/]+" + _rx_escape(r.ext) + "$"
    raise AssertionError(r.kind)


def _glob(r: _Rule) -> str:
    """The rule as a glob (``*`` any characters): Netlify, CloudFront, ``headers``."""
    if r.kind == "prefix":
        return r.base + "*"
    if r.kind == "ext":
        return "*." + r.ext
    if r.kind == "dir_ext":
        return r.base + "*." + r.ext
    if r.kind == "stem":
        return r.base + "*" + r.ext
    if r.kind == "exact":
        return r.base
    raise AssertionError(r.kind)


def _netlify_pattern(r: _Rule) -> str:
    glob = _glob(r)
    return "/" + glob if glob.startswith("*") else glob


def _netlify_regex(pattern: str) -> str:
    """Netlify's own translation of a ``_headers`` path (``getForRegExp``)."""
    parts = []
    for part in (p.rstrip() for p in pattern.split("/")):
        if not part:
            continue
        if part.startswith(":"):
            parts.append("([^/]+)")
        elif part == "*":
            parts.append("?(.*)")
        elif "*" in part:
            parts.append(part.replace("*", "(.*)"))
        else:
            parts.append(re.escape(part))
    return "(?i)^/" + "/".join(parts) + "/?$"


def _cloudfront_regex(pattern: str) -> str:
    out = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return "^" + (out if pattern.startswith(("/", "*")) else "/" + out) + "$"


def _vercel_source(r: _Rule) -> str:
    """A path-to-regexp source: literal text escaped, regex in one unnamed group."""

    def lit(text: str) -> str:
        return re.sub(r"([:*+?(){}\\])", r"\\\1", text)

    if r.kind == "prefix":
        return lit(r.base) + "(.*)"
    if r.kind == "exact":
        return lit(r.base)
    if r.kind == "ext":
        return "/(.*)" + lit("." + r.ext)
    if r.kind == "dir_ext":
        return lit(r.base) + "(.*)" + lit("." + r.ext)
    if r.kind == "hash":
        return "/(.*" + r.regex.removesuffix("$") + ")"
    if r.kind == "dir_hash":
        return lit(r.base) + "([^/]*" + r.regex.removesuffix("$") + ")"
    if r.kind == "stem":
        return lit(r.base) + "([^/]+)" + lit(r.ext)
    raise AssertionError(r.kind)


def _vercel_regex(r: _Rule) -> str:
    """What path-to-regexp makes of :func:`_vercel_source` (case-insensitive)."""
    if r.kind == "prefix":
        body = _rx_escape(r.base) + "(.*)"
    elif r.kind == "exact":
        body = _rx_escape(r.base)
    elif r.kind == "ext":
        body = "/(.*)" + _rx_escape("." + r.ext)
    elif r.kind == "dir_ext":
        body = _rx_escape(r.base) + "(.*)" + _rx_escape("." + r.ext)
    elif r.kind == "hash":
        body = "/(.*" + r.regex.removesuffix("$") + ")"
    elif r.kind == "dir_hash":
        body = _rx_escape(r.base) + "([^/]*" + r.regex.removesuffix("$") + ")"
    else:
        body = _rx_escape(r.base) + "([^/]+)" + _rx_escape(r.ext)
    return "(?i)^" + body + "[/#?]?$"


def _matcher(target: str) -> Callable[[_Rule], re.Pattern[str]]:
    def compile_(r: _Rule) -> re.Pattern[str]:
        if target == "nginx":
            return re.compile(_nginx_regex(r))
        if target == "vercel":
            return re.compile(_vercel_regex(r))
        if target == "netlify":
            return re.compile(_netlify_regex(_netlify_pattern(r)))
        return re.compile(_cloudfront_regex(_glob(r)))

    return compile_


_KINDS = {
    # target → the rule kinds it can express
    "nginx": ("prefix", "ext", "hash", "dir_ext", "dir_hash", "stem", "exact"),
    "vercel": ("prefix", "ext", "hash", "dir_ext", "dir_hash", "stem", "exact"),
    "netlify": ("prefix", "ext", "dir_ext", "stem", "exact"),
    "cloudfront": ("prefix", "ext", "dir_ext", "stem", "exact"),
    "headers": ("prefix", "ext", "dir_ext", "stem", "exact"),
}


def _folders(path: str) -> list[str]:
    """``/a/b/c.js`` → ``["/a/", "/a/b/"]`` (never the root)."""
    parts = path.split("/")[1:-1]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def _ext(path: str) -> str | None:
    m = re.search(r"\.([A-Za-z0-9]{1,8})$", path.rsplit("/", 1)[-1])
    return m.group(1) if m else None


def _derive(
    observed: Mapping[str, tuple[str, str | None]],
    target: str,
    hashed_prefixes: Sequence[str],
) -> tuple[list[_Rule], dict[str, _Rule]]:
    """Rules for ``observed`` (path → (class, hash token)), coarse first; each
    observed path ends up matched by at most one rule, of its class."""
    kinds = _KINDS[target]
    compile_ = _matcher(target)
    paths = sorted(observed)
    cls_of = {p: c for p, (c, _) in observed.items()}
    covered: dict[str, _Rule] = {}
    rules: list[_Rule] = []

    def shadowed(rule: _Rule, p: str) -> bool:
        """Whether ``p``, already matched, keeps its rule if ``rule`` is added too."""
        old = covered[p]
        if target == "nginx":  # `=` and `^~` locations win before any regex is tried
            return rule.kind not in ("prefix", "exact") and old.kind in ("prefix", "exact")
        if target == "vercel":  # every match applies, the last wins: same value, no harm
            return old.cls == rule.cls
        return False  # Netlify joins every match; CloudFront and lists: keep them apart

    def add(rule: _Rule) -> bool:
        if rule.kind not in kinds or any(not _SAFE.match(x) for x in (rule.base, rule.ext)):
            return False
        rx = compile_(rule)
        hits = [p for p in paths if rx.search(p)]
        fresh = [p for p in hits if p not in covered]
        if not fresh or any(cls_of[p] != rule.cls for p in fresh):
            return False
        if not all(shadowed(rule, p) for p in hits if p in covered):
            return False
        rules.append(rule)
        covered.update(dict.fromkeys(fresh, rule))
        return True

    def todo(cls: str | None = None) -> list[str]:
        return [
            p
            for p in paths
            if p not in covered and cls_of[p] != "other" and (cls is None or cls_of[p] == cls)
        ]

    # 1. folders holding one class
    by_folder: dict[str, set[str]] = defaultdict(set)
    direct: dict[str, int] = defaultdict(int)  # files right in the folder
    for p in paths:
        for f in _folders(p):
            by_folder[f].add(cls_of[p])
        direct[p.rsplit("/", 1)[0] + "/"] += 1
    for f in sorted(by_folder, key=lambda f: (f.count("/"), f)):
        classes = by_folder[f]
        if len(classes) != 1 or "other" in classes:
            continue
        (cls,) = classes
        known = any(f.startswith(h) for h in hashed_prefixes)
        above = any(h.startswith(f) and h != f for h in hashed_prefixes)
        if cls == "hashed" and not (known or (direct[f] >= 3 and not above)):
            continue
        if any(p.startswith(f) for p in todo()):
            add(_Rule(cls, "prefix", base=f))
    # 2. extensions, site-wide (never for hashed files)
    for p in todo():
        ext = _ext(p)
        if ext and cls_of[p] != "hashed":
            add(_Rule(cls_of[p], "ext", ext=ext.lower()))
    # 3. the hashes seen, site-wide
    hashed = [(p, observed[p][1], _ext(p)) for p in todo("hashed")]
    tokens = [(t, e.lower()) for _, t, e in hashed if t and e]
    if tokens:
        add(_Rule("hashed", "hash", regex=_hash_regex(tokens)))
    # 4. a folder and an extension; a folder's hashed names
    for p in todo():
        ext, folder = _ext(p), p.rsplit("/", 1)[0] + "/"
        if ext and cls_of[p] != "hashed":
            add(_Rule(cls_of[p], "dir_ext", base=folder, ext=ext.lower()))
        elif cls_of[p] == "hashed" and observed[p][1] and ext:
            here = [
                (t, e.lower())
                for q, t, e in hashed
                if t and e and q.rsplit("/", 1)[0] + "/" == folder
            ]
            add(_Rule("hashed", "dir_hash", base=folder, regex=_hash_regex(here)))
    # 5. the file name with its hash as a wildcard
    for p in todo("hashed"):
        token = observed[p][1]
        name = p.rsplit("/", 1)[-1]
        if token and name.count(token) == 1:
            head, tail = name.split(token)
            add(_Rule("hashed", "stem", base=p[: len(p) - len(name)] + head, ext=tail))
    # 6. the exact path
    for p in todo():
        add(_Rule(cls_of[p], "exact", base=p))
    return rules, covered


# --------------------------------------------------------------------------- output


@dataclass(frozen=True)
class CachePolicy:
    """Generated cache configuration: ``str()`` is the text to apply.

    Attributes
    ----------
    target : str
        The format (:data:`TARGETS`).
    text : str
        The configuration.
    rules : polars.DataFrame
        One row per rule: ``asset_class``, ``kind`` (``prefix``, ``ext``, ``hash``,
        ``dir_ext``, ``dir_hash``, ``stem``, ``exact``), ``pattern`` (in the target's
        syntax), ``cache_control``, ``paths`` (observed paths it matches) and an
        ``example`` of them.
    unmatched : list of str
        Observed paths no rule matches (class ``other``, or characters a pattern
        cannot carry).
    """

    target: str
    text: str
    rules: pl.DataFrame
    unmatched: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return self.text

    def write(self, path: str | Path) -> Path:
        """Write :attr:`text` to ``path`` atomically; return the path."""
        return write_atomic(path, self.text)


_KIND_ORDER = {"exact": 0, "stem": 1, "dir_hash": 2, "dir_ext": 3, "hash": 4, "prefix": 5, "ext": 6}


def _nginx_head(r: _Rule) -> str:
    """``location …`` for a rule (without the brace)."""
    if r.kind == "prefix":
        return f"location ^~ {r.base}"
    if r.kind == "exact":
        return f"location = {r.base}"
    rx = _nginx_location_regex(r)
    op = "~*" if rx.startswith("(?i)") else "~"
    return f'location {op} "{rx.removeprefix("(?i)")}"'


def _nginx_text(rules: list[_Rule], policies: Mapping[str, ClassPolicy], upstream: str | None,
                counts: Mapping[_Rule, int], total: int) -> str:  # fmt: skip
    lines = [
        f"# perflab cache policy for nginx: {len(rules)} location(s) from {total} observed "
        "path(s).",
        "# Paste inside your server { } block. `always` also sets the header on 304s and",
        "# errors. add_header in a location replaces the server's add_header directives:",
        "# repeat your security headers in each block. `expires` is not used: it would",
        "# send a second Cache-Control header.",
    ]
    if upstream is None:
        lines.append(
            "# Behind proxy_pass, add it to each block with `proxy_hide_header Cache-Control;`."
        )
    for r in sorted(rules, key=lambda r: (_KIND_ORDER[r.kind], r.cls, r.base, r.ext)):
        p = policies[r.cls]
        note = f"# {r.cls} ({counts[r]} observed path(s)): {p.why}"
        lines += ["", note, _nginx_head(r) + " {"]
        lines.append(f'    add_header Cache-Control "{p.cache_control}" always;')
        if p.validators:
            lines.append("    etag on;")
        if upstream is not None:
            lines += [f"    proxy_pass {upstream};", "    proxy_hide_header Cache-Control;"]
        lines.append("}")
    return "\n".join(lines) + "\n"


def _vercel_text(rules: list[_Rule], policies: Mapping[str, ClassPolicy]) -> str:
    ordered = sorted(rules, key=lambda r: (-_KIND_ORDER[r.kind], r.cls, r.base, r.ext))
    doc = {
        "headers": [
            {
                "source": _vercel_source(r),
                "headers": [{"key": "Cache-Control", "value": policies[r.cls].cache_control}],
            }
            for r in ordered
        ]
    }
    return json.dumps(doc, indent=2) + "\n"


def _netlify_text(rules: list[_Rule], policies: Mapping[str, ClassPolicy], total: int) -> str:
    lines = [
        f"# perflab cache policy for Netlify: {len(rules)} rule(s) from {total} observed path(s).",
        "# Netlify applies every rule that matches and joins repeated headers with a",
        "# comma: keep one Cache-Control rule per path.",
    ]
    for r in sorted(rules, key=lambda r: (-_KIND_ORDER[r.kind], r.cls, r.base, r.ext)):
        p = policies[r.cls]
        lines += [
            "",
            f"# {r.cls}: {p.why}",
            _netlify_pattern(r),
            f"  Cache-Control: {p.cache_control}",
        ]
    return "\n".join(lines) + "\n"


def _headers_text(rules: list[_Rule], policies: Mapping[str, ClassPolicy], total: int) -> str:
    lines = [
        f"# perflab cache policy: {len(rules)} rule(s) from {total} observed path(s).",
        "# pattern (glob: * is any characters), class, header. First match wins.",
    ]
    for r in sorted(rules, key=lambda r: (_KIND_ORDER[r.kind], r.cls, r.base, r.ext)):
        p = policies[r.cls]
        extra = "  (+ ETag)" if p.validators else ""
        lines.append(f"{_glob(r)}\t{r.cls}\tCache-Control: {p.cache_control}{extra}")
    return "\n".join(lines) + "\n"


def _cloudfront_doc(rules: list[_Rule], policies: Mapping[str, ClassPolicy]) -> dict[str, Any]:
    used = sorted({r.cls for r in rules}, key=list(policies).index)
    cache_policies, header_policies = [], []
    for cls in used:
        p = policies[cls]
        disabled = p.max_ttl_s == 0
        cache_policies.append(
            {
                "CachePolicyConfig": {
                    "Name": f"perflab-{cls}",
                    "Comment": f"perflab {cls}: {p.why}"[:128],
                    "DefaultTTL": p.default_ttl_s,
                    "MaxTTL": p.max_ttl_s,
                    "MinTTL": p.min_ttl_s,
                    "ParametersInCacheKeyAndForwardedToOrigin": {
                        "EnableAcceptEncodingGzip": not disabled,
                        "EnableAcceptEncodingBrotli": not disabled,
                        "HeadersConfig": {"HeaderBehavior": "none"},
                        "CookiesConfig": {"CookieBehavior": "none"},
                        "QueryStringsConfig": {
                            "QueryStringBehavior": "none" if disabled else p.query_strings
                        },
                    },
                }
            }
        )
        header_policies.append(
            {
                "ResponseHeadersPolicyConfig": {
                    "Name": f"perflab-{cls}-cache-control",
                    "Comment": f"Cache-Control for {cls} where the origin cannot set it"[:128],
                    "CustomHeadersConfig": {
                        "Quantity": 1,
                        "Items": [
                            {"Header": "Cache-Control", "Value": p.cache_control, "Override": True}
                        ],
                    },
                }
            }
        )
    ordered = sorted(rules, key=lambda r: (_KIND_ORDER[r.kind], r.cls, r.base, r.ext))
    behaviors = [
        {
            "PathPattern": _glob(r),
            "AssetClass": r.cls,
            "CachePolicyName": f"perflab-{r.cls}",
            "ResponseHeadersPolicyName": f"perflab-{r.cls}-cache-control",
        }
        for r in ordered
    ]
    return {
        "CachePolicies": cache_policies,
        "ResponseHeadersPolicies": header_policies,
        "CacheBehaviors": behaviors,
        "Notes": [
            "aws cloudfront create-cache-policy --cli-input-json <one CachePolicies item>",
            "aws cloudfront create-response-headers-policy --cli-input-json <one "
            "ResponseHeadersPolicies item> (only where the origin cannot send the header)",
            "Add the CacheBehaviors in this order (the first PathPattern that matches wins) "
            "with the ids the create calls return.",
        ],
    }


def _observed(df: FrameLike, hashed_prefixes: Sequence[str]) -> dict[str, tuple[str, str | None]]:
    frame = as_frame(df)
    if "path" not in frame.columns:
        from perflab.errors import SchemaError

        raise SchemaError("assets", missing=["path"])
    if "method" in frame.columns:
        frame = frame.filter(pl.col("method").str.to_uppercase().is_in(["GET", "HEAD"]))
    if "status" in frame.columns and frame.schema["status"].is_integer():
        frame = frame.filter(pl.col("status").is_between(200, 299) | (pl.col("status") == 304))
    frame = frame.filter(pl.col("path").is_not_null())
    classed = asset_class(frame, hashed_prefixes=hashed_prefixes)
    if "asset_class" in frame.columns:  # the caller's classes win
        classed = classed.with_columns(frame.get_column("asset_class"))
    rows = classed.group_by("path").agg(
        pl.col("asset_class").mode().sort().first(), pl.col("hash_token").drop_nulls().first()
    )
    return {p: (c, t) for p, c, t in rows.iter_rows()}


def cache_policy(
    assets: FrameLike,
    *,
    target: Target = "nginx",
    shared_api: bool = False,
    hashed_prefixes: Sequence[str] = HASHED_PREFIXES,
    upstream: str | None = None,
    policies: Mapping[str, ClassPolicy] | None = None,
) -> CachePolicy:
    """The recommended caching headers for the paths a site serves, as configuration.

    Parameters
    ----------
    assets : frame-like
        Anything with a ``path`` column: a requests frame (GET/HEAD answered 2xx or
        304 are kept when ``method``/``status`` are there), an audit
        (:func:`~perflab.cdn.audit_cache_headers`), a list of paths as a frame. An
        ``asset_class`` column is used as given; otherwise it is computed (with
        ``content_type`` when present).
    target : {"nginx", "cloudfront", "vercel", "netlify", "headers"}
        The format to write.
    shared_api : bool
        API GETs are the same for everyone (CDN-cacheable); default personal.
    hashed_prefixes : sequence of str
        Folders whose files are all content-addressed (default ``/_next/static/``).
    upstream : str, optional
        nginx only: the ``proxy_pass`` target to put in each location (with
        ``proxy_hide_header Cache-Control``); without it the locations serve files
        from the server's ``root``.
    policies : mapping, optional
        Asset class → :class:`ClassPolicy`, to override :func:`recommended_policies`.

    Returns
    -------
    CachePolicy
        ``str(policy)`` is the configuration; ``policy.rules`` the rules with the
        number of observed paths each matches; ``policy.unmatched`` the paths left
        without a rule.

    Raises
    ------
    ParameterError
        An unknown ``target``, or ``policies`` missing a class the paths need.
    SchemaError
        No ``path`` column.

    Examples
    --------
    >>> paths = ["/_next/static/chunks/main-59c5c889f52620d6.js", "/img/hero.png",
    ...          "/img/logo.svg", "/api/cart", "/", "/robots.txt"]
    >>> policy = cache_policy({"path": paths}, target="netlify")
    >>> print(policy)  # doctest: +NORMALIZE_WHITESPACE
    # perflab cache policy for Netlify: 4 rule(s) from 6 observed path(s).
    # Netlify applies every rule that matches and joins repeated headers with a
    # comma: keep one Cache-Control rule per path.
    <BLANKLINE>
    # api: personal answers: no shared cache, browsers revalidate
    /api/*
      Cache-Control: private, no-cache
    <BLANKLINE>
    # hashed: content-hashed: a new version gets a new URL, so cache it for a year
    /_next/static/*
      Cache-Control: public, max-age=31536000, immutable
    <BLANKLINE>
    # image: unhashed images: a week fresh, refreshed in the background
    /img/*
      Cache-Control: public, max-age=604800, stale-while-revalidate=2592000
    <BLANKLINE>
    # html: browsers revalidate (ETag, 304), the CDN keeps it a minute
    /
      Cache-Control: public, max-age=0, s-maxage=60, stale-while-revalidate=86400
    >>> policy.unmatched
    ['/robots.txt']
    """
    if target not in TARGETS:
        raise ParameterError(f"unknown target {target!r}: one of {', '.join(TARGETS)}")
    if isinstance(hashed_prefixes, str):
        raise ParameterError("hashed_prefixes must be a sequence of prefixes, not one string")
    chosen = dict(policies) if policies is not None else recommended_policies(shared_api=shared_api)
    observed = _observed(assets, hashed_prefixes)
    needed = {c for c, _ in observed.values()} - {"other"}
    missing = sorted(needed - set(chosen))
    if missing:
        raise ParameterError(f"policies has no entry for class(es) {missing}")
    rules, covered = _derive(observed, target, hashed_prefixes)
    counts: dict[_Rule, int] = defaultdict(int)
    examples: dict[_Rule, str] = {}
    for p, r in sorted(covered.items()):
        counts[r] += 1
        examples.setdefault(r, p)
    unmatched = sorted(p for p in observed if p not in covered)
    odd = [p for p in unmatched if observed[p][0] != "other"]
    if odd:
        logger.warning(
            "cache policy: %d path(s) have characters no pattern carries and got no rule: %s",
            len(odd),
            ", ".join(odd[:5]),
        )
    if target == "cloudfront" and len(rules) > _MAX_CLOUDFRONT_BEHAVIORS:
        logger.warning(
            "cache policy: %d cache behaviors exceed CloudFront's default quota of %d per "
            "distribution", len(rules), _MAX_CLOUDFRONT_BEHAVIORS,
        )  # fmt: skip
    if target == "nginx":
        text = _nginx_text(rules, chosen, upstream, counts, len(observed))
        pattern: Callable[[_Rule], str] = _nginx_head
    elif target == "vercel":
        text, pattern = _vercel_text(rules, chosen), _vercel_source
    elif target == "netlify":
        text, pattern = _netlify_text(rules, chosen, len(observed)), _netlify_pattern
    elif target == "cloudfront":
        text, pattern = json.dumps(_cloudfront_doc(rules, chosen), indent=2) + "\n", _glob
    else:
        text, pattern = _headers_text(rules, chosen, len(observed)), _glob
    frame = pl.DataFrame(
        [
            {
                "asset_class": r.cls,
                "kind": r.kind,
                "pattern": pattern(r),
                "cache_control": chosen[r.cls].cache_control,
                "paths": counts[r],
                "example": examples.get(r),
            }
            for r in rules
        ],
        schema={
            "asset_class": pl.String,
            "kind": pl.String,
            "pattern": pl.String,
            "cache_control": pl.String,
            "paths": pl.Int64,
            "example": pl.String,
        },
    )
    return CachePolicy(target=target, text=text, rules=frame, unmatched=unmatched)

"""Generated cache policies: each output parses, and each observed path gets exactly one
rule, of its class — judged with each target's own matching, emulated here (nginx's
location choice, Vercel's path-to-regexp, Netlify's splats, CloudFront's globs), and
with a real nginx when one is installed."""

from __future__ import annotations

import http.client
import json
import logging
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from perflab.api import read_har
from perflab.cdn.audit import audit_cache_headers
from perflab.cdn.headers import asset_class
from perflab.cdn.policy import RECOMMENDED, TARGETS, CachePolicy, cache_policy
from perflab.errors import ParameterError

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "api"

# Paths a real site serves: Next.js, Create React App, Vite and webpack builds side by
# side, unhashed files, pages, an API — and folders that mix hashed and unhashed files.
SITE = {
    "/_next/static/chunks/webpack-59c5c889f52620d6.js": "hashed",
    "/_next/static/chunks/framework-2c79e2a64abdb08b.js": "hashed",
    "/_next/static/chunks/pages/_app-8ae6c3e4f2a1b0c9.js": "hashed",
    "/_next/static/css/9b3a2f1e0c4d5a6b.css": "hashed",
    "/_next/static/media/a34f9d1faa5f3315-s.p.woff2": "hashed",
    "/_next/static/Wq6x3pPzQZ0mJk2b7nUaL/_buildManifest.js": "hashed",
    "/static/js/main.8f3e2a1b.js": "hashed",
    "/static/js/787.3c5e9a1f.chunk.js": "hashed",
    "/static/css/main.4d2c1b0a.css": "hashed",
    "/static/media/logo.6ce24c58023cc2f8fd88.svg": "hashed",
    "/static/app.3f9a1c.js": "hashed",
    "/static/style.css": "static",
    "/assets/index-BkU3xT9_.js": "hashed",
    "/assets/vendor-DxYz12ab.js": "hashed",
    "/assets/index-C5LbmJ0G.css": "hashed",
    "/main.3f9a8b7c1d2e4f5a6b7c.js": "hashed",
    "/styles.8e1c5d2f3a4b6c7d.css": "hashed",
    "/js/app.js": "static",
    "/js/bundle.3f9a8b7c.js": "hashed",
    "/js/legacy/polyfill.js": "static",
    "/css/site.css": "static",
    "/media/intro.mp4": "static",
    "/favicon.ico": "image",
    "/img/hero.png": "image",
    "/img/products/shoe-1.jpg": "image",
    "/fonts/inter.woff2": "font",
    "/fonts/inter-bold.woff2": "font",
    "/": "html",
    "/about": "html",
    "/index.html": "html",
    "/products/shoes": "html",
    "/products/boots": "html",
    "/api/items/1": "api",
    "/api/cart": "api",
    "/robots.txt": "other",
    "/sitemap.xml": "other",
}
CLASS_OF_HEADER = {p.cache_control: cls for cls, p in RECOMMENDED.items()}

# Paths a next build will serve: the rules must carry over to them.
NEXT_BUILD = {
    "/_next/static/chunks/pages/new-0123456789abcdef.js": "hashed",
    "/static/js/999.abcdef12.chunk.js": "hashed",
    "/img/new.png": "image",
    "/api/items/2": "api",
}
NEVER_IMMUTABLE = ["/js/new-feature.js", "/static/new.js", "/app.settings.js", "/a.decade.js"]


def site() -> pl.DataFrame:
    return pl.DataFrame({"path": list(SITE)})


def test_the_site_is_classed_as_the_test_expects() -> None:
    got = asset_class(site())
    assert dict(got.select("path", "asset_class").iter_rows()) == SITE


# --------------------------------------------------------------------------- nginx


@dataclass
class Location:
    op: str  # "=", "^~", "~", "~*" or "" (plain prefix)
    arg: str
    cache_control: str | None


_LOCATION = re.compile(
    r'^location\s+(?:(=|\^~|~\*|~)\s+)?(?:"((?:[^"\\]|\\.)*)"|(\S+))\s*\{(.*?)^\}',
    re.M | re.S,
)


def _blocks(text: str) -> int:
    return sum(line.startswith("location ") for line in text.splitlines())


def nginx_locations(text: str) -> list[Location]:
    out = []
    for op, quoted, bare, body in _LOCATION.findall(text):
        header = re.search(r'add_header\s+Cache-Control\s+"([^"]*)"\s+always;', body)
        out.append(Location(op, quoted or bare, header.group(1) if header else None))
    assert len(out) == _blocks(text), "every location block parsed"
    return out


def nginx_select(locations: list[Location], path: str) -> Location | None:
    """nginx's choice: exact, else the longest prefix (stop if ^~), else the first
    matching regex in order, else that longest prefix."""
    for loc in locations:
        if loc.op == "=" and loc.arg == path:
            return loc
    prefixes = [loc for loc in locations if loc.op in ("", "^~") and path.startswith(loc.arg)]
    longest = max(prefixes, key=lambda loc: len(loc.arg), default=None)
    if longest is not None and longest.op == "^~":
        return longest
    for loc in locations:
        if loc.op in ("~", "~*") and re.search(
            loc.arg, path, re.IGNORECASE if loc.op == "~*" else 0
        ):
            return loc
    return longest


def test_nginx_every_path_gets_the_location_of_its_class() -> None:
    policy = cache_policy(site(), target="nginx")
    locations = nginx_locations(str(policy))
    for path, cls in SITE.items():
        chosen = nginx_select(locations, path)
        if cls == "other":
            assert chosen is None, path
        else:
            assert chosen is not None, path
            assert CLASS_OF_HEADER[chosen.cache_control] == cls, (path, chosen)


def test_nginx_rules_carry_over_to_the_next_build() -> None:
    locations = nginx_locations(str(cache_policy(site(), target="nginx")))
    for path, cls in NEXT_BUILD.items():
        chosen = nginx_select(locations, path)
        assert chosen is not None and CLASS_OF_HEADER[chosen.cache_control] == cls, path
    for path in NEVER_IMMUTABLE:
        chosen = nginx_select(locations, path)
        assert chosen is None or "immutable" not in (chosen.cache_control or ""), path


def test_nginx_with_an_upstream_hides_its_cache_control() -> None:
    text = str(cache_policy(site(), target="nginx", upstream="http://127.0.0.1:3000"))
    blocks = _blocks(text)
    assert text.count("proxy_pass http://127.0.0.1:3000;") == blocks
    assert text.count("proxy_hide_header Cache-Control;") == blocks


NGINX = shutil.which("nginx")
needs_nginx = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (.ci/setup-services installs it)"
)


def _nginx_conf(tmp: Path, policy: CachePolicy, port: int) -> Path:
    (tmp / "policy.conf").write_text(str(policy))
    conf = tmp / "nginx.conf"
    temp = " ".join(
        f"{name}_temp_path {tmp / name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf.write_text(
        f"daemon off;\nmaster_process off;\npid {tmp / 'nginx.pid'};\n"
        f"error_log {tmp / 'error.log'};\nevents {{}}\n"
        f"http {{\n  access_log off;\n  {temp}\n"
        f"  server {{\n    listen 127.0.0.1:{port};\n    root {tmp / 'www'};\n"
        f"    include {tmp / 'policy.conf'};\n  }}\n}}\n"
    )
    return conf


@needs_nginx
@pytest.mark.parametrize("upstream", [None, "http://127.0.0.1:9"])
def test_nginx_accepts_the_configuration(tmp_path: Path, upstream: str | None) -> None:
    policy = cache_policy(site(), target="nginx", upstream=upstream)
    conf = _nginx_conf(tmp_path, policy, 8080)
    run = subprocess.run(
        [str(NGINX), "-t", "-q", "-e", str(tmp_path / "error.log"), "-p", str(tmp_path),
         "-c", str(conf)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr


@needs_nginx
def test_nginx_serves_each_path_with_its_class_header(tmp_path: Path) -> None:
    www = tmp_path / "www"
    for path in SITE:
        file = www / (path.lstrip("/") or "index.html")
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = _nginx_conf(tmp_path, cache_policy(site(), target="nginx"), port)
    server = subprocess.Popen(
        [str(NGINX), "-e", str(tmp_path / "error.log"), "-p", str(tmp_path), "-c", str(conf)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        for _ in range(200):  # wait until it listens (or has died)
            if server.poll() is not None:
                pytest.fail(f"nginx exited: {server.stderr.read() if server.stderr else ''}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        for path, cls in SITE.items():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            conn.close()
            assert response.status == 200, path
            got = response.getheader("Cache-Control")
            expected = None if cls == "other" else RECOMMENDED[cls].cache_control
            assert got == expected, path
    finally:
        server.terminate()
        server.wait(timeout=30)


# --------------------------------------------------------------------------- Vercel


def path_to_regexp(source: str) -> re.Pattern[str]:
    """path-to-regexp 6 (what vercel.json sources use) for the syntax perflab emits:
    escaped characters, literal text and unnamed ``( … )`` groups."""
    out, i = [], 0
    while i < len(source):
        c = source[i]
        if c == "\\":
            out.append(re.escape(source[i + 1]))
            i += 2
        elif c == "(":
            depth, j, pattern = 1, i + 1, ""
            assert source[j] != "?", "a pattern cannot start with ?"
            while depth:
                if source[j] == "\\":
                    pattern += source[j : j + 2]
                    j += 2
                    continue
                if source[j] == "(":
                    depth += 1
                    assert source[j + 1] == "?", "capturing groups are not allowed"
                elif source[j] == ")":
                    depth -= 1
                if depth:
                    pattern += source[j]
                j += 1
            out.append(f"(?:{pattern})")
            i = j
        else:
            assert c not in ":*+?{}", f"unescaped {c!r} in {source!r}"
            out.append(re.escape(c))
            i += 1
    return re.compile("^" + "".join(out) + "[/#?]?$", re.IGNORECASE)


def vercel_rules(text: str) -> list[tuple[re.Pattern[str], str]]:
    doc = json.loads(text)
    assert set(doc) == {"headers"}
    rules = []
    for entry in doc["headers"]:
        assert set(entry) == {"source", "headers"} and entry["source"].startswith("/")
        (header,) = entry["headers"]
        assert header["key"] == "Cache-Control"
        rules.append((path_to_regexp(entry["source"]), header["value"]))
    return rules


def test_vercel_every_path_gets_the_header_of_its_class() -> None:
    # Vercel applies every matching source, the last one winning for a header: each
    # path must be matched, and only by sources of its class (one value, whatever wins)
    rules = vercel_rules(str(cache_policy(site(), target="vercel")))
    for path, cls in SITE.items():
        matching = [value for rx, value in rules if rx.match(path)]
        if cls == "other":
            assert matching == [], path
        else:
            assert matching, path
            assert {CLASS_OF_HEADER[v] for v in matching} == {cls}, (path, matching)


def test_vercel_rules_carry_over_to_the_next_build() -> None:
    rules = vercel_rules(str(cache_policy(site(), target="vercel")))
    for path, cls in NEXT_BUILD.items():
        matching = [value for rx, value in rules if rx.match(path)]
        assert [CLASS_OF_HEADER[v] for v in matching][-1:] == [cls], path  # the last wins
    for path in NEVER_IMMUTABLE:
        values = [value for rx, value in rules if rx.match(path)]
        assert not values or "immutable" not in values[-1], path


# --------------------------------------------------------------------------- Netlify


def netlify_rules(text: str) -> list[tuple[str, dict[str, str]]]:
    """A tiny ``_headers`` parser: a path line, then indented ``Name: value`` lines."""
    rules: list[tuple[str, dict[str, str]]] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("/"):
            assert line == stripped, "a path line starts at the margin"
            rules.append((stripped, {}))
        else:
            assert line.startswith("  ") and ":" in stripped, line
            name, value = stripped.split(":", 1)
            assert rules, "a header before any path"
            rules[-1][1][name.strip()] = value.strip()
    return rules


def netlify_regex(path: str) -> re.Pattern[str]:
    """Netlify's reading of a rule's path: ``*`` alone is an optional splat, ``*`` in a
    segment any characters (``/`` too), ``:name`` one segment; case-insensitive."""
    parts = []
    for part in filter(None, (p.rstrip() for p in path.split("/"))):
        if part.startswith(":"):
            parts.append("([^/]+)")
        elif part == "*":
            parts.append("?(.*)")
        else:
            parts.append(part.replace("*", "(.*)") if "*" in part else re.escape(part))
    return re.compile("^/" + "/".join(parts) + "/?$", re.IGNORECASE)


def test_netlify_every_path_matches_exactly_one_rule_of_its_class() -> None:
    rules = netlify_rules(str(cache_policy(site(), target="netlify")))
    assert all(set(headers) == {"Cache-Control"} for _, headers in rules)
    for path, cls in SITE.items():
        matching = [h["Cache-Control"] for p, h in rules if netlify_regex(p).match(path)]
        if cls == "other":
            assert matching == [], path
        else:
            assert len(matching) == 1, (path, matching)  # Netlify would join several
            assert CLASS_OF_HEADER[matching[0]] == cls, path


def test_netlify_never_pins_an_unhashed_file() -> None:
    rules = netlify_rules(str(cache_policy(site(), target="netlify")))
    for path in NEVER_IMMUTABLE:
        values = [h["Cache-Control"] for p, h in rules if netlify_regex(p).match(path)]
        assert not any("immutable" in v for v in values), path
    next_chunk = "/_next/static/chunks/pages/new-0123456789abcdef.js"
    assert [h["Cache-Control"] for p, h in rules if netlify_regex(p).match(next_chunk)] == [
        RECOMMENDED["hashed"].cache_control
    ]


# --------------------------------------------------------------------------- CloudFront

_TTL_KEYS = ("MinTTL", "DefaultTTL", "MaxTTL")
_BEHAVIORS = {
    "HeaderBehavior": {"none", "whitelist"},
    "CookieBehavior": {"none", "whitelist", "allExcept", "all"},
    "QueryStringBehavior": {"none", "whitelist", "allExcept", "all"},
}


def cloudfront_glob(pattern: str) -> re.Pattern[str]:
    """A CloudFront PathPattern: ``*`` any characters, ``?`` one; case-sensitive; the
    leading ``/`` optional."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("^" + (body if pattern.startswith(("/", "*")) else "/" + body) + "$")


def test_cloudfront_cache_policy_configs_have_the_api_shape() -> None:
    doc = json.loads(str(cache_policy(site(), target="cloudfront")))
    assert {"CachePolicies", "ResponseHeadersPolicies", "CacheBehaviors"} <= set(doc)
    names = set()
    for item in doc["CachePolicies"]:
        (config,) = item.values()
        assert set(item) == {"CachePolicyConfig"}
        assert {"Name", "MinTTL", "ParametersInCacheKeyAndForwardedToOrigin"} <= set(config)
        assert re.fullmatch(r"[\w-]{1,128}", config["Name"])
        assert isinstance(config["Comment"], str) and len(config["Comment"]) <= 128
        ttl = [config[k] for k in _TTL_KEYS]
        assert all(isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in ttl)
        assert ttl[0] <= ttl[1] <= ttl[2], config["Name"]
        params = config["ParametersInCacheKeyAndForwardedToOrigin"]
        assert isinstance(params["EnableAcceptEncodingGzip"], bool)
        assert isinstance(params["EnableAcceptEncodingBrotli"], bool)
        for key, behavior in [("HeadersConfig", "HeaderBehavior"),
                              ("CookiesConfig", "CookieBehavior"),
                              ("QueryStringsConfig", "QueryStringBehavior")]:  # fmt: skip
            assert params[key][behavior] in _BEHAVIORS[behavior]
        if config["MaxTTL"] == 0:  # caching disabled: nothing may join the cache key
            assert not params["EnableAcceptEncodingGzip"]
            assert params["QueryStringsConfig"]["QueryStringBehavior"] == "none"
        names.add(config["Name"])
    header_names = set()
    for item in doc["ResponseHeadersPolicies"]:
        config = item["ResponseHeadersPolicyConfig"]
        custom = config["CustomHeadersConfig"]
        assert custom["Quantity"] == len(custom["Items"]) == 1
        (header,) = custom["Items"]
        assert header["Header"] == "Cache-Control" and isinstance(header["Override"], bool)
        assert header["Value"] in CLASS_OF_HEADER
        header_names.add(config["Name"])
    for behavior in doc["CacheBehaviors"]:
        assert behavior["CachePolicyName"] in names
        assert behavior["ResponseHeadersPolicyName"] in header_names
        assert re.fullmatch(r"[A-Za-z0-9_\-.*$/~\"'@:+&?]{1,255}", behavior["PathPattern"])


def test_cloudfront_each_path_takes_one_behavior_of_its_class() -> None:
    doc = json.loads(str(cache_policy(site(), target="cloudfront")))
    policies = {
        item["CachePolicyConfig"]["Name"]: item["CachePolicyConfig"]
        for item in doc["CachePolicies"]
    }
    headers = {
        item["ResponseHeadersPolicyConfig"]["Name"]: item["ResponseHeadersPolicyConfig"]
        for item in doc["ResponseHeadersPolicies"]
    }
    behaviors = doc["CacheBehaviors"]
    for path, cls in SITE.items():
        matching = [b for b in behaviors if cloudfront_glob(b["PathPattern"]).match(path)]
        if cls == "other":
            assert matching == [], path
            continue
        assert len(matching) == 1, (path, [b["PathPattern"] for b in matching])
        (behavior,) = matching
        header = headers[behavior["ResponseHeadersPolicyName"]]["CustomHeadersConfig"]
        assert CLASS_OF_HEADER[header["Items"][0]["Value"]] == cls, path
        policy = policies[behavior["CachePolicyName"]]
        assert policy["DefaultTTL"] == RECOMMENDED[cls].default_ttl_s


# --------------------------------------------------------------------------- headers


def test_plain_headers_list_first_match() -> None:
    text = str(cache_policy(site(), target="headers"))
    rules = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            pattern, cls, header = line.split("\t")
            rules.append((cloudfront_glob(pattern), cls, header))
    for path, cls in SITE.items():
        matching = [(c, h) for rx, c, h in rules if rx.match(path)]
        if cls == "other":
            assert matching == []
        else:
            assert len(matching) == 1 and matching[0][0] == cls, path
            assert RECOMMENDED[cls].cache_control in matching[0][1]


# --------------------------------------------------------------------------- the API


@pytest.mark.parametrize("target", TARGETS)
def test_rules_frame_and_unmatched(target: str) -> None:
    policy = cache_policy(site(), target=target)  # type: ignore[arg-type]
    rules = policy.rules
    assert rules.columns == ["asset_class", "kind", "pattern", "cache_control", "paths", "example"]
    assert rules.get_column("paths").sum() == sum(c != "other" for c in SITE.values())
    assert policy.unmatched == ["/robots.txt", "/sitemap.xml"]
    hashed = rules.filter(pl.col("asset_class") == "hashed")
    assert not hashed.get_column("kind").is_in(["ext", "dir_ext"]).any()
    assert str(policy) == policy.text


def test_the_recorded_shop_har_and_its_audit() -> None:
    har = read_har(SAMPLE / "shop.har")
    from_requests = cache_policy(har, target="netlify")
    from_audit = cache_policy(audit_cache_headers(har), target="netlify")
    rules = netlify_rules(str(from_requests))
    value = [
        h["Cache-Control"] for p, h in rules if netlify_regex(p).match("/static/app.3f9a1c.js")
    ]
    assert value == [RECOMMENDED["hashed"].cache_control]
    css = [h["Cache-Control"] for p, h in rules if netlify_regex(p).match("/static/style.css")]
    assert css == [RECOMMENDED["static"].cache_control]
    assert set(from_audit.rules.get_column("asset_class")) <= set(
        from_requests.rules.get_column("asset_class")
    )


def test_shared_api_is_cached_by_the_cdn() -> None:
    frame = {"path": ["/api/items/1", "/api/items/2"]}
    assert "private" in str(cache_policy(frame, target="vercel"))
    assert "s-maxage=60" in str(cache_policy(frame, target="vercel", shared_api=True))


def test_paths_no_pattern_can_carry_are_reported(caplog: pytest.LogCaptureFixture) -> None:
    # pages at the root only get exact rules: these cannot be written as one
    frame = {"path": ["/caf%C3%A9", "/a:b", "/ok", "/img/caf%C3%A9.png"]}
    with caplog.at_level(logging.WARNING, logger="perflab.cdn.policy"):
        policy = cache_policy(frame, target="netlify")
    assert policy.unmatched == ["/a:b", "/caf%C3%A9"]
    assert set(policy.rules.get_column("pattern")) == {"/ok", "/img/*"}
    assert "2 path(s)" in caplog.text


def test_write_creates_the_file(tmp_path: Path) -> None:
    policy = cache_policy(site(), target="netlify")
    out = policy.write(tmp_path / "public" / "_headers")
    assert out.read_text() == policy.text


def test_bad_arguments() -> None:
    with pytest.raises(ParameterError, match="unknown target"):
        cache_policy(site(), target="apache")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="no entry"):
        cache_policy(site(), policies={"html": RECOMMENDED["html"]})

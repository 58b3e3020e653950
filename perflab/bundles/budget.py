"""Size budgets the way size-limit checks them, and the network profiles of a download.

:func:`budget` takes a list of checks — or the path of a size-limit config
(``.size-limit.json``, or a ``package.json`` with a ``"size-limit"`` array) — and says
for each whether the build passes. A check names what it measures and its limit:

=============  =================================================================
key            meaning
=============  =================================================================
``name``       the check's name (default: what it measures)
``path``       glob(s) over the emitted assets (``"dist/*.js"``, ``"!*.map"``
               excludes); leading folders that the asset names lack are ignored
``entry``      entry point name(s): the chunks those entries load at start
``chunk``      chunk key(s) or name(s)
``limit``      ``"170 kB"``, ``"1.5 MB"``, ``"100 KiB"``, a number of bytes, or a
               time (``"500 ms"``, ``"1 s"``): the download time on the profile
``gzip``       ``true``: gzip sizes (size-limit ≥ 9 measures brotli by default)
``brotli``     ``false`` (and no ``gzip``): uncompressed sizes
=============  =================================================================

Units follow size-limit's own ``parseBytes`` (size-limit 11): metric prefixes whatever
their case (``kB`` = ``KB`` = 1000 bytes, ``MB`` = 10⁶), binary ones with an ``i``
(``KiB`` = 1024). Older size-limit releases parsed with the ``bytes`` package, where
``KB`` meant 1024; a limit written for those reads 2.4 % looser here.

A time limit is compared with the download time on a :data:`NETWORK_PROFILES` profile,
``RTT + bytes × 8 / throughput`` — one round trip and the transfer, a lower bound (no
DNS, TCP or TLS set-up, no slow start) — not size-limit's headless-Chrome running time.

The profiles are Lighthouse's simulated throttling presets (``throughputKbps`` × 1024
bits per second, as Lighthouse's simulator converts them) and Chrome DevTools' "Fast 3G"
preset (its latency and throughput already adjusted by DevTools' factors 3.75 and 0.9).
The default budget, 170 kB of compressed JavaScript at start per entry, is Alex Russell's
"Can You Afford It?" (2017) figure for a five-second time-to-interactive on a median
phone over 3G, repeated in web.dev's "Your first performance budget".
"""

from __future__ import annotations

import fnmatch
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from perflab.errors import InputError, ParameterError
from perflab.frames import Schema

if TYPE_CHECKING:
    from perflab.bundles.model import Bundle

__all__ = [
    "BUDGET",
    "DEFAULT_BUDGET_BYTES",
    "NETWORK_PROFILES",
    "NetworkProfile",
    "budget",
    "default_spec",
    "download_ms",
    "format_bytes",
    "initial_sizes",
    "parse_size",
]

DEFAULT_BUDGET_BYTES = 170_000
"""170 kB of compressed JavaScript at start per entry (Alex Russell, web.dev)."""


@dataclass(frozen=True)
class NetworkProfile:
    """A network to download over: one round trip plus the bytes at the throughput.

    Examples
    --------
    >>> NETWORK_PROFILES["slow-4g"].bits_per_second
    1677721.6
    """

    name: str
    label: str
    rtt_ms: float
    throughput_kbps: float
    source: str

    @property
    def bits_per_second(self) -> float:
        """Throughput in bits per second (kbps × 1024, as Lighthouse's simulator)."""
        return self.throughput_kbps * 1024

    def describe(self) -> str:
        """``Slow 4G (Lighthouse mobile): 150 ms RTT, 1.6 Mbps``."""
        return (
            f"{self.label}: {self.rtt_ms:g} ms RTT, {self.bits_per_second / 1024 / 1024:.3g} Mbps"
        )


NETWORK_PROFILES: dict[str, NetworkProfile] = {
    p.name: p
    for p in (
        NetworkProfile(
            "slow-4g",
            "Slow 4G (Lighthouse mobile)",
            150.0,
            1.6 * 1024,
            "Lighthouse mobileSlow4G, its default mobile throttling (WebPageTest's 'Fast 3G')",
        ),
        NetworkProfile(
            "regular-3g",
            "Regular 3G (Lighthouse)",
            300.0,
            700.0,
            "Lighthouse mobileRegular3G (Chrome UX Report's 3G)",
        ),
        NetworkProfile(
            "fast-3g",
            "Fast 3G (Chrome DevTools)",
            562.5,
            1.6 * 1024 * 0.9,
            "Chrome DevTools 'Fast 3G' preset: 150 ms × 3.75 latency, 1.6 Mbps × 0.9",
        ),
        NetworkProfile(
            "4g",
            "4G (Lighthouse desktop)",
            40.0,
            10 * 1024,
            "Lighthouse desktopDense4G (dense 4G, 25th percentile)",
        ),
    )
}
"""Named networks: ``slow-4g`` (Lighthouse's mobile default), ``regular-3g``,
``fast-3g`` (Chrome DevTools) and ``4g`` (Lighthouse desktop)."""

BUDGET = Schema(
    "bundle budget",
    {
        "name": pl.String,
        "target": pl.String,
        "files": pl.List(pl.String),
        "compression": pl.String,
        "sizes": pl.String,
        "measured_bytes": pl.Int64,
        "limit": pl.String,
        "limit_bytes": pl.Int64,
        "download_ms": pl.Float64,
        "limit_ms": pl.Float64,
        "passed": pl.Boolean,
        "over_bytes": pl.Int64,
        "used_pct": pl.Float64,
    },
)
"""Columns of :func:`budget`: ``over_bytes`` is 0 when the check passes; a time limit
has ``limit_ms`` (and null ``limit_bytes``, ``over_bytes``)."""

_SIZE = re.compile(r"^([+-]?\d+(?:\.\d+)?) *(?:([kmgtpezy])?(i)?b)?$", re.IGNORECASE)
_UNITS = ("B", "kB", "MB", "GB", "TB")


def parse_size(value: str | float) -> int:
    """Bytes of a size-limit size (``"170 kB"``, ``"1 KiB"``, ``"10"``, 2500).

    Examples
    --------
    >>> parse_size("170 kB"), parse_size("2.5KB"), parse_size("1 KiB"), parse_size(10)
    (170000, 2500, 1024, 10)
    >>> parse_size("10 apples")
    Traceback (most recent call last):
    ...
    perflab.errors.ParameterError: size '10 apples' is not a number with a unit like '170 kB'
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    match = _SIZE.match(str(value).strip())
    if not match:
        raise ParameterError(f"size {value!r} is not a number with a unit like '170 kB'")
    number, prefix, iec = match.groups()
    power = "kmgtpezy".index(prefix.lower()) + 1 if prefix else 0
    return math.floor(float(number) * (1024 if iec else 1000) ** power)


def format_bytes(size: float) -> str:
    """Bytes the way size-limit prints them: metric, two decimals at most.

    Examples
    --------
    >>> format_bytes(999), format_bytes(97280), format_bytes(-1234567)
    ('999 B', '97.28 kB', '-1.23 MB')
    """
    power = 0
    while abs(size) >= 1000 ** (power + 1) and power < len(_UNITS) - 1:
        power += 1
    return f"{round(size / 1000**power, 2):g} {_UNITS[power]}"


def download_ms(size_bytes: float, profile: str | NetworkProfile = "slow-4g") -> float:
    """Milliseconds to download ``size_bytes``: ``RTT + bytes × 8 / throughput``.

    Examples
    --------
    >>> round(download_ms(170_000, "slow-4g"))
    961
    """
    prof = _profile(profile)
    return prof.rtt_ms + size_bytes * 8 / prof.bits_per_second * 1000


def _profile(profile: str | NetworkProfile) -> NetworkProfile:
    if isinstance(profile, NetworkProfile):
        return profile
    try:
        return NETWORK_PROFILES[profile]
    except KeyError:
        raise ParameterError(
            f"unknown network profile {profile!r}; known: {', '.join(NETWORK_PROFILES)}"
        ) from None


def _ratios() -> tuple[float, float]:
    from perflab.bundles.sizes import BROTLI_RATIO, GZIP_RATIO

    return GZIP_RATIO, BROTLI_RATIO


def _sized(df: pl.DataFrame, compression: str) -> tuple[pl.DataFrame, str]:
    """``df`` (size_bytes, gzip_bytes, brotli_bytes, sizes) with a ``bytes`` column of the
    compression asked and a ``_kind`` column (``measured`` or ``estimated``: a missing
    compressed size is estimated from the raw size). Also returns the kind of the whole."""
    if compression == "none":
        out = df.with_columns(
            pl.col("size_bytes").cast(pl.Int64).alias("bytes"), pl.lit("measured").alias("_kind")
        )
    else:
        gz, br = _ratios()
        raw = "gzip_bytes" if compression == "gzip" else "brotli_bytes"
        ratio = gz if compression == "gzip" else br
        out = df.with_columns(
            pl.coalesce(pl.col(raw), (pl.col("size_bytes") * ratio).round(0))
            .cast(pl.Int64)
            .alias("bytes"),
            pl.when(pl.col(raw).is_null() | (pl.col("sizes") != "measured"))
            .then(pl.lit("estimated"))
            .otherwise(pl.lit("measured"))
            .alias("_kind"),
        )
    kind = "estimated" if (out["_kind"] == "estimated").any() else "measured"
    return out, kind


def initial_sizes(
    bundle: Bundle,
    compression: str = "gzip",
    *,
    profile: str | NetworkProfile | None = None,
) -> pl.DataFrame:
    """Per entry, the chunks it loads at start and their bytes.

    Parameters
    ----------
    bundle : Bundle
        A read build.
    compression : {"gzip", "brotli", "none"}
        Which size to add up (compressed sizes missing from the build are estimated).
    profile : str or NetworkProfile, optional
        When given, a ``download_ms`` column: :func:`download_ms` of ``bytes`` on it.

    Returns
    -------
    polars.DataFrame
        ``entry, chunks (list[str]), files (list[str]), bytes, size_bytes, sizes``
        (and ``download_ms`` with a profile), biggest first.

    Examples
    --------
    >>> from perflab.bundles.model import Bundle
    >>> initial_sizes(Bundle.empty("webpack", "s.json")).height
    0
    """
    _check_compression(compression)
    prof = _profile(profile) if profile is not None else None
    eps = bundle.entrypoints.filter(pl.col("initial"))
    chunks = bundle.chunk_frame.unique("chunk", keep="first")
    schema: dict[str, Any] = {
        "entry": pl.String,
        "chunks": pl.List(pl.String),
        "files": pl.List(pl.String),
        "bytes": pl.Int64,
        "size_bytes": pl.Int64,
        "sizes": pl.String,
    }
    if prof is not None:
        schema["download_ms"] = pl.Float64
    if eps.height == 0:
        return pl.DataFrame(schema=schema)
    sized, _ = _sized(chunks, compression)
    joined = eps.join(
        sized.select("chunk", "files", "bytes", "size_bytes", "_kind"), on="chunk", how="left"
    )
    out = joined.group_by("entry", maintain_order=True).agg(
        pl.col("chunk").alias("chunks"),
        pl.col("files")
        .list.explode(keep_nulls=False, empty_as_null=False)
        .unique(maintain_order=True)
        .alias("files"),
        pl.col("bytes").sum().cast(pl.Int64),
        pl.col("size_bytes").sum().cast(pl.Int64),
        pl.when((pl.col("_kind") == "estimated").any())
        .then(pl.lit("estimated"))
        .otherwise(pl.lit("measured"))
        .alias("sizes"),
    )
    if prof is not None:
        out = out.with_columns(
            (prof.rtt_ms + pl.col("bytes") * 8 / prof.bits_per_second * 1000).alias("download_ms")
        )
    return out.select(list(schema)).sort(["bytes", "entry"], descending=[True, False])


def _check_compression(compression: str) -> None:
    if compression not in ("gzip", "brotli", "none"):
        raise ParameterError(f"compression must be gzip, brotli or none, not {compression!r}")


def default_spec(bundle: Bundle, limit: str | int = "170 kB") -> list[dict[str, Any]]:
    """One check per entry: its initial JavaScript, gzip, under ``limit`` (170 kB).

    Examples
    --------
    >>> from perflab.bundles.model import Bundle
    >>> default_spec(Bundle.empty("webpack", "s.json"))
    []
    """
    entries = bundle.entrypoints["entry"].unique(maintain_order=True).to_list()
    return [
        {"name": f"{e} (initial JS)", "entry": e, "limit": limit, "gzip": True} for e in entries
    ]


def _load_spec(spec: str | Path) -> list[dict[str, Any]]:
    path = Path(spec)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(str(path), None, f"cannot read the budget file: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(str(path), exc.lineno, f"not JSON: {exc.msg}") from exc
    if isinstance(data, dict):
        if "size-limit" not in data:
            raise InputError(str(path), None, 'a JSON object without a "size-limit" array')
        data = data["size-limit"]
    if not isinstance(data, list) or not all(isinstance(c, dict) for c in data):
        raise InputError(str(path), None, "size-limit config must be an array of objects")
    return data


def _as_list(v: object) -> list[str]:
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    if isinstance(v, Sequence):
        return [str(x) for x in v]
    raise ParameterError(f"expected a string or a list of strings, not {v!r}")


def _glob_match(name: str, pattern: str) -> bool:
    parts = pattern.split("/")
    return any(fnmatch.fnmatchcase(name, "/".join(parts[i:])) for i in range(len(parts)))


def _compression(check: Mapping[str, Any]) -> str:
    if "compression" in check:
        _check_compression(str(check["compression"]))
        return str(check["compression"])
    if check.get("gzip") is True:
        return "gzip"
    if check.get("brotli") is False:
        return "none"
    return "brotli"


def _one(
    bundle: Bundle, check: Mapping[str, Any], profile: NetworkProfile, index: int
) -> dict[str, Any]:
    compression = _compression(check)
    paths, entries, chunks = (_as_list(check.get(k)) for k in ("path", "entry", "chunk"))
    if sum(bool(x) for x in (paths, entries, chunks)) != 1:
        raise ParameterError(
            f"budget check {index} needs exactly one of 'path', 'entry' or 'chunk': {dict(check)}"
        )
    if paths:
        keep = [p for p in paths if not p.startswith("!")]
        drop = [p[1:] for p in paths if p.startswith("!")]
        names = [
            a
            for a in bundle.assets["asset"].to_list()
            if any(_glob_match(a, p) for p in keep) and not any(_glob_match(a, p) for p in drop)
        ]
        if not names:
            shown = bundle.assets["asset"].to_list()
            raise ParameterError(
                f"budget check {index}: no asset matches {paths} "
                f"(assets: {', '.join(shown[:5])}{', …' if len(shown) > 5 else ''})"
            )
        rows = bundle.assets.filter(pl.col("asset").is_in(names))
        rows, kind = _sized(rows, compression)
        files = rows["asset"].to_list()
        target = "path: " + ", ".join(paths)
    else:
        if entries:
            known = set(bundle.entrypoints["entry"].to_list())
            unknown = [e for e in entries if e not in known]
            if unknown:
                raise ParameterError(
                    f"budget check {index}: no entry {unknown}; known: {sorted(known)}"
                )
            keys = (
                bundle.entrypoints.filter(pl.col("entry").is_in(entries) & pl.col("initial"))[
                    "chunk"
                ]
                .unique(maintain_order=True)
                .to_list()
            )
            target = "entry: " + ", ".join(entries)
        else:
            cf = bundle.chunk_frame
            keys = cf.filter(
                pl.col("chunk").is_in(chunks)
                | pl.col("names").list.eval(pl.element().is_in(chunks)).list.any()
            )["chunk"].to_list()
            if not keys:
                raise ParameterError(f"budget check {index}: no chunk {chunks}")
            target = "chunk: " + ", ".join(chunks)
        rows = bundle.chunk_frame.filter(pl.col("chunk").is_in(keys)).unique("chunk", keep="first")
        rows, kind = _sized(rows, compression)
        files = [f for fs in rows["files"].to_list() for f in (fs or [])]
    measured = int(rows["bytes"].sum()) if rows.height else 0
    if not rows.height:
        kind = "measured"
    limit = check.get("limit")
    limit_bytes: int | None = None
    limit_ms: float | None = None
    if (
        limit is not None
        and isinstance(limit, str)
        and re.search(r"\d\s*m?s$", limit.strip(), re.I)
    ):
        value = float(re.sub(r"\s*m?s$", "", limit.strip(), flags=re.I))
        limit_ms = value if re.search(r"ms$", limit.strip(), re.I) else value * 1000
    elif limit is not None:
        limit_bytes = parse_size(limit)
    else:
        raise ParameterError(f"budget check {index} has no 'limit': {dict(check)}")
    took = download_ms(measured, profile)
    if limit_bytes is not None:
        passed = measured <= limit_bytes
        over: int | None = max(0, measured - limit_bytes)
        used = 100.0 * measured / limit_bytes if limit_bytes else math.inf
    else:
        assert limit_ms is not None
        passed = took <= limit_ms
        over = None
        used = 100.0 * took / limit_ms if limit_ms else math.inf
    return {
        "name": str(check.get("name") or target.split(": ", 1)[1]),
        "target": target,
        "files": files,
        "compression": compression,
        "sizes": kind,
        "measured_bytes": measured,
        "limit": str(limit),
        "limit_bytes": limit_bytes,
        "download_ms": took,
        "limit_ms": limit_ms,
        "passed": passed,
        "over_bytes": over,
        "used_pct": used,
    }


def budget(
    bundle: Bundle,
    spec: Sequence[Mapping[str, Any]] | str | Path | None = None,
    *,
    profile: str | NetworkProfile = "slow-4g",
) -> pl.DataFrame:
    """Check a build against size-limit style budgets; one row per check.

    Parameters
    ----------
    bundle : Bundle
        A read build (:func:`~perflab.bundles.read_webpack_stats` …).
    spec : list of dict, or path, optional
        The checks (see the module docstring), or a ``.size-limit.json`` /
        ``package.json``. Default: :func:`default_spec`, 170 kB gzip of initial
        JavaScript per entry.
    profile : str or NetworkProfile, default "slow-4g"
        The network of ``download_ms`` and of time limits (:data:`NETWORK_PROFILES`).

    Returns
    -------
    polars.DataFrame
        :data:`BUDGET`: ``name, target, files, compression, sizes, measured_bytes,
        limit, limit_bytes, download_ms, limit_ms, passed, over_bytes, used_pct``.

    Raises
    ------
    ParameterError
        A check without a limit or a target, an unknown entry or chunk, a path that
        matches no asset (size-limit refuses it too: a typo must not pass), a bad unit.
    InputError
        A config file that cannot be read or is not a size-limit config.

    Examples
    --------
    >>> from perflab.bundles.model import Bundle
    >>> budget(Bundle.empty("webpack", "s.json")).height
    0
    """
    prof = _profile(profile)
    checks = (
        default_spec(bundle)
        if spec is None
        else (_load_spec(spec) if isinstance(spec, str | Path) else list(spec))
    )
    rows = [_one(bundle, c, prof, i) for i, c in enumerate(checks)]
    return BUDGET.build(rows)

"""The generated CDN samples: deterministic, readable, and showing what is planted."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from perflab.cdn import samples
from perflab.cdn.read import read_cloudflare, read_cloudfront, read_fastly
from perflab.cdn.samples import DAY, FILES, MISCONFIGURED_PREFIX, PURGE_AT, write_samples
from perflab.samples import generators
from tests.warned import no_warning

SAMPLE = Path(__file__).parents[2] / "data" / "sample" / "cdn"
READERS = {"cloudfront": read_cloudfront, "cloudflare": read_cloudflare, "fastly": read_fastly}


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pl.DataFrame]:
    """The samples at 15 % of their size, read back by the readers."""
    dest = tmp_path_factory.mktemp("cdn-samples")
    paths = write_samples(dest, scale=0.15)
    assert [p.name for p in paths] == list(FILES.values())
    return {name: no_warning(READERS[name], p) for name, p in zip(FILES, paths, strict=True)}


def test_same_bytes_every_call(tmp_path: Path) -> None:
    first = write_samples(tmp_path / "a", scale=0.03)
    # another process, with another string-hash seed (set and dict orders differ)
    code = (
        "import sys; from perflab.cdn.samples import write_samples as w; w(sys.argv[1], scale=0.03)"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "b")], check=True, env=env)
    for a in first:
        assert a.read_bytes() == (tmp_path / "b" / "cdn" / a.name).read_bytes(), a.name
    assert first[0].read_bytes()[4:8] == b"\0\0\0\0"  # gzip mtime 0


def test_found_by_make_samples() -> None:
    assert "cdn" in generators()


def test_readable_with_the_whole_day(frames: dict[str, pl.DataFrame]) -> None:
    for provider, df in frames.items():
        want = samples.REQUESTS_PER_DAY[provider] * 0.15
        assert 0.9 * want < df.height < 1.1 * want, provider
        assert set(df["provider"]) == {provider}
        assert df["time"].min() >= DAY and df["time"].max() < DAY + timedelta(days=1, seconds=60)
        assert df["cache_hit"].null_count() == 0
        assert df["edge"].null_count() == 0 and df["country"].null_count() == 0
        assert df["host"].unique().to_list() == [samples.HOST]
    # the same catalogue behind every provider
    paths = [set(df["path"].unique()) for df in frames.values()]
    assert len(paths[0] & paths[1]) > 0.8 * len(paths[0] | paths[1])


def _hit_ratio(df: pl.DataFrame) -> float:
    return float(df["cache_hit"].cast(pl.Float64).mean())  # type: ignore[arg-type]


def test_the_purge_shows_on_cloudfront_only(frames: dict[str, pl.DataFrame]) -> None:
    window = (pl.col("time") >= PURGE_AT) & (pl.col("time") < PURGE_AT + timedelta(minutes=30))
    cloudfront = frames["cloudfront"]
    during = _hit_ratio(cloudfront.filter(window))
    rest = _hit_ratio(cloudfront.filter(~window))
    assert during < 0.5 * rest
    cloudflare = frames["cloudflare"]
    assert _hit_ratio(cloudflare.filter(window)) > 0.8 * _hit_ratio(cloudflare.filter(~window))
    # and the hour before the purge was normal
    before = (pl.col("time") >= PURGE_AT - timedelta(hours=1)) & (pl.col("time") < PURGE_AT)
    assert _hit_ratio(cloudfront.filter(before)) > 0.8 * rest


def test_misconfigured_prefix_hits_less_than_hashed_assets(
    frames: dict[str, pl.DataFrame],
) -> None:
    for provider, df in frames.items():
        images = _hit_ratio(df.filter(pl.col("path").str.starts_with(MISCONFIGURED_PREFIX)))
        hashed = _hit_ratio(df.filter(pl.col("path").str.starts_with("/_next/static/")))
        assert images < hashed / 3, (provider, hashed, images)


def test_provider_differences(frames: dict[str, pl.DataFrame]) -> None:
    europe = ["DE", "GB", "FR", "NL", "ES", "IT", "PL", "SE"]
    in_europe = pl.col("country").is_in(europe)
    cloudflare, cloudfront = frames["cloudflare"], frames["cloudfront"]
    assert _hit_ratio(cloudflare.filter(in_europe)) > _hit_ratio(cloudfront.filter(in_europe))

    def hit_ttfb(df: pl.DataFrame) -> float:
        hits = df.filter(pl.col("country").is_in(["US", "CA"]) & pl.col("cache_hit"))
        return float(hits["ttfb_ms"].median())  # type: ignore[arg-type]

    assert hit_ttfb(cloudfront) < hit_ttfb(cloudflare)
    # a miss pays the origin, a hit does not
    misses = cloudflare.filter(~pl.col("cache_hit"))
    assert misses["origin_ms"].null_count() < 0.05 * misses.height
    assert cloudflare.filter(pl.col("cache_status") == "hit")["origin_ms"].null_count() == (
        cloudflare.filter(pl.col("cache_status") == "hit").height
    )


@pytest.mark.skipif(not SAMPLE.is_dir(), reason="data/sample/cdn not generated")
def test_committed_samples_read_cleanly() -> None:
    for provider, name in FILES.items():
        path = SAMPLE / name
        assert path.stat().st_size < 3.2e6, name
        df = no_warning(READERS[provider], path)
        assert df.height > 0.9 * samples.REQUESTS_PER_DAY[provider]

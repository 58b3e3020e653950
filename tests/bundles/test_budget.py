"""Budgets: size-limit's units and options, pass/fail per check, network profiles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perflab.bundles.budget import (
    NETWORK_PROFILES,
    budget,
    download_ms,
    format_bytes,
    initial_sizes,
    parse_size,
)
from perflab.bundles.model import Bundle
from perflab.errors import InputError, ParameterError

from .test_rules import _split


@pytest.mark.parametrize(
    ("text", "expected"),
    # size-limit's own test cases (packages/size-limit/test/bytes.test.js)
    [
        ("10", 10),
        ("1 B", 1),
        ("1 kB", 1000),
        ("2.5kB", 2500),
        ("1 KiB", 1024),
        ("1 MiB", 1048576),
        ("-1 kB", -1000),
        ("170 KB", 170000),
        ("1.5 MB", 1500000),
        (2048, 2048),
    ],
)
def test_sizes_parse_like_size_limit(text: str | int, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("bad", ["10 apples", "", "kB", "1.2.3 kB"])
def test_bad_sizes_are_refused(bad: str) -> None:
    with pytest.raises(ParameterError):
        parse_size(bad)


def test_format_bytes_matches_size_limit() -> None:
    assert [format_bytes(n) for n in (0, 999, 1000, 97280, 102400, 1234567, -102400)] == [
        "0 B",
        "999 B",
        "1 kB",
        "97.28 kB",
        "102.4 kB",
        "1.23 MB",
        "-102.4 kB",
    ]


def test_profiles_are_lighthouse_presets() -> None:
    slow = NETWORK_PROFILES["slow-4g"]
    assert (slow.rtt_ms, slow.throughput_kbps) == (150, 1638.4)
    assert (NETWORK_PROFILES["regular-3g"].rtt_ms, NETWORK_PROFILES["4g"].rtt_ms) == (300, 40)
    # 1.6 Mbps (×1024): 170 kB take 150 ms + 1360000 / 1677721.6 s
    assert download_ms(170_000) == pytest.approx(150 + 1_360_000 / 1_677_721.6 * 1000)
    assert download_ms(0, "4g") == 40
    with pytest.raises(ParameterError, match="slow-4g"):
        download_ms(1, "carrier-pigeon")


def test_default_budget_is_170_kb_gzip_per_entry() -> None:
    out = budget(_split(False))
    assert out["name"].to_list() == ["a (initial JS)", "b (initial JS)"]
    assert out["limit_bytes"].to_list() == [170_000, 170_000]
    assert out["compression"].to_list() == ["gzip", "gzip"]
    assert out["measured_bytes"].to_list() == [39_900, 15_600]
    assert out["passed"].all() and out["over_bytes"].to_list() == [0, 0]


def test_checks_pass_and_fail_with_size_limit_options() -> None:
    b = _split(False)
    out = budget(
        b,
        [
            {"name": "all js", "path": "*.js", "limit": "40 kB", "gzip": True},
            {"path": ["*.js", "!entry-b.js"], "limit": "30 kB"},  # brotli by default
            {"entry": "a", "limit": "100 kB", "brotli": False},
            {"chunk": "entry-b", "limit": "200 ms"},
        ],
        profile="slow-4g",
    )
    rows = {r["name"]: r for r in out.iter_rows(named=True)}
    assert rows["all js"]["measured_bytes"] == 39_900 + 15_600
    assert not rows["all js"]["passed"] and rows["all js"]["over_bytes"] == 15_500
    brotli = rows["*.js, !entry-b.js"]
    assert brotli["compression"] == "brotli" and brotli["files"] == ["entry-a.js"]
    assert brotli["measured_bytes"] == round(133_000 * 0.3 * 0.8) and brotli["passed"] is False
    raw = rows["a"]
    assert raw["compression"] == "none" and raw["measured_bytes"] == 133_000 and not raw["passed"]
    timed = rows["entry-b"]
    assert timed["limit_ms"] == 200 and timed["limit_bytes"] is None
    assert timed["download_ms"] == pytest.approx(download_ms(round(52_000 * 0.3 * 0.8)))
    assert timed["passed"] is False  # 150 ms RTT + 59 ms


def test_a_size_limit_config_file(tmp_path: Path) -> None:
    cfg = tmp_path / ".size-limit.json"
    cfg.write_text(json.dumps([{"path": "dist/entry-a.js", "limit": "50 kB", "gzip": True}]))
    out = budget(_split(False), cfg)
    assert out["files"][0].to_list() == ["entry-a.js"] and out["passed"][0]
    pkg = tmp_path / "package.json"
    pkg.write_text(json.dumps({"name": "x", "size-limit": [{"entry": "b", "limit": "1 kB"}]}))
    assert not budget(_split(False), pkg)["passed"][0]


def test_bad_budget_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('[{"path": "x.js",\n "limit": }]')
    with pytest.raises(InputError, match=r"bad\.json:2: not JSON"):
        budget(_split(False), bad)
    with pytest.raises(InputError, match="size-limit"):
        (tmp_path / "p.json").write_text("{}")
        budget(_split(False), tmp_path / "p.json")
    with pytest.raises(ParameterError, match="exactly one"):
        budget(_split(False), [{"limit": "1 kB"}])
    with pytest.raises(ParameterError, match="no entry"):
        budget(_split(False), [{"entry": "nope", "limit": "1 kB"}])
    with pytest.raises(ParameterError, match="no 'limit'"):
        budget(_split(False), [{"entry": "a"}])
    # a path that matches nothing is a typo, not a 0-byte pass (size-limit refuses it)
    with pytest.raises(ParameterError, match=r"no asset matches \['dist/mian\.js'\]"):
        budget(_split(False), [{"path": "dist/mian.js", "limit": "1 kB"}])


def test_empty_build_gives_an_empty_frame() -> None:
    out = budget(Bundle.empty("webpack", "s.json"))
    assert out.height == 0 and "passed" in out.columns


def test_sample_budget_is_measured(webpack_a: Bundle, webpack_b: Bundle) -> None:
    a = budget(webpack_a, [{"entry": "main", "limit": "100 kB", "gzip": True}])
    assert a["sizes"][0] == "measured" and not a["passed"][0]
    # the measured gzip bytes are those of the emitted files
    files = webpack_a.assets.filter(webpack_a.assets["asset"].is_in(a["files"][0].to_list()))
    assert a["measured_bytes"][0] == files["gzip_bytes"].sum()
    assert budget(webpack_b, [{"entry": "main", "limit": "1 MB"}])["sizes"][0] == "estimated"


def test_initial_sizes_add_up_the_entry_chunks_and_time_them(webpack_a: Bundle) -> None:
    start = initial_sizes(webpack_a, "gzip", profile="regular-3g")
    main = start.filter(entry="main").row(0, named=True)
    eps = webpack_a.entrypoints
    expected = set(eps.filter((eps["entry"] == "main") & eps["initial"])["chunk"].to_list())
    assert set(main["chunks"]) == expected and main["sizes"] == "measured"
    chunks = webpack_a.chunk_frame.filter(webpack_a.chunk_frame["chunk"].is_in(list(expected)))
    assert main["bytes"] == chunks["gzip_bytes"].sum()
    assert main["download_ms"] == pytest.approx(download_ms(main["bytes"], "regular-3g"))
    assert start["bytes"].to_list() == sorted(start["bytes"].to_list(), reverse=True)
    assert "download_ms" not in initial_sizes(webpack_a).columns
    empty = initial_sizes(Bundle.empty("webpack", "s.json"), profile="4g")
    assert empty.height == 0 and "download_ms" in empty.columns
    with pytest.raises(ParameterError, match="unknown network profile"):
        initial_sizes(webpack_a, profile="dial-up")

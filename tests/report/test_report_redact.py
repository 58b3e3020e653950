"""Secrets given as parameters are masked in what a report shows, and nothing else is."""

from __future__ import annotations

import pytest

from perflab.report.index import render_index
from perflab.report.redact import MASK, is_secret_name, redact, redact_text


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("postgresql://app:pw@db:5432/shop", "postgresql://app:***@db:5432/shop"),
        ("redis://:pw@cache:6379/0", "redis://:***@cache:6379/0"),
        ("mysql+pymysql://root:p%40ss@db/app?ssl=1", "mysql+pymysql://root:***@db/app?ssl=1"),
        ("host=db password=pw user=app", "host=db password=*** user=app"),
        ("Server=db;User Id=app;Password=pw;", "Server=db;User Id=app;Password=***;"),
        ("host=db PWD='a b c' port=5432", "host=db PWD=*** port=5432"),
        # nothing secret: unchanged
        ("postgresql://app@db/shop", "postgresql://app@db/shop"),
        ("https://example.com/a?b=c", "https://example.com/a?b=c"),
        ("data/sample/latency.csv", "data/sample/latency.csv"),
        ("p95 = 250 ms", "p95 = 250 ms"),
    ],
)
def test_passwords_in_connection_strings_are_masked(text: str, shown: str) -> None:
    assert redact_text(text) == shown


@pytest.mark.parametrize(
    "name",
    ["password", "db_password", "PGPASSWORD", "apiKey", "api_key", "auth-token", "db_pass"],
)
def test_secret_names_are_recognised(name: str) -> None:
    assert is_secret_name(name)
    assert redact({name: "x"}) == {name: MASK}


@pytest.mark.parametrize(
    "name",
    ["slo_p95_ms", "metrics_path", "author", "passes", "bypass_cache", "max_tokens", "tokenizer"],
)
def test_ordinary_names_are_not_secret(name: str) -> None:
    assert not is_secret_name(name)
    assert redact({name: "x"}) == {name: "x"}


def test_nested_values_are_walked_and_the_input_is_left_alone() -> None:
    params = {
        "monitoring": {"targets": ["http://u:pw@a/metrics", "http://b/metrics"], "token": "t"},
        "n": 3,
        "token": None,
    }
    assert redact(params) == {
        "monitoring": {"targets": ["http://u:***@a/metrics", "http://b/metrics"], "token": MASK},
        "n": 3,
        "token": None,
    }
    assert params["monitoring"]["token"] == "t"


def test_the_index_shows_the_parameters_it_is_given() -> None:
    page = render_index(
        {
            "run_id": "r1",
            "started_at": "2026-11-01T00:00:00+00:00",
            "duration_s": 1.0,
            "notebooks": [
                {
                    "name": "db",
                    "status": "ok",
                    "duration_s": 1.0,
                    "figures": [],
                    "parameters": redact({"dsn": "postgresql://app:hunter2@db/app"}),
                    "error": None,
                    "html": "db.html",
                    "ipynb": "db.ipynb",
                }
            ],
        }
    )
    assert "postgresql://app:***@db/app" in page and "hunter2" not in page

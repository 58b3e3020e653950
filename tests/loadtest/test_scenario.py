"""Scenarios: steps, weights, and HAR files replayed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perflab.errors import InputError, ParameterError
from perflab.loadtest import Request, Scenario
from perflab.loadtest.scenario import as_scenario


def test_steps_weights_and_names():
    s = Scenario(["/a", Request("/b?x=1", "POST", body=b"{}", weight=3)], order="weighted")
    assert s.names == ["GET /a", "POST /b"]
    assert s.weights == [0.25, 0.75]
    assert Scenario(["/a", "/b"], order="sequence").weights == [0.5, 0.5]
    raw = s.encode("h:8", "/api")
    assert raw[1].startswith(b"POST /api/b?x=1 HTTP/1.1\r\nHost: h:8\r\n")
    assert raw[1].endswith(b"Content-Length: 2\r\n\r\n{}")


@pytest.mark.parametrize(
    "steps, message",
    [
        ([], "at least one"),
        ([{"path": "/", "weight": -1}], "weight"),
        ([{"path": "/", "weight": 0}], "add up to 0"),
        ([{"path": "/a b"}], "space"),
        ([{"path": "/", "headers": {"X": "a\r\nInjected: 1"}}], "bad header"),
        ([{"nope": 1}], "step 0"),
        ([42], "step 0"),
    ],
)
def test_bad_steps(steps, message):
    with pytest.raises(ParameterError, match=message):
        Scenario(steps)


def har(tmp_path: Path, doc: object, text: str | None = None) -> Path:
    p = tmp_path / "x.har"
    p.write_text(text if text is not None else json.dumps(doc))
    return p


def test_har_keeps_the_main_origin_and_drops_pseudo_headers(tmp_path: Path):
    entries = [
        {
            "request": {
                "method": "GET",
                "url": "https://a.test/",
                "headers": [
                    {"name": ":authority", "value": "a.test"},
                    {"name": "Cookie", "value": "s=1"},
                    {"name": "Host", "value": "a.test"},
                ],
            }
        },
        {"request": {"method": "GET", "url": "https://a.test/app.js", "headers": []}},
        {"request": {"method": "GET", "url": "https://cdn.other/x.js", "headers": []}},
        {"request": {"method": "GET", "url": "data:image/png;base64,AA", "headers": []}},
    ]
    s = Scenario.from_har(har(tmp_path, {"log": {"entries": entries}}))
    assert s.names == ["GET /", "GET /app.js"] and s.order == "sequence"
    assert dict(s.steps[0].headers) == {"Cookie": "s=1"}
    other = Scenario.from_har(
        har(tmp_path, {"log": {"entries": entries}}), origin="https://cdn.other"
    )
    assert other.names == ["GET /x.js"]
    assert as_scenario(str(tmp_path / "x.har")).names == ["GET /", "GET /app.js"]


def test_har_errors_name_the_file_and_line(tmp_path: Path):
    with pytest.raises(InputError, match=r"x\.har:2: not JSON"):
        Scenario.from_har(har(tmp_path, None, '{"log":\n {"entries": [}'))
    with pytest.raises(InputError, match=r"no log\.entries"):
        Scenario.from_har(har(tmp_path, {"log": {}}))
    with pytest.raises(InputError, match="entry 0"):
        Scenario.from_har(har(tmp_path, {"log": {"entries": [{"request": {}}]}}))
    with pytest.raises(InputError, match="no http"):
        Scenario.from_har(har(tmp_path, {"log": {"entries": []}}))
    with pytest.raises(InputError, match="no such file"):
        Scenario.from_har(tmp_path / "missing.har")
    with pytest.raises(InputError, match="not JSON"):
        Scenario.from_har(har(tmp_path, None, ""))

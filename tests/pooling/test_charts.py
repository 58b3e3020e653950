import polars as pl

from perflab.pooling import erlang_table, pool_timeline, read_acquires, what_if
from perflab.pooling.charts import pool_over_time, what_if_chart

from .conftest import SAMPLES


def test_charts_of_the_capture_render_to_vega_lite():
    ev = read_acquires(SAMPLES / "app.acquires.jsonl.gz")
    spec = pool_over_time(pool_timeline(ev), max_size=4).to_dict()
    assert len(spec["layer"]) == 2
    curves = pl.concat(
        [
            erlang_table(380.0, 9.4, range(3, 10)).select("size", "p99_wait_ms", "source"),
            what_if(ev, range(3, 10)).select("size", "p99_wait_ms", "source"),
        ]
    )
    bench = pl.read_csv(SAMPLES / "bench.csv")
    spec = what_if_chart(curves, measured=bench, target_ms=10, current_size=4).to_dict()
    marks = [m["type"] if isinstance(m, dict) else m for m in (x["mark"] for x in spec["layer"])]
    assert marks == [
        "line", "point", "rule", "rule",
    ]  # fmt: skip

"""The index advisor on the real PostgreSQL log, with the indexes its schema already has.

``data/sample/queries/postgresql.log`` is the workload of ``data/make/queries_real.py``
(a shop: users, products, orders, order_items, events); ``schema.sql`` is the
``pg_dump --schema-only`` of that database after the run.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from perflab.errors import ParameterError
from perflab.queries import (
    INDEX_CANDIDATES,
    Index,
    existing_indexes_from_sql,
    query_patterns,
    read_postgres,
    recommend_indexes,
    schema_from_sql,
)

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "sample" / "queries"
PREFIXES = ["%m [%p] %q%u@%d app=%a ", "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h "]
SHOP_TABLES = {"users", "products", "orders", "order_items", "events", "settings", "scratch"}


@pytest.fixture(scope="module")
def patterns() -> pl.DataFrame:
    log = read_postgres(SAMPLES / "postgresql.log", prefix=PREFIXES)
    return query_patterns(log.statements)


@pytest.fixture(scope="module")
def schema_sql() -> str:
    return (SAMPLES / "schema.sql").read_text()


@pytest.fixture(scope="module")
def existing(schema_sql) -> list[Index]:
    return existing_indexes_from_sql(schema_sql)


@pytest.fixture(scope="module")
def candidates(patterns, existing) -> pl.DataFrame:
    return recommend_indexes(patterns, existing=existing)


def candidate(cands: pl.DataFrame, table: str, columns: list[str], kind: str = "btree") -> dict:
    rows = cands.filter(
        (pl.col("table") == table)
        & (pl.col("columns") == pl.lit(columns, dtype=pl.List(pl.String)))
        & (pl.col("kind") == kind)
    ).to_dicts()
    assert len(rows) == 1, f"no single {kind} candidate {table}{columns} in\n{cands}"
    return rows[0]


def pattern(patterns: pl.DataFrame, query: str) -> dict:
    rows = patterns.filter(pl.col("query") == query).to_dicts()
    assert len(rows) == 1, query
    return rows[0]


def one(sample: str, *, fp: str = "f1", calls: int = 10, total_ms: float = 100.0) -> dict:
    return {
        "fingerprint": fp,
        "query": sample,
        "sample": sample,
        "calls": calls,
        "total_ms": total_ms,
    }


# ---------------------------------------------------------------------------------------
# existing indexes from a schema dump


def test_existing_indexes_from_the_dump(existing):
    found = {(i.table, i.columns) for i in existing}
    assert found == {
        # ALTER TABLE ONLY … ADD CONSTRAINT … PRIMARY KEY (…)
        ("events", ("id",)),
        ("order_items", ("id",)),
        ("orders", ("id",)),
        ("products", ("id",)),
        ("settings", ("key",)),
        ("users", ("id",)),
        # … UNIQUE (…)
        ("products", ("sku",)),
        ("users", ("email",)),
        # CREATE INDEX name ON public.table USING btree (…)
        ("events", ("kind",)),
        ("products", ("category",)),
    }
    assert {i.kind for i in existing} == {"btree"}


def test_existing_index_keeps_its_name_in_the_definition_and_drops_the_schema(existing):
    by_def = {i.table: i.definition for i in existing if "CREATE INDEX" in i.definition}
    assert "events_kind_idx" in by_def["events"]
    assert "products_category_idx" in by_def["products"]


def test_existing_indexes_from_create_table_and_create_index_forms():
    ddl = """
    CREATE TABLE public.t (id integer PRIMARY KEY, a integer, b integer, UNIQUE (a, b));
    CREATE TABLE u (x integer, y integer, note text UNIQUE, PRIMARY KEY (x, y));
    CREATE UNIQUE INDEX t_b_key ON public.t USING btree (b);
    CREATE INDEX t_b_live ON public.t USING btree (b, a) WHERE b IS NOT NULL;
    CREATE INDEX IF NOT EXISTS u_y ON u (y DESC);
    CREATE INDEX u_note_trgm ON public.u USING gin (note gin_trgm_ops);
    """
    got = {(i.table, i.columns, i.kind) for i in existing_indexes_from_sql(ddl)}
    assert ("t", ("id",), "btree") in got
    assert ("t", ("a", "b"), "btree") in got
    assert ("u", ("x", "y"), "btree") in got
    assert ("u", ("note",), "btree") in got
    assert ("t", ("b",), "btree") in got
    assert ("t", ("b", "a"), "btree") in got  # a partial index, by its columns
    assert ("u", ("y",), "btree") in got  # sort order is not part of the column
    assert any(t == "u" and kind == "trigram" for t, _, kind in got)
    partial = next(i for i in existing_indexes_from_sql(ddl) if i.columns == ("b", "a"))
    assert "WHERE" in partial.definition and "t_b_live" in partial.definition


def test_no_ddl_gives_no_existing_index():
    assert existing_indexes_from_sql("SELECT 1; -- nothing here") == []


# ---------------------------------------------------------------------------------------
# candidates on the real workload


def test_candidates_have_the_index_candidates_schema(candidates):
    assert candidates.schema == pl.Schema(INDEX_CANDIDATES.dtypes())
    assert candidates.height > 0
    # HypoPG's columns are left for a live server to fill
    for col in ("cost_before", "cost_after", "validated"):
        assert candidates.get_column(col).null_count() == candidates.height


def test_no_candidate_is_already_served_by_an_existing_index(candidates, existing):
    for r in candidates.iter_rows(named=True):
        want = tuple(c.lower() for c in r["columns"])
        for e in existing:
            if e.table == r["table"] and (e.kind == r["kind"] or r["kind"] == "btree"):
                assert tuple(c.lower() for c in e.columns)[: len(want)] != want, (r, e)


def test_without_the_dump_the_unique_keys_are_proposed_again(patterns):
    # the dump is what tells the advisor that products.sku is already UNIQUE
    cands = recommend_indexes(patterns)
    candidate(cands, "products", ["sku"])


def test_primary_keys_are_assumed_without_a_dump(patterns):
    cands = recommend_indexes(patterns)
    assert cands.filter(pl.col("columns") == pl.lit(["id"], dtype=pl.List(pl.String))).height == 0


def test_system_catalog_tables_never_appear(patterns, existing, candidates):
    # the log holds pg_dump's catalog queries (pg_class, pg_depend, pg_attribute …)
    assert patterns.filter(pl.col("query").str.contains("pg_depend")).height > 0
    assert not candidates.get_column("table").str.starts_with("pg_").any()
    assert set(candidates.get_column("table")) <= SHOP_TABLES


def test_catalog_queries_give_no_candidate_even_with_their_schema():
    cands = recommend_indexes(
        [
            one("SELECT relname FROM pg_catalog.pg_class WHERE relname = 'x'", fp="a"),
            one("SELECT oid FROM pg_class WHERE relnamespace = 11", fp="b"),
            one("SELECT objid FROM pg_depend WHERE refobjid = 3 AND deptype = 'n'", fp="c"),
        ]
    )
    assert cands.height == 0


def test_information_schema_views_give_no_candidate():
    sample = "SELECT column_name FROM information_schema.columns WHERE table_name = 'orders'"
    assert recommend_indexes([one(sample)]).height == 0


def test_the_n_plus_one_child_query_gets_an_index_on_its_key(patterns, candidates):
    child = pattern(patterns, "SELECT product_id, qty, price FROM order_items WHERE order_id = ?")
    c = candidate(candidates, "order_items", ["order_id"])
    assert c["definition"] == "CREATE INDEX CONCURRENTLY ON order_items (order_id);"
    assert c["reason"] == "equality on order_id"
    assert child["fingerprint"] in c["fingerprints"]
    assert c["calls"] == child["calls"] == 40


def test_the_workers_parent_query_gets_equality_then_order_by(patterns, candidates):
    parent = pattern(
        patterns, "SELECT id FROM orders WHERE user_id = ? ORDER BY created_at DESC LIMIT ?"
    )
    c = candidate(candidates, "orders", ["user_id", "created_at"])
    assert c["definition"] == "CREATE INDEX CONCURRENTLY ON orders (user_id, created_at);"
    assert c["reason"].startswith("equality on user_id; order by created_at")
    assert c["fingerprints"][0] == parent["fingerprint"]
    assert c["total_ms"] >= parent["total_ms"]
    # and not the other way round: the sort column first would not serve the equality
    assert (
        candidates.filter(
            (pl.col("table") == "orders") & (pl.col("columns").list.first() == "created_at")
        ).height
        == 0
    )


def test_a_candidates_calls_and_time_are_those_of_the_patterns_it_serves(patterns, candidates):
    by_fp = {r["fingerprint"]: r for r in patterns.iter_rows(named=True)}
    for c in candidates.iter_rows(named=True):
        served = [by_fp[f] for f in c["fingerprints"]]
        assert len(set(c["fingerprints"])) == c["patterns"] == len(served)
        assert c["calls"] == sum(p["calls"] for p in served)
        assert c["total_ms"] == pytest.approx(sum(p["total_ms"] for p in served))
    keys = candidates.select("table", "columns", "kind")
    assert keys.unique().height == keys.height  # one row per index


def test_lower_email_gets_an_expression_index(candidates):
    c = candidate(candidates, "users", ["LOWER(email)"], kind="expression")
    assert c["definition"] == "CREATE INDEX CONCURRENTLY ON users ((LOWER(email)));"
    # the unique index on users(email) cannot serve lower(email) = …: it stays
    assert c["reason"] == "condition on LOWER(email)"


def test_a_cast_of_a_column_gets_an_expression_index(candidates):
    c = candidate(candidates, "orders", ["CAST(created_at AS DATE)"], kind="expression")
    assert "((CAST(created_at AS DATE)))" in c["definition"]


def test_like_with_a_leading_wildcard_gets_a_trigram_index(candidates):
    c = candidate(candidates, "products", ["title"], kind="trigram")
    assert "CREATE EXTENSION IF NOT EXISTS pg_trgm" in c["definition"]
    assert "USING gin (title gin_trgm_ops)" in c["definition"]
    assert "leading wildcard" in c["reason"]
    # no B-tree on title is proposed for it: a B-tree cannot serve '%phone%'
    assert (
        candidates.filter(
            (pl.col("table") == "products")
            & (pl.col("kind") == "btree")
            & pl.col("columns").list.contains("title")
        ).height
        == 0
    )


def test_candidates_are_ranked_by_total_time(candidates):
    total = candidates.get_column("total_ms").to_list()
    assert total == sorted(total, reverse=True)
    # the slowest pattern of the log (NOT IN over orders.status) leads
    top = candidates.row(0, named=True)
    assert (top["table"], top["columns"]) == ("orders", ["status"])


def test_the_ranking_follows_the_time_not_the_calls():
    cands = recommend_indexes(
        [
            one("SELECT id FROM a WHERE x = 1", fp="many", calls=1000, total_ms=10.0),
            one("SELECT id FROM b WHERE y = 1", fp="slow", calls=2, total_ms=900.0),
        ]
    )
    assert cands.get_column("table").to_list() == ["b", "a"]


def test_tables_known_keeps_the_applications_tables(patterns, existing, schema_sql):
    known = schema_from_sql(schema_sql)
    cands = recommend_indexes(patterns, existing=existing, tables_known=known)
    assert set(cands.get_column("table")) <= set(known)
    only_orders = recommend_indexes(patterns, existing=existing, tables_known=["ORDERS"])
    assert set(only_orders.get_column("table")) == {"orders"}


def test_min_total_ms_leaves_out_cheap_patterns(patterns, existing):
    cands = recommend_indexes(patterns, existing=existing, min_total_ms=100.0)
    assert cands.height > 0
    assert (cands.get_column("total_ms") >= 100.0).all()


# ---------------------------------------------------------------------------------------
# small inputs: forms, merging, limits


def test_mysql_definitions_use_alter_table():
    cands = recommend_indexes(
        [
            one("SELECT id FROM orders WHERE user_id = 42 ORDER BY created_at DESC", fp="a"),
            one("SELECT id FROM users WHERE LOWER(email) = 'a@b.c'", fp="b", total_ms=50.0),
        ],
        dialect="mysql",
    )
    defs = dict(zip(cands.get_column("table"), cands.get_column("definition"), strict=True))
    assert defs["orders"] == "ALTER TABLE orders ADD INDEX (user_id, created_at);"
    assert defs["users"] == "ALTER TABLE users ADD INDEX ((LOWER(email)));"


def test_mysql_gets_no_trigram_index():
    cands = recommend_indexes(
        [one("SELECT id FROM users WHERE name LIKE '%ann%'")], dialect="mysql"
    )
    assert "trigram" not in cands.get_column("kind").to_list()


def test_an_unknown_dialect_is_a_parameter_error():
    with pytest.raises(ParameterError, match="dialect"):
        recommend_indexes([one("SELECT 1")], dialect="oracle")


def test_the_same_candidate_from_several_patterns_is_one_row_with_summed_calls_and_time():
    cands = recommend_indexes(
        [
            one("SELECT id FROM orders WHERE user_id = 1", fp="p1", calls=5, total_ms=50.0),
            one("SELECT total FROM orders o WHERE o.user_id = 2", fp="p2", calls=7, total_ms=70.0),
            one(
                "SELECT count(*) FROM orders WHERE user_id IN (1, 2)",
                fp="p3",
                calls=1,
                total_ms=1.5,
            ),
        ]
    )
    c = candidate(cands, "orders", ["user_id"])
    assert c["patterns"] == 3
    assert c["fingerprints"] == ["p1", "p2", "p3"]
    assert c["calls"] == 13
    assert c["total_ms"] == pytest.approx(121.5)
    assert cands.height == 1


def test_a_pattern_serving_one_candidate_twice_counts_once():
    # the same table filtered twice in one statement (a UNION of two selects)
    sample = "SELECT id FROM orders WHERE user_id = 1 UNION SELECT id FROM orders WHERE user_id = 2"
    c = candidate(recommend_indexes([one(sample, calls=4, total_ms=40.0)]), "orders", ["user_id"])
    assert (c["patterns"], c["calls"], c["total_ms"]) == (1, 4, 40.0)


def test_range_column_goes_after_the_equality_columns():
    sample = "SELECT id FROM orders WHERE created_at > now() - interval '1 day' AND status = 'new'"
    c = candidate(recommend_indexes([one(sample)]), "orders", ["status", "created_at"])
    assert c["reason"] == "equality on status; range on created_at"


def test_a_candidate_that_starts_a_longer_one_on_its_table_is_folded_into_it():
    cands = recommend_indexes(
        [
            one("SELECT id FROM orders WHERE user_id = 7", fp="a", total_ms=30.0),
            one("SELECT id FROM orders WHERE user_id = 7 AND status = 'x'", fp="b", total_ms=70.0),
            one("SELECT id FROM users WHERE user_id = 7", fp="c", total_ms=20.0),
        ]
    )
    assert cands.select("table", "columns").rows() == [
        ("orders", ["user_id", "status"]),  # serves user_id = ? too
        ("users", ["user_id"]),  # another table: not folded
    ]
    c = candidate(cands, "orders", ["user_id", "status"])
    assert (c["patterns"], c["calls"], c["total_ms"]) == (2, 20, 100.0)


def test_a_candidate_that_does_not_start_a_longer_one_stays():
    cands = recommend_indexes(
        [
            one("SELECT id FROM orders WHERE user_id = 7", fp="a", total_ms=30.0),
            one("SELECT id FROM orders WHERE status = 'x' AND user_id = 7", fp="b", total_ms=70.0),
        ]
    )
    assert sorted(cands.get_column("columns").to_list()) == [["status", "user_id"], ["user_id"]]


def test_max_columns_cuts_long_candidates():
    sample = "SELECT id FROM t WHERE a = 1 AND b = 2 AND c = 3 AND d = 4 AND e = 5"
    assert recommend_indexes([one(sample)]).item(0, "columns").to_list() == ["a", "b", "c", "d"]
    two = recommend_indexes([one(sample)], max_columns=2)
    assert two.item(0, "columns").to_list() == ["a", "b"]


def test_an_existing_index_that_starts_with_the_columns_covers_the_candidate():
    sample = "SELECT id FROM orders WHERE user_id = 7"
    wider = [Index("orders", ("user_id", "created_at"))]
    assert recommend_indexes([one(sample)], existing=wider).height == 0
    # an index that starts with another column does not serve it
    other = [Index("orders", ("created_at", "user_id"))]
    assert recommend_indexes([one(sample)], existing=other).height == 1


def test_an_existing_expression_index_covers_the_expression_candidate():
    ddl = "CREATE INDEX users_lower_email ON public.users USING btree (lower(email));"
    sample = "SELECT id FROM users WHERE lower(email) = lower('A@b.c')"
    assert recommend_indexes([one(sample)], existing=existing_indexes_from_sql(ddl)).height == 0


def test_an_existing_trigram_index_covers_the_trigram_candidate():
    ddl = "CREATE INDEX products_title_trgm ON public.products USING gin (title gin_trgm_ops);"
    sample = "SELECT id FROM products WHERE title LIKE '%phone%'"
    assert recommend_indexes([one(sample)], existing=existing_indexes_from_sql(ddl)).height == 0


def test_unparsable_sql_and_empty_input_give_no_candidate():
    assert recommend_indexes([one("this is not sql at all")]).height == 0
    empty = recommend_indexes(pl.DataFrame(schema={"fingerprint": pl.String, "query": pl.String}))
    assert empty.height == 0
    assert empty.schema == pl.Schema(INDEX_CANDIDATES.dtypes())


def test_pandas_input_gives_the_same_candidates(patterns, existing, candidates):
    from_pandas = recommend_indexes(patterns.to_pandas(), existing=existing)
    assert from_pandas.select("table", "columns", "calls", "total_ms").equals(
        candidates.select("table", "columns", "calls", "total_ms")
    )

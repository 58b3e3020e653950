"""Fingerprints: one pattern and one stable id per query shape (perflab.queries.fingerprint).

What a user relies on: the prepared statement and its literal twin are one pattern,
lists of any length are one pattern, comments/spacing/case do not split a pattern, two
different queries are never merged, and the id is the same in every process.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perflab.errors import ParameterError
from perflab.queries import fingerprint, read_postgres, with_fingerprints

# ``perflab.queries.fingerprint`` is the function (the package re-exports it under the
# module's name), so the module itself comes from importlib.
FP_MODULE = importlib.import_module("perflab.queries.fingerprint")

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data" / "sample" / "queries"
PREFIXES = ["%m [%p] %q%u@%d app=%a ", "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h "]


def fp(sql: str, dialect: str = "postgres") -> str:
    return fingerprint(sql, dialect=dialect)


def table(*queries: str, dialect: str = "postgres") -> pl.DataFrame:
    return fingerprint(list(queries), dialect=dialect)


def blake8(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


@pytest.fixture(scope="module")
def statements() -> pl.DataFrame:
    return read_postgres(SAMPLES / "postgresql.log", prefix=PREFIXES).statements


# --------------------------------------------------------------------------- twins merge


def test_prepared_statement_and_its_literal_twin_are_one_pattern() -> None:
    t = table(
        "SELECT id, email, name FROM users WHERE id = $1",
        "SELECT id, email, name FROM users WHERE id = 4212",
        "select id,email,name from users where id=7",
    )
    assert t["fingerprint"].n_unique() == 1
    assert t["pattern"][0] == "SELECT id, email, name FROM users WHERE id = ?"
    assert t["parsed"].all()


def test_real_log_prepared_and_literal_twins_share_a_fingerprint(statements: pl.DataFrame) -> None:
    """The web app ($1, extended protocol) and the report tool (literals) ran one query."""
    twins = statements.filter(
        pl.col("query").str.starts_with("SELECT id, email, name FROM users WHERE id =")
    )
    assert set(twins["protocol"]) >= {"simple", "extended", "prepared"}
    assert twins["query"].str.contains(r"\$1").any()
    assert (~twins["query"].str.contains(r"\$1")).any()
    assert with_fingerprints(twins)["fingerprint"].n_unique() == 1


@pytest.mark.parametrize(
    "variants",
    [
        pytest.param(
            [
                "SELECT a FROM t WHERE x IN (1)",
                "SELECT a FROM t WHERE x IN (1, 2, 3)",
                "SELECT a FROM t WHERE x IN ($1, $2, $3, $4)",
                "SELECT a FROM t WHERE x IN ('a','b')",
                "SELECT a FROM t WHERE x in ( 1 ,2 , 3 )",
                "SELECT a FROM t WHERE x IN (" + ", ".join(map(str, range(500))) + ")",
            ],
            id="in-list",
        ),
        pytest.param(
            [
                "INSERT INTO t (a, b) VALUES (1, 'x')",
                "INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'), (3, 'z')",
                "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)",
                "insert into t (a,b) values (1,'x'),(2,'y')",
            ],
            id="values-list",
        ),
        pytest.param(
            [
                "SELECT a FROM t WHERE x = ANY(ARRAY[1])",
                "SELECT a FROM t WHERE x = ANY(ARRAY[1, 2, 3])",
                "SELECT a FROM t WHERE x = ANY(ARRAY[$1, $2])",
                "SELECT a FROM t WHERE x = ANY(array[ 'a' , 'b' ])",
            ],
            id="array",
        ),
        pytest.param(
            [
                "SELECT a FROM t WHERE b = 1",
                "SELECT a /* a block\ncomment */ FROM t WHERE b = 1",
                "SELECT a FROM t -- trailing words\nWHERE b = 1",
                "SELECT a FROM t WHERE b = 1 -- the end",
                "/* leading */ SELECT a FROM t WHERE b = 1;",
            ],
            id="comments",
        ),
        pytest.param(
            [
                "SELECT a FROM t WHERE b = 'x'",
                "SELECT a FROM t WHERE b = 'it''s'",
                "SELECT a FROM t WHERE b = ''''",
                "SELECT a FROM t WHERE b = ''",
                "SELECT a FROM t WHERE b = E'tab\\there'",
                "SELECT a FROM t WHERE b = e'plain'",
                "SELECT a FROM t WHERE b = 'a -- not a comment'",
                "SELECT a FROM t WHERE b = 'déjà vu'",
                "SELECT a FROM t WHERE b = $1",
            ],
            id="strings",
        ),
        pytest.param(
            [
                "SELECT a FROM t WHERE b = $$x$$",
                "SELECT a FROM t WHERE b = $$multi\nline body$$",
                "SELECT a FROM t WHERE b = $body$anything; at all$body$",
                "SELECT a FROM t WHERE b = 'x'",
            ],
            id="dollar-quoted",
        ),
        pytest.param(
            [
                "SELECT a FROM t WHERE b = 42",
                "SELECT a FROM t WHERE b = 4.25",
                "SELECT a FROM t WHERE b = .5",
                "SELECT a FROM t WHERE b = 1e10",
                "SELECT a FROM t WHERE b = 2.5E-3",
                "SELECT a FROM t WHERE b = 0x1F",
                "SELECT a FROM t WHERE b = 0XFF",
                "SELECT a FROM t WHERE b = $12",
            ],
            id="numbers",
        ),
        pytest.param(
            [
                "SELECT id, name FROM users WHERE id = 1 ORDER BY name LIMIT 10",
                "select ID, NAME from USERS where ID = 1 order by NAME limit 10",
                "  SELECT\tid ,\n  name\nFROM   users\r\nWHERE id=1\nORDER BY name\nLIMIT 10 ;  ",
            ],
            id="whitespace-and-case",
        ),
        pytest.param(
            [
                "SELECT CAST(created_at AS date) FROM orders",
                "SELECT created_at::date FROM orders",
            ],
            id="cast-syntax",
        ),
    ],
)
def test_variants_collapse_to_one_fingerprint(variants: list[str]) -> None:
    t = table(*variants)
    assert t["fingerprint"].n_unique() == 1, t.select("query", "pattern")
    assert t["parsed"].all()


def test_limit_and_offset_keep_both_placeholders() -> None:
    """A large OFFSET is a finding, so LIMIT n OFFSET m is not merged with LIMIT n."""
    t = table("SELECT a FROM t LIMIT 10 OFFSET 40000", "SELECT a FROM t LIMIT 10")
    assert t["pattern"].to_list() == ["SELECT a FROM t LIMIT ? OFFSET ?", "SELECT a FROM t LIMIT ?"]


# --------------------------------------------------------------------------- apart


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("SELECT a FROM orders WHERE id = 1", "SELECT a FROM users WHERE id = 1"),
        ("SELECT a FROM t WHERE id = 1", "SELECT b FROM t WHERE id = 1"),
        ("SELECT a FROM t WHERE id = 1", "SELECT a FROM t WHERE user_id = 1"),
        ("SELECT a FROM t WHERE id = 1", "SELECT a FROM t WHERE id > 1"),
        ("SELECT a FROM t1 WHERE id = 1", "SELECT a FROM t2 WHERE id = 1"),
        ("SELECT a FROM users2 WHERE id = 1", "SELECT a FROM users3 WHERE id = 1"),
        ("SELECT col1 FROM t", "SELECT col2 FROM t"),
        ("SELECT a FROM t ORDER BY a", "SELECT a FROM t ORDER BY a DESC"),
        ("SELECT a FROM t WHERE b = 'x'", 'SELECT a FROM t WHERE b = "x"'),  # an identifier
        ("UPDATE t SET a = 1 WHERE id = 2", "DELETE FROM t WHERE id = 2"),
    ],
)
def test_different_queries_stay_apart(a: str, b: str) -> None:
    assert fp(a) != fp(b)


def test_identifiers_with_digits_are_not_mangled() -> None:
    t = table("SELECT t1.a2, users2.b FROM t1 JOIN users2 ON t1.x_3 = users2.y4 WHERE t1.c = 5")
    assert t["pattern"][0] == (
        "SELECT t1.a2, users2.b FROM t1 JOIN users2 ON t1.x_3 = users2.y4 WHERE t1.c = ?"
    )


# --------------------------------------------------------------------------- MySQL


def test_mysql_double_quoted_strings_and_backslash_escapes() -> None:
    variants = [
        "SELECT a FROM t WHERE b = 'x'",
        'SELECT a FROM t WHERE b = "x"',
        "SELECT a FROM t WHERE b = 'it\\'s'",
        'SELECT a FROM t WHERE b = "say \\"hi\\""',
        "SELECT a FROM t WHERE b = 'back\\\\'",
        "SELECT a FROM t WHERE b = 'it''s'",
        "SELECT a FROM t WHERE b = _utf8mb4'x'",
        "SELECT a FROM t WHERE b = 'x' # a hash comment",
        "SELECT a FROM t WHERE b = 'x' -- a dash comment",
    ]
    t = table(*variants, dialect="mysql")
    assert t["fingerprint"].n_unique() == 1, t.select("query", "pattern")
    assert t["pattern"][0] == "SELECT a FROM t WHERE b = ?"


def test_mysql_and_postgres_read_double_quotes_differently() -> None:
    q = 'SELECT a FROM t WHERE b = "x"'
    assert table(q, dialect="mysql")["pattern"][0] == "SELECT a FROM t WHERE b = ?"
    assert '"x"' in table(q, dialect="postgres")["pattern"][0]


def test_mysql_literal_twins_of_the_real_slow_log_are_one_pattern() -> None:
    from perflab.queries import read_mysql_slow_log

    s = read_mysql_slow_log(SAMPLES / "mariadb-slow.log")
    loop = s.filter(pl.col("query").str.starts_with("SELECT product_id, qty FROM order_items"))
    assert loop.height == 30
    assert loop["query"].n_unique() == 30
    assert with_fingerprints(loop, dialect="mysql")["fingerprint"].n_unique() == 1


# --------------------------------------------------------------------------- unparsed


def test_sql_sqlglot_cannot_parse_still_gets_a_stable_fingerprint() -> None:
    t = table("SELEC id FROM users WHERE id = 5", "SELEC  id FROM users WHERE id = 'abc'  -- oops")
    assert not t["parsed"].any()
    assert t["fingerprint"].n_unique() == 1
    assert t["pattern"][0] == "selec id from users where id = ?"
    assert t["fingerprint"][0] == blake8("selec id from users where id = ?")
    assert t["fingerprint"][0] == fp("SELEC id FROM users WHERE id = 5")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param(
            "SELEC a FROM t WHERE f(7, 8) = 1", "SELEC a FROM t WHERE f($1, $2) = 1", id="number"
        ),
        pytest.param(
            "SELEC a FROM t WHERE b = 'x' AND c = 1",
            "SELEC a FROM t WHERE b = $1 AND c = 1",
            id="string-between-blanks",
        ),
        pytest.param(
            "SELEC a FROM t WHERE f('x', 'y') = 1",
            "SELEC a FROM t WHERE f($1, $2) = 1",
            id="string-before-a-comma",
        ),
        pytest.param(
            "SELEC a FROM t WHERE f('x', 'y') = 1",
            "SELEC a FROM t WHERE f(7, 8) = 1",
            id="string-or-number",
        ),
    ],
)
def test_unparsed_literal_twins_share_a_fingerprint(a: str, b: str) -> None:
    t = table(a, b)
    assert not t["parsed"].any()
    assert t["fingerprint"].n_unique() == 1, t["pattern"].to_list()


def test_unparsed_statements_of_the_real_log_are_kept_and_counted(
    statements: pl.DataFrame,
) -> None:
    f = with_fingerprints(statements)
    assert f.height == statements.height
    assert f["fingerprint"].null_count() == 0
    unparsed = f.filter(~pl.col("parsed"))
    assert unparsed.height > 0  # pg_dump's catalogue queries, EXPLAIN, LOCK TABLE …
    assert (
        unparsed.filter(pl.col("query").str.starts_with("LOCK TABLE"))["fingerprint"].n_unique()
        == 7
    )


# --------------------------------------------------------------------------- the id


def test_id_is_blake2b_8_of_the_pattern(statements: pl.DataFrame) -> None:
    f = with_fingerprints(statements).unique("fingerprint")
    assert f.height > 100
    for pattern, fid in f.select("pattern", "fingerprint").iter_rows():
        assert fid == blake8(pattern)
        assert len(fid) == 16
        assert int(fid, 16) >= 0


def test_id_of_a_known_query_does_not_change_between_versions() -> None:
    assert fp("SELECT 1") == blake8("SELECT ?") == "c148796e1220075a"


def test_id_is_the_same_in_another_process() -> None:
    queries = [
        "SELECT id, email, name FROM users WHERE id = $1",
        "SELECT a FROM t WHERE x IN (1, 2, 3) AND s = 'it''s'",
        "SELEC broken sql 42",
        "INSERT INTO t (a) VALUES (1), (2)",
    ]
    here = [fp(q) for q in queries]
    code = (
        "import json, sys\n"
        "from perflab.queries import fingerprint\n"
        "print(json.dumps([fingerprint(q) for q in json.loads(sys.stdin.read())]))\n"
    )
    for seed in ("0", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code],
            input=json.dumps(queries),
            capture_output=True,
            text=True,
            check=True,
            env=env,
            cwd=ROOT,
            timeout=120,
        )
        assert json.loads(out.stdout) == here


def test_many_queries_give_one_row_each_in_order() -> None:
    queries = ["SELECT 2", "SELECT a FROM t", "SELECT 1", "SELECT a FROM t"]
    t = fingerprint(queries)
    assert set(t.columns) == {"query", "fingerprint", "pattern", "parsed"}
    assert t["query"].to_list() == queries
    assert t["fingerprint"].to_list() == [fp(q) for q in queries]
    assert fingerprint(pl.Series(queries)).equals(t)


def test_unknown_dialect_is_a_parameter_error() -> None:
    with pytest.raises(ParameterError):
        fp("SELECT 1", dialect="oracle")


# --------------------------------------------------------------------------- with_fingerprints


def test_with_fingerprints_keeps_rows_order_and_other_columns(statements: pl.DataFrame) -> None:
    shuffled = statements.with_row_index("n").sample(fraction=1.0, shuffle=True, seed=7)
    out = with_fingerprints(shuffled)
    assert out["n"].to_list() == shuffled["n"].to_list()
    assert out.columns[: shuffled.width] == shuffled.columns
    assert set(out.columns[shuffled.width :]) == {"fingerprint", "pattern", "parsed"}
    assert out.drop("fingerprint", "pattern", "parsed").equals(shuffled)
    one_by_one = {q: fp(q) for q in shuffled["query"].unique().to_list()[:25]}
    for q, fid in out.select("query", "fingerprint").iter_rows():
        if q in one_by_one:
            assert fid == one_by_one[q]


def test_with_fingerprints_runs_sqlglot_once_per_distinct_normalised_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    real = FP_MODULE.canonical

    def counting(text: str, dialect: str = "postgres") -> tuple[str, bool]:
        calls.append(text)
        return real(text, dialect)

    monkeypatch.setattr(FP_MODULE, "canonical", counting)
    rows = [{"query": f"SELECT name FROM users WHERE id = {i}"} for i in range(3000)]
    rows += [{"query": f"select name from users where id in ({i}, {i + 1})"} for i in range(3000)]
    rows += [{"query": "SELECT 1"}] * 500 + [{"query": None}] * 3
    out = with_fingerprints(rows)
    assert out.height == len(rows)
    assert sorted(calls) == sorted(
        [
            "select name from users where id = ?",
            "select name from users where id in (?)",
            "select ?",
        ]
    )
    assert out["fingerprint"][:3000].n_unique() == 1
    assert out["fingerprint"][-3:].null_count() == 3


def test_sqlglot_cache_misses_equal_distinct_texts_of_the_real_log(
    statements: pl.DataFrame,
) -> None:
    distinct = (
        statements.select(FP_MODULE.normalize_expr(pl.col("query")).alias("pre"))["pre"]
        .unique()
        .drop_nulls()
    )
    FP_MODULE.canonical.cache_clear()
    with_fingerprints(statements)
    info = FP_MODULE.canonical.cache_info()
    assert info.misses == distinct.len()
    assert info.hits == 0
    assert distinct.len() < statements.height


def test_with_fingerprints_names_a_missing_column() -> None:
    from perflab.errors import SchemaError

    with pytest.raises(SchemaError, match="sql"):
        with_fingerprints([{"query": "SELECT 1"}], column="sql")


# --------------------------------------------------------------------------- properties

COLUMNS = ("id", "user_id", "total", "status", "created_at", "col2", "t1_ref")
TABLES = ("orders", "users2", "t1", "order_items")
_TEXT = st.text(alphabet=st.sampled_from(list("abcXYZ019 '%_-.,:;!?éß日")), min_size=0, max_size=12)


def _string(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def literals() -> st.SearchStrategy[str]:
    """SQL literals of every kind the normaliser claims to replace (no negatives)."""
    ints = st.integers(0, 10**15).map(str)
    decimals = st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)).map(
        lambda t: f"{t[0]}.{t[1]}"
    )
    leading_dot = st.integers(0, 10**6).map(lambda i: f".{i}")
    exponents = st.tuples(
        st.integers(0, 999), st.sampled_from(["e", "E", "e+", "e-", "E-"]), st.integers(0, 300)
    ).map(lambda t: f"{t[0]}{t[1]}{t[2]}")
    hexes = st.integers(0, 2**40).map(lambda i: f"0x{i:X}")
    strings = _TEXT.map(_string)
    e_strings = _TEXT.map(lambda s: "E" + _string(s))
    dollar = _TEXT.filter(lambda s: "'" not in s and "$" not in s).map(lambda s: f"$${s}$$")
    return st.one_of(ints, decimals, leading_dot, exponents, hexes, strings, e_strings, dollar)


@st.composite
def shapes(draw: st.DrawFn) -> dict[str, object]:
    """A query shape: the statement kind and its identifiers (no values yet)."""
    cols = draw(st.lists(st.sampled_from(COLUMNS), min_size=4, max_size=4))
    return {
        "kind": draw(st.sampled_from(["select", "insert", "update", "array"])),
        "table": draw(st.sampled_from(TABLES)),
        "cols": cols,
        "order": draw(st.booleans()),
    }


@st.composite
def fillings(draw: st.DrawFn) -> tuple[list[str], int, int]:
    """Values for a shape: a pool of literals or $n parameters, and list lengths."""
    use_params = draw(st.booleans())
    if use_params:
        values = [f"${i}" for i in range(1, 41)]
    else:
        values = draw(st.lists(literals(), min_size=40, max_size=40))
    return values, draw(st.integers(1, 6)), draw(st.integers(1, 4))


def render(shape: dict[str, object], filling: tuple[list[str], int, int]) -> str:
    values, n_list, n_rows = filling
    it = iter(values)
    c = shape["cols"]
    assert isinstance(c, list)
    t = shape["table"]
    if shape["kind"] == "select":
        in_list = ", ".join(next(it) for _ in range(n_list))
        sql = f"SELECT {c[0]}, {c[1]} FROM {t} WHERE {c[2]} = {next(it)} AND {c[3]} IN ({in_list})"
        if shape["order"]:
            sql += f" ORDER BY {c[0]} LIMIT {next(it)}"
        return sql
    if shape["kind"] == "insert":
        rows = ", ".join(f"({next(it)}, {next(it)})" for _ in range(n_rows))
        return f"INSERT INTO {t} ({c[0]}, {c[1]}) VALUES {rows}"
    if shape["kind"] == "update":
        return (
            f"UPDATE {t} SET {c[0]} = {next(it)} WHERE {c[1]} = {next(it)} AND {c[2]} > {next(it)}"
        )
    arr = ", ".join(next(it) for _ in range(n_list))
    return f"SELECT {c[0]} FROM {t} WHERE {c[1]} = ANY(ARRAY[{arr}]) /* {next(it)} */"


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(shape=shapes(), first=fillings(), second=fillings())
def test_property_other_literals_or_parameters_never_change_the_fingerprint(
    shape: dict[str, object],
    first: tuple[list[str], int, int],
    second: tuple[list[str], int, int],
) -> None:
    a, b = render(shape, first), render(shape, second)
    assert fp(a) == fp(b), (a, b, table(a, b)["pattern"].to_list())


@PROPERTY
@given(shape=shapes(), filling=fillings(), data=st.data())
def test_property_changing_a_column_name_changes_the_fingerprint(
    shape: dict[str, object], filling: tuple[list[str], int, int], data: st.DataObject
) -> None:
    cols = shape["cols"]
    assert isinstance(cols, list)
    used = {"select": 4, "insert": 2, "update": 3, "array": 2}[str(shape["kind"])]
    slot = data.draw(st.integers(0, used - 1))
    other = data.draw(st.sampled_from([c for c in COLUMNS if c != cols[slot]]))
    changed = {**shape, "cols": [other if i == slot else c for i, c in enumerate(cols)]}
    a, b = render(shape, filling), render(changed, filling)
    assert fp(a) != fp(b), (a, b)


# --------------------------------------------------------------------------- quoting and casts


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param(
            "SELECT a FROM t WHERE b = E'it\\'s'",
            "SELECT a FROM t WHERE b = E'its'",
            id="e-string-backslash-quote",
        ),
        pytest.param(
            "SELECT $$it's$$, a FROM t WHERE b = 'x'",
            "SELECT $$its$$, a FROM t WHERE b = 'x'",
            id="dollar-body-with-apostrophe",
        ),
        pytest.param(
            "SELECT a -- the user's name\nFROM t WHERE b = 'x'",
            "SELECT a -- the user name\nFROM t WHERE b = 'x'",
            id="apostrophe-in-line-comment",
        ),
        pytest.param(
            "SELECT a FROM t WHERE b = '/*' AND c = '*/'",
            "SELECT a FROM t WHERE b = 'x' AND c = 'y'",
            id="comment-markers-in-strings",
        ),
        pytest.param(
            "SELECT a FROM t WHERE d = '2024-01-01'::date",
            "SELECT a FROM t WHERE d = CAST('2024-01-01' AS date)",
            id="literal-cast-with-double-colon",
        ),
    ],
)
def test_literal_twins_merge_despite_quotes_comments_and_casts(a: str, b: str) -> None:
    t = table(a, b)
    assert t["fingerprint"].n_unique() == 1, t["pattern"].to_list()
    assert t["parsed"].all()

"""A running PostgreSQL: ``pg_stat_statements``, EXPLAIN, and HypoPG index validation.

Nothing here changes data. Every connection has a connect timeout and a
``statement_timeout``; every call runs in a transaction that is **rolled back**, so
even ``EXPLAIN ANALYZE`` (which executes the statement) and ``CREATE EXTENSION hypopg``
(catalog only) leave the database as they found it. One statement at a time, always
sent with the extended protocol (several statements could hold a ``COMMIT``).
``EXPLAIN ANALYZE`` is refused for anything but a single ``SELECT`` (no
data-modifying CTE, no ``SELECT … INTO``, no function whose effect a rollback does not
undo: ``nextval``, ``setval``, ``pg_notify``, ``dblink`` …), and is only run when asked
(``analyze=True``). The DSN is never logged or put in a
report: errors name the host and database, not the password.

Requirements on the server: ``pg_stat_statements`` in ``shared_preload_libraries``
(for :func:`snapshot_pg_stat_statements`) and the HypoPG extension installed (Debian:
``postgresql-15-hypopg``) for :func:`validate_indexes`; neither is needed for EXPLAIN.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from perflab.errors import ParameterError, PerflabError
from perflab.frames import FrameLike, as_frame
from perflab.queries import _sql
from perflab.queries.indexes import Index
from perflab.queries.schema import INDEX_CANDIDATES

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "LiveError",
    "connect",
    "existing_indexes",
    "explain",
    "snapshot_pg_stat_statements",
    "table_columns",
    "validate_indexes",
]

logger = logging.getLogger(__name__)


class LiveError(PerflabError):
    """A live server refused, timed out, or lacks what the call needs."""


def _where(dsn: str) -> str:
    """host/dbname of a DSN, for messages (no user, no password)."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        info = conninfo_to_dict(dsn)
    except Exception:
        return "the server"
    return (
        f"{info.get('host') or 'localhost'}:{info.get('port') or 5432}/{info.get('dbname') or ''}"
    )


@contextlib.contextmanager
def connect(
    dsn: str, *, timeout_s: float = 10.0, statement_timeout_s: float = 60.0
) -> Iterator[psycopg.Connection[Any]]:
    """A connection inside a transaction that is always rolled back.

    Parameters
    ----------
    dsn : str
        A libpq connection string or URI (``postgresql://user@host:5432/db``).
    timeout_s : float
        Seconds to wait for the connection.
    statement_timeout_s : float
        ``statement_timeout`` of the session.

    Raises
    ------
    LiveError
        The server cannot be reached in time, or refuses the connection.
    """
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - psycopg is a dependency
        raise LiveError("live PostgreSQL needs psycopg: pip install 'psycopg[binary]'") from exc
    try:
        conn = psycopg.connect(
            dsn,
            connect_timeout=max(1, round(timeout_s)),
            options=f"-c statement_timeout={int(statement_timeout_s * 1000)}",
            application_name="perflab",
            autocommit=False,
        )
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LiveError(f"cannot connect to {_where(dsn)}: {reason}") from None
    try:
        yield conn
    finally:
        with contextlib.suppress(Exception):
            conn.rollback()
        conn.close()


def snapshot_pg_stat_statements(dsn: str, *, timeout_s: float = 10.0) -> pl.DataFrame:
    """The server's ``pg_stat_statements`` as statements (``protocol = "aggregate"``).

    The same frame as :func:`~perflab.queries.read_pg_stat_statements` reads from an
    export, with role and database names.

    Raises
    ------
    LiveError
        The extension is not loaded (``shared_preload_libraries``) or not created in
        this database.
    """
    from perflab.queries.read import read_pg_stat_statements

    with connect(dsn, timeout_s=timeout_s) as conn, conn.cursor() as cur:
        try:
            cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")
            if cur.fetchone() is None:
                raise LiveError(
                    f"pg_stat_statements is not created in {_where(dsn)}: CREATE EXTENSION "
                    "pg_stat_statements (and load it with shared_preload_libraries)"
                )
            buf = io.BytesIO()
            with cur.copy(
                "COPY (SELECT r.rolname, d.datname, s.* FROM pg_stat_statements s "
                "LEFT JOIN pg_roles r ON r.oid = s.userid "
                "LEFT JOIN pg_database d ON d.oid = s.dbid "
                "ORDER BY s.total_exec_time DESC) TO STDOUT WITH (FORMAT csv, HEADER)"
            ) as copy:
                for chunk in copy:
                    buf.write(bytes(chunk))
        except LiveError:
            raise
        except Exception as exc:
            raise LiveError(f"{_where(dsn)}: {str(exc).strip().splitlines()[0]}") from None
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="perflab-pgss-") as tmp:
        path = Path(tmp) / "pg_stat_statements.csv"
        path.write_bytes(buf.getvalue())
        return read_pg_stat_statements(path)


_SIDE_EFFECTS = frozenset(
    {
        "nextval",
        "setval",
        "pg_notify",
        "dblink_exec",
        "dblink",
        "lo_import",
        "lo_export",
        "lo_unlink",
        "lo_create",
        "lo_from_bytea",
        "lo_put",
        "pg_advisory_lock",
        "pg_advisory_xact_lock",
        "pg_advisory_lock_shared",
        "pg_try_advisory_lock",
        "pg_terminate_backend",
        "pg_cancel_backend",
        "pg_reload_conf",
        "pg_rotate_logfile",
        "pg_switch_wal",
        "pg_create_restore_point",
        "set_config",
        "txid_current",
        "pg_current_xact_id",
        "pg_logical_emit_message",
        "pg_stat_reset",
        "pg_stat_statements_reset",
        "pg_file_write",
    }
)
"""Functions whose effects a rollback does not undo (or that write outside the table)."""


def _one_statement(sql: str) -> str:
    """``sql`` without trailing semicolons; ParameterError unless it is one statement.

    Several statements would run through the simple protocol one after the other —
    a ``COMMIT`` among them would end the transaction that is rolled back.
    """
    text = sql.strip().rstrip(";").strip()
    trees = _sql.parse(text, "postgres")
    if trees is not None:
        if len(trees) != 1:
            raise ParameterError(f"one statement at a time, not {len(trees)}")
    elif ";" in text:
        raise ParameterError(
            "one statement at a time: this text holds a ';' and could not be parsed to "
            "check that it is only one"
        )
    return text


def _single_select(sql: str) -> bool:
    trees = _sql.parse(sql, "postgres")
    if trees is None or len(trees) != 1:
        return False
    from sqlglot import exp

    tree = trees[0]
    # sequences, notifications, remote calls: not rolled back. Read from the tree, so
    # that "nextval"(…), nextval/**/(…) and pg_catalog.nextval(…) are all seen
    for func in tree.find_all(exp.Func):
        name = func.name if isinstance(func, exp.Anonymous) else func.sql_name()
        if name.lower() in _SIDE_EFFECTS:
            return False
    if not isinstance(tree, exp.Select | exp.Union | exp.Intersect | exp.Except):
        return False
    if tree.args.get("into") is not None:
        return False
    modifying = (exp.Insert, exp.Update, exp.Delete, exp.Merge)
    return not any(isinstance(n, modifying) for n in tree.walk())


def explain(
    dsn: str,
    sql: str,
    *,
    analyze: bool = False,
    params: Sequence[Any] | None = None,
    timeout_s: float = 30.0,
) -> list[dict[str, Any]]:
    """``EXPLAIN (FORMAT JSON)`` of ``sql`` on the server, in a rolled-back transaction.

    Parameters
    ----------
    dsn : str
        Connection string.
    sql : str
        One statement, with its literals or with ``$1 …`` and ``params``.
    analyze : bool
        Also execute it (``ANALYZE, BUFFERS``): only for a single SELECT.
    params : sequence, optional
        Values for ``$1 …``.
    timeout_s : float
        ``statement_timeout`` for the EXPLAIN.

    Returns
    -------
    list of dict
        The plan as PostgreSQL returns it (feed it to
        :func:`~perflab.queries.explain_findings`).

    Raises
    ------
    ParameterError
        ``analyze=True`` for something that is not a single SELECT.
    LiveError
        The server refused the statement or timed out.
    """
    sql = _one_statement(sql)
    if analyze and not _single_select(sql):
        raise ParameterError(
            "EXPLAIN ANALYZE executes the statement: perflab runs it only for a single "
            "SELECT without functions whose effects a rollback does not undo (nextval, "
            "pg_notify, dblink …); use analyze=False to see the plan of anything else"
        )
    options = "ANALYZE, BUFFERS, FORMAT JSON" if analyze else "FORMAT JSON"
    query, args = _bind(sql, params)
    with connect(dsn, statement_timeout_s=timeout_s) as conn, conn.cursor() as cur:
        try:
            cur.execute(f"EXPLAIN ({options}) {query}", args)
            row = cur.fetchone()
        except Exception as exc:
            raise LiveError(
                f"{_where(dsn)}: EXPLAIN failed: {str(exc).strip().splitlines()[0]}"
            ) from None
    plan = row[0] if row else None
    if isinstance(plan, str):
        import json

        plan = json.loads(plan)
    return list(plan or [])


def _bind(sql: str, params: Sequence[Any] | None) -> tuple[str, list[Any]]:
    """PostgreSQL's ``$1 …`` as psycopg's ``%s`` (in order of appearance), the values
    to match; always a list, so psycopg sends one statement (extended protocol)."""
    if not params:
        return sql.replace("%", "%%"), []
    order: list[int] = []

    def sub(m: re.Match[str]) -> str:
        order.append(int(m.group(1)))
        return "%s"

    query = _DOLLAR.sub(sub, sql.replace("%", "%%"))
    if any(i < 1 or i > len(params) for i in order):
        raise ParameterError(
            f"the statement uses ${max(order)} but {len(params)} value(s) were given"
        )
    return query, [params[i - 1] for i in order]


_DOLLAR = re.compile(r"\$(\d+)")


def existing_indexes(dsn: str, *, schema: str = "public") -> list[Index]:
    """The indexes of the tables in ``schema`` (for the index advisor to skip)."""
    sql = """
        SELECT t.relname, i.relname, am.amname,
               array_agg(a.attname ORDER BY k.ord) FILTER (WHERE a.attname IS NOT NULL),
               pg_get_indexdef(i.oid)
        FROM pg_index x
        JOIN pg_class t ON t.oid = x.indrelid
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_am am ON am.oid = i.relam
        JOIN pg_namespace n ON n.oid = t.relnamespace
        CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord)
        LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
        WHERE n.nspname = %s
        GROUP BY t.relname, i.relname, am.amname, i.oid
    """
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql, (schema,))
        rows = cur.fetchall()
    out = []
    for table, _name, am, cols, definition in rows:
        kind = "trigram" if am == "gin" and "trgm" in definition else "btree"
        names = tuple(cols or ())
        if not names:  # an expression index: keep its expression text
            names = (definition.split("(", 1)[-1].rsplit(")", 1)[0],)
        out.append(Index(table, names, kind, definition))
    return out


def table_columns(dsn: str, *, schema: str = "public") -> dict[str, dict[str, str]]:
    """table → column → type, for the implicit-conversion rule."""
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s ORDER BY table_name, ordinal_position",
            (schema,),
        )
        out: dict[str, dict[str, str]] = {}
        for table, column, dtype in cur.fetchall():
            out.setdefault(table, {})[column] = dtype
    return out


def validate_indexes(
    dsn: str,
    candidates: FrameLike,
    patterns: FrameLike,
    *,
    min_improvement: float = 0.3,
    top: int | None = 10,
    timeout_s: float = 30.0,
) -> pl.DataFrame:
    """Check index candidates with HypoPG: the planner's cost without and with each.

    For every candidate (of the ``top`` by time), each pattern it serves is planned
    (``EXPLAIN``, not executed) before and after a hypothetical index; the costs are
    summed over the patterns, weighted by their calls. A candidate is ``validated =
    "yes"`` when the plans use it and the weighted cost falls by at least
    ``min_improvement`` (30 %). Everything runs in one transaction that is rolled back
    (HypoPG's indexes exist only in the session anyway); ``CREATE EXTENSION hypopg``
    inside it is rolled back too.

    Parameters
    ----------
    dsn : str
        Connection string.
    candidates : frame-like
        :func:`~perflab.queries.recommend_indexes` output.
    patterns : frame-like
        :func:`~perflab.queries.query_patterns` output (the samples are planned).
    min_improvement : float
        Smallest fraction of the cost an index must remove to count.
    top : int, optional
        Validate only the first ``top`` candidates.

    Returns
    -------
    polars.DataFrame
        ``candidates`` with ``cost_before``, ``cost_after`` and ``validated`` filled
        (``"no"`` for a candidate not used or not good enough; null where a sample
        could not be planned, for example a pattern known only with ``$1``).

    Raises
    ------
    LiveError
        HypoPG is not installed on the server, or the server is unreachable.
    """
    if not 0.0 <= min_improvement < 1.0:
        raise ParameterError(f"min_improvement must lie in [0, 1), not {min_improvement}")
    cands = as_frame(candidates, INDEX_CANDIDATES)
    if top is not None:
        cands = cands.head(top)
    pats = as_frame(patterns)
    samples = {
        r["fingerprint"]: (r.get("sample") or r["query"], r.get("calls") or 1)
        for r in pats.iter_rows(named=True)
    }
    results: list[tuple[float | None, float | None, str | None]] = []
    with connect(dsn, statement_timeout_s=timeout_s) as conn, conn.cursor() as cur:
        try:
            cur.execute("CREATE EXTENSION IF NOT EXISTS hypopg")
        except Exception as exc:
            raise LiveError(
                f"HypoPG is not available on {_where(dsn)} ({str(exc).strip().splitlines()[0]}): "
                "install it (Debian: apt install postgresql-15-hypopg) to validate indexes"
            ) from None
        for c in cands.iter_rows(named=True):
            results.append(_validate_one(cur, c, samples, min_improvement))
    return cands.with_columns(
        pl.Series("cost_before", [r[0] for r in results], dtype=pl.Float64),
        pl.Series("cost_after", [r[1] for r in results], dtype=pl.Float64),
        pl.Series("validated", [r[2] for r in results], dtype=pl.String),
    )


def _plan_cost(cur: Any, sql: str) -> tuple[float, str] | None:
    """(total cost, plan text) of one statement, or None when it cannot be planned."""
    import json

    try:
        text = _one_statement(sql)
    except ParameterError:
        return None
    try:
        cur.execute("SAVEPOINT perflab_plan")
        cur.execute(f"EXPLAIN (FORMAT JSON) {text.replace('%', '%%')}", [])
        plan = cur.fetchone()[0]
        cur.execute("RELEASE SAVEPOINT perflab_plan")
    except Exception:
        cur.execute("ROLLBACK TO SAVEPOINT perflab_plan")
        return None
    if isinstance(plan, str):
        plan = json.loads(plan)
    return float(plan[0]["Plan"]["Total Cost"]), json.dumps(plan)


def _validate_one(
    cur: Any, cand: dict[str, Any], samples: dict[str, tuple[str, int]], min_improvement: float
) -> tuple[float | None, float | None, str | None]:
    statements = [samples[f] for f in cand["fingerprints"] or [] if f in samples]
    if not statements or (cand["kind"] == "trigram" and "gin_trgm_ops" not in cand["definition"]):
        return None, None, None
    before = [(_plan_cost(cur, sql), calls) for sql, calls in statements]
    plannable = [(b, c, s) for (b, c), (s, _) in zip(before, statements, strict=True) if b]
    if not plannable:
        return None, None, None
    ddl = _hypothetical(cand)
    try:
        cur.execute("SAVEPOINT perflab_hypo")
        cur.execute("SELECT indexrelid::regclass::text FROM hypopg_create_index(%s)", (ddl,))
        name = cur.fetchone()[0]
        cur.execute("RELEASE SAVEPOINT perflab_hypo")
    except Exception as exc:
        cur.execute("ROLLBACK TO SAVEPOINT perflab_hypo")
        logger.info("hypopg could not create %s: %s", ddl, exc)
        return None, None, None
    cost_before = cost_after = 0.0
    used = False
    try:
        for (b, _plan), calls, sql in plannable:
            after = _plan_cost(cur, sql)
            if after is None:
                continue
            cost_before += b * calls
            cost_after += after[0] * calls
            used = used or name in after[1]
    finally:
        cur.execute("SELECT hypopg_reset()")
    ok = used and cost_before > 0 and cost_after <= (1.0 - min_improvement) * cost_before
    return cost_before, cost_after, "yes" if ok else "no"


def _hypothetical(cand: dict[str, Any]) -> str:
    """The candidate as a plain CREATE INDEX that hypopg_create_index accepts."""
    definition = str(cand["definition"])
    if "CREATE INDEX" in definition and "; CREATE INDEX" in definition:
        definition = definition.split("; ", 1)[1]
    return definition.replace(" CONCURRENTLY", "").rstrip(";")

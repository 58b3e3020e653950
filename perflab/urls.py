"""URLs in request frames, as polars expressions shared by the access-log and CDN readers."""

from __future__ import annotations

import polars as pl

__all__ = ["split_uri"]


def split_uri(uri: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Split a request URI into its path and its query string.

    Parameters
    ----------
    uri : polars.Expr
        A String expression of request targets (``/a/b?x=1``).

    Returns
    -------
    tuple of polars.Expr
        The path (everything before the first ``?``) and the query (after it; null
        when there is no ``?``, empty when the ``?`` ends the URI).

    Examples
    --------
    >>> import polars as pl
    >>> path, query = split_uri(pl.col("u"))
    >>> pl.DataFrame({"u": ["/a?x=1", "/b", "/c?"]}).select(path, query).rows()
    [('/a', 'x=1'), ('/b', None), ('/c', '')]
    """
    parts = uri.str.splitn("?", 2)
    return parts.struct.field("field_0"), parts.struct.field("field_1")

"""Keep secrets given as parameters out of the report.

A notebook may take a connection string or a token as a parameter; the kernel needs
the real value, but the run's manifest, its ``index.html`` and the executed notebook
(its injected-parameters cell and papermill metadata, hence its HTML page with
``--show-code``) show :func:`redact`'s version instead:

* the value of a parameter whose name says it is a secret (it contains ``password``,
  ``passwd``, ``secret``, ``credential``, ``api_key`` or ``private_key``, or has
  ``token``, ``pwd`` or ``pass`` as a word) is replaced by :data:`MASK`;
* in any other string, the password of a URL (``scheme://user:password@host``) and a
  ``password=…`` field of a libpq-style connection string are masked.

Only the standard library is imported here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["MASK", "is_secret_name", "redact", "redact_text"]

MASK = "***"
"""What a secret is replaced with."""

_SECRET_PART = re.compile(r"pass(?:word|wd)|secret|credential|api_?key|private_?key")
_SECRET_WORD = re.compile(r"(?:^|[^a-z0-9])(?:token|pwd|pass)(?:$|[^a-z0-9])")
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]*(?=@)", re.I)
_FIELD_PASSWORD = re.compile(
    r"(?P<head>\b(?:password|pwd)\s*=\s*)(?:'[^']*'|\"[^\"]*\"|[^\s;]+)", re.I
)


def is_secret_name(name: str) -> bool:
    """Whether a parameter named ``name`` holds a secret, judged by the words in it.

    Examples
    --------
    >>> [is_secret_name(n) for n in ("PGPASSWORD", "apiKey", "github_token", "max_tokens")]
    [True, True, True, False]
    >>> [is_secret_name(n) for n in ("slo_p95_ms", "author", "passes", "tokenizer")]
    [False, False, False, False]
    """
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    return bool(_SECRET_PART.search(words) or _SECRET_WORD.search(words))


def redact_text(text: str) -> str:
    """``text`` with URL passwords and ``password=`` fields masked.

    Examples
    --------
    >>> redact_text("postgresql://app:s3cret@db.internal:5432/shop")
    'postgresql://app:***@db.internal:5432/shop'
    >>> redact_text("host=db user=app password='s3 cret' dbname=shop")
    'host=db user=app password=*** dbname=shop'
    >>> redact_text("https://example.com/a:b@c")  # no userinfo before the host
    'https://example.com/a:b@c'
    """
    masked = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
    return _FIELD_PASSWORD.sub(lambda m: m.group("head") + MASK, masked)


def redact(value: Any, name: str = "") -> Any:
    """A copy of parameters (or one parameter ``value`` named ``name``) safe to show.

    Mappings and lists are walked; a value under a secret name (:func:`is_secret_name`)
    becomes :data:`MASK` unless it is ``None`` or empty; strings elsewhere go through
    :func:`redact_text`. Everything else is returned as it is.

    Examples
    --------
    >>> redact({"dsn": "mysql://root:hunter2@db/app", "api_token": "t-123",
    ...         "slo_ms": 250, "hosts": ["a", "b"], "password": None})
    ... # doctest: +NORMALIZE_WHITESPACE
    {'dsn': 'mysql://root:***@db/app', 'api_token': '***', 'slo_ms': 250,
     'hosts': ['a', 'b'], 'password': None}
    """
    if isinstance(value, Mapping):
        return {key: redact(item, str(key)) for key, item in value.items()}
    unset = value is None or (isinstance(value, str) and not value)
    if name and not unset and is_secret_name(name):
        return MASK
    if isinstance(value, list | tuple):
        return type(value)(redact(item) for item in value)
    if isinstance(value, str):
        return redact_text(value)
    return value

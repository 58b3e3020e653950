"""The fast path of the text access-log reader: a compiled scanner over a block's bytes.

:func:`scanner` turns a :class:`~perflab.api._nginx.LogFormat` into a program,
:func:`scan_block` runs it (numba) over a block of whole lines; lines it cannot vouch for
go back to the regex path of :mod:`perflab.api._nginx`, the reference.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
from numpy.lib.stride_tricks import as_strided

from perflab.api._nginx import (
    LISTS,
    NUMERIC_FLOAT,
    NUMERIC_INT,
    SECONDS_LISTS,
    Field,
    LogFormat,
    decode_escapes,
    split_request,
)
from perflab.urls import split_uri

__all__ = ["FAST_MIN_BYTES", "Scanned", "Scanner", "scan_block", "scanner"]

# ---------------------------------------------------------------------------------------
# the fast path: a compiled scanner over a block's bytes
#
# The regex above is the reference, and on big logs it is the cost: on one core polars'
# captures take ~1.4 µs a line and converting the text columns ~0.8 µs more. The
# scanner matches the block's bytes against the same format in one pass per line
# (numba), by the regex's own rules — a field stops at the first byte of the literal
# after it (or a comma, for an unquoted upstream list), a field before ``"`` steps over
# backslash pairs, the last field takes the rest of the line — and converts the common
# shapes on the way: plain integers and decimals, ``$time_local`` as nginx writes it,
# request lines ``METHOD /path?query HTTP/x``. Text fields become String columns whose
# views point into the block's bytes: nothing is copied. A line it cannot vouch for —
# no match, a number or date of another shape, an odd request line, an odd upstream
# list, bytes that are not UTF-8 — is *slow*: it goes through the regex path with its line
# number, so bad lines and odd values come out exactly as before. Property tests check
# that both paths give the same frame.

FAST_MIN_BYTES = 1 << 20
"""Blocks of at least this many bytes take the scanner; smaller ones the regex alone (a
small file never waits for the scanner to compile)."""

_LIT, _QUOTED, _UNTIL, _REST = 0, 1, 2, 3  # program ops
# what a stored field converts to (a repeated variable's later fields: nothing)
_AS_TEXT, _AS_INT, _AS_FLOAT, _AS_MS, _AS_TIME, _AS_REQUEST, _AS_NOTHING = range(7)
_FAST, _BLANK, _SLOW = 0, 1, 2  # line states
_P10 = np.array([10.0**k for k in range(23)])  # exact doubles
_MONTHS = np.frombuffer(b"JanFebMarAprMayJunJulAugSepOctNovDec", dtype=np.uint8).copy()
_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(9)], dtype=np.uint64)  # k low bytes
_SPLIT_STOPS = np.zeros(256, np.uint8)
_SPLIT_STOPS[[32, 63, 92]] = 1
_LISTED = 1  # ops[t, 2] of a field: an unquoted list


@dataclass(frozen=True)
class Scanner:
    """A :class:`LogFormat` as a program for :func:`scan_block`."""

    ops: np.ndarray  # per token: op, literal offset, literal length (field: list?), kind, index
    lits: np.ndarray  # the literals' bytes
    stops: np.ndarray  # per token: 256 flags, the bytes its field stops at
    names: tuple[str, ...]  # the variables stored, in order
    kinds: tuple[int, ...]  # what each converts to
    counts: tuple[int, int, int]  # text, integer and decimal (and ms) fields stored
    escape: str


def _kind(name: str) -> int:
    if name == "time_local":
        return _AS_TIME
    if name == "request":
        return _AS_REQUEST
    if name in NUMERIC_INT:
        return _AS_INT
    if name in SECONDS_LISTS:
        return _AS_MS
    if name in NUMERIC_FLOAT:
        return _AS_FLOAT
    return _AS_TEXT


def scanner(fmt: LogFormat) -> Scanner | None:
    """The scanner program of a format; None when only the regex can read it.

    Two fields side by side (the regex's lazy ``[^ ]*?``), a field ended by a
    backslash or a non-ASCII character, and literals holding a line break stay with
    the regex.
    """
    ops: list[tuple[int, int, int, int, int]] = []
    stops: list[list[int]] = []
    lits = bytearray()
    names: list[str] = []
    kinds: list[int] = []
    counts = dict.fromkeys((_AS_TEXT, _AS_INT, _AS_FLOAT, _AS_TIME, _AS_REQUEST), 0)
    for i, t in enumerate(fmt.tokens):
        stop = [10, 92]  # every field stops at the line's end and at a backslash
        if isinstance(t, str):
            if "\n" in t or "\r" in t:
                return None
            b = t.encode()
            ops.append((_LIT, len(lits), len(b), -1, 0))
            stops.append(stop)
            lits += b
            continue
        nxt = fmt.tokens[i + 1] if i + 1 < len(fmt.tokens) else ""
        if isinstance(nxt, Field) or (nxt and (ord(nxt[0]) >= 128 or nxt[0] == "\\")):
            return None
        op = _REST if not nxt else _QUOTED if nxt[0] == '"' else _UNTIL
        if nxt:
            stop.append(ord(nxt[0]))
        mode = 0
        if op == _UNTIL and t.name in LISTS and nxt[0] in " ,:":
            mode = _LISTED  # "a, b : c" unquoted: items [^c,]* joined by ", " or " : "
            stop.append(ord(","))
        kind, index = _AS_NOTHING, 0
        if t.name not in names:  # a repeated variable keeps its first field
            kind = _kind(t.name)
            row = _AS_FLOAT if kind == _AS_MS else kind  # ms sums are stored with the decimals
            index = counts[row]
            counts[row] += 1
            names.append(t.name)
            kinds.append(kind)
        ops.append((op, 0, mode, kind, index))
        stops.append(stop)
    flags = np.zeros((len(ops), 256), np.uint8)
    for i, stop in enumerate(stops):
        flags[i, stop] = 1
    return Scanner(
        np.array(ops, dtype=np.int64).reshape(-1, 5),
        np.frombuffer(bytes(lits) or b"\0", dtype=np.uint8).copy(),
        flags,
        tuple(names),
        tuple(kinds),
        (counts[_AS_TEXT], counts[_AS_INT], counts[_AS_FLOAT]),
        fmt.escape,
    )


# The kernels are plain Python until _compiled() hands them to numba.njit (cache=True:
# a new environment compiles them once, in a few seconds, then loads them from disk).
_KERNELS: list[str] = []
_INLINE: set[str] = set()


def _kernel(fn: Any) -> Any:
    _KERNELS.append(fn.__name__)
    return fn


def _inline(fn: Any) -> Any:
    """A helper of the kernels, inlined where called (no call, no reference counting)."""
    _INLINE.add(fn.__name__)
    return _kernel(fn)


@_kernel
def _census(buf: Any) -> Any:  # pragma: no cover - numba
    """(newlines, any byte ≥ 0x80) of a block, in one vectorised pass."""
    n = 0
    acc = np.uint8(0)
    for i in range(buf.size):
        c = buf[i]
        n += c == 10
        acc |= c
    return n, acc >= 0x80


@_inline
def _utf8_ok(buf: Any, a: int, b: int) -> bool:  # pragma: no cover - numba
    """True when ``buf[a:b]`` is valid UTF-8 (no overlong forms, no surrogates)."""
    i = a
    while i < b:
        c = buf[i]
        if c < 0x80:
            i += 1
            continue
        if 0xC2 <= c <= 0xDF:
            n, lo, hi = 1, 0x80, 0xBF
        elif 0xE0 <= c <= 0xEF:
            n = 2
            lo = 0xA0 if c == 0xE0 else 0x80
            hi = 0x9F if c == 0xED else 0xBF
        elif 0xF0 <= c <= 0xF4:
            n = 3
            lo = 0x90 if c == 0xF0 else 0x80
            hi = 0x8F if c == 0xF4 else 0xBF
        else:
            return False
        if i + n >= b or not lo <= buf[i + 1] <= hi:
            return False
        for j in range(2, n + 1):
            if not 0x80 <= buf[i + j] <= 0xBF:
                return False
        i += n + 1
    return True


@_inline
def _view(
    buf: Any, w8: Any, a: int, n: int, out: Any, x: int, row: int
) -> None:  # pragma: no cover
    """Write the Arrow string view of ``buf[a:a + n]`` (two uint64) at ``out[x, row]``.

    A view holds the length, then the bytes themselves when at most 12, else their
    first four, the buffer (0) and the offset. ``w8[a & 7, a >> 3]`` loads the eight
    bytes at ``a`` (those whose load stays in the block).
    """
    if a + 4 < 8 * w8.shape[1]:
        v = w8[a & 7, a >> 3]
        lo = np.uint64(n) | ((v & _MASKS[min(n, 4)]) << np.uint64(32))
        if n > 12:
            hi = np.uint64(a) << np.uint64(32)
        elif n > 4:
            hi = w8[(a + 4) & 7, (a + 4) >> 3] & _MASKS[n - 4]
        else:
            hi = np.uint64(0)
    else:  # the end of the block
        lo = np.uint64(n)
        for j in range(min(n, 4)):
            lo |= np.uint64(buf[a + j]) << np.uint64(32 + 8 * j)
        hi = np.uint64(0)
        if n <= 12:
            for j in range(4, n):
                hi |= np.uint64(buf[a + j]) << np.uint64(8 * (j - 4))
        else:
            hi = np.uint64(a) << np.uint64(32)
    out[x, 2 * row] = lo
    out[x, 2 * row + 1] = hi


@_inline
def _quoted_stop(buf: Any, w8: Any, p: int) -> int:  # pragma: no cover - numba
    """The first ``"``, backslash or newline from ``p``, eight bytes at a time (SWAR).

    A byte equal to c is a zero byte of ``v ^ c·0x0101…``; ``(x − 0x0101…) & ~x &
    0x8080…`` flags the lowest zero byte of x exactly (higher flags may be false, and
    only the lowest is used).
    """
    lim = 8 * w8.shape[1]
    ones = np.uint64(0x0101010101010101)
    highs = np.uint64(0x8080808080808080)
    quote = np.uint64(0x2222222222222222)
    slash = np.uint64(0x5C5C5C5C5C5C5C5C)
    newline = np.uint64(0x0A0A0A0A0A0A0A0A)
    while p < lim:
        v = w8[p & 7, p >> 3]
        x0 = v ^ quote
        x1 = v ^ slash
        x2 = v ^ newline
        m = (((x0 - ones) & ~x0) | ((x1 - ones) & ~x1) | ((x2 - ones) & ~x2)) & highs
        if m:
            while not m & np.uint64(0x80):
                m >>= np.uint64(8)
                p += 1
            return p
        p += 8
    while buf[p] != 34 and buf[p] != 92 and buf[p] != 10:
        p += 1
    return p


@_inline
def _int_at(buf: Any, a: int, b: int) -> Any:  # pragma: no cover - numba
    """(0, value) for 1–18 digits, (1, 0) for ``-`` (null), (2, 0) for anything else."""
    n = b - a
    if n == 1 and buf[a] == 45:
        return 1, 0
    if n == 0 or n > 18:
        return 2, 0
    v = 0
    for j in range(a, b):
        d = int(buf[j]) - 48
        if d < 0 or d > 9:
            return 2, 0
        v = v * 10 + d
    return 0, v


@_inline
def _float_at(buf: Any, a: int, b: int, p10: Any) -> Any:  # pragma: no cover - numba
    """(0, value) for ``D+`` or ``D+.D+`` of at most 15 digits, (1, 0.0) for ``-``,
    (2, 0.0) for anything else. m / 10ᵏ with m < 2⁵³ and k ≤ 22 is one correctly
    rounded division: the double polars' parser gives."""
    n = b - a
    if n == 1 and buf[a] == 45:
        return 1, 0.0
    m = 0
    digits = 0
    frac = -1
    for j in range(a, b):
        c = buf[j]
        if c == 46 and frac < 0 and digits > 0:
            frac = 0
            continue
        d = int(c) - 48
        if d < 0 or d > 9:
            return 2, 0.0
        m = m * 10 + d
        digits += 1
        if frac >= 0:
            frac += 1
    if digits == 0 or frac == 0 or digits > 15:
        return 2, 0.0
    if frac > 0:
        return 0, m / p10[frac]
    return 0, float(m)


@_inline
def _ms_at(buf: Any, a: int, b: int, p10: Any) -> Any:  # pragma: no cover - numba
    """``$upstream_response_time`` and the like → (code, ms), as :func:`seconds_list_ms`.

    One decimal → its ms; a list (items split at ``,`` and ``:``, blanks stripped,
    ``-`` and empty items skipped) of up to 7 items → the sum of their ms, added in
    order (what polars' ``list.sum`` does for so few); ``-`` or no item → null (code 1).
    Anything else is code 2 (slow).
    """
    listed = False
    for j in range(a, b):
        if buf[j] == 44 or buf[j] == 58:
            listed = True
            break
    if not listed:
        code, v = _float_at(buf, a, b, p10)
        return code, v * 1000.0
    total = 0.0
    items = 0
    i = a
    while i <= b:
        j = i
        while j < b and buf[j] != 44 and buf[j] != 58:
            j += 1
        u = i
        v = j
        while u < v and (buf[u] == 32 or 9 <= buf[u] <= 13):
            u += 1
        while v > u and (buf[v - 1] == 32 or 9 <= buf[v - 1] <= 13):
            v -= 1
        if v > u and not (v - u == 1 and buf[u] == 45):  # (empty and "-" are skipped)
            code, x = _float_at(buf, u, v, p10)
            if code != 0:
                return 2, 0.0
            total += x * 1000.0
            items += 1
        i = j + 1
    if items > 7:
        return 2, 0.0
    if items == 0:
        return 1, 0.0
    return 0, total


@_inline
def _two(buf: Any, i: int) -> int:  # pragma: no cover - numba
    d1 = int(buf[i]) - 48
    d2 = int(buf[i + 1]) - 48
    if d1 < 0 or d1 > 9 or d2 < 0 or d2 > 9:
        return -100
    return d1 * 10 + d2


@_inline
def _time_local_at(buf: Any, a: int, b: int, months: Any) -> Any:  # pragma: no cover - numba
    """``03/Dec/2026:13:47:26 +0100`` → (True, µs since the epoch, UTC); else (False, 0)."""
    if b - a != 26:
        return False, 0
    if not (
        buf[a + 2] == 47
        and buf[a + 6] == 47
        and buf[a + 11] == 58
        and buf[a + 14] == 58
        and buf[a + 17] == 58
        and buf[a + 20] == 32
        and (buf[a + 21] == 43 or buf[a + 21] == 45)
    ):
        return False, 0
    mon = 0
    for m in range(12):
        if (
            buf[a + 3] == months[3 * m]
            and buf[a + 4] == months[3 * m + 1]
            and buf[a + 5] == months[3 * m + 2]
        ):
            mon = m + 1
            break
    day = _two(buf, a)
    year = _two(buf, a + 7) * 100 + _two(buf, a + 9)
    hh = _two(buf, a + 12)
    mi = _two(buf, a + 15)
    ss = _two(buf, a + 18)
    zh = _two(buf, a + 22)
    zm = _two(buf, a + 24)
    leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0
    dim = 31
    if mon == 2:
        dim = 29 if leap else 28
    elif mon == 4 or mon == 6 or mon == 9 or mon == 11:
        dim = 30
    if mon == 0 or year < 1000 or not 1 <= day <= dim:
        return False, 0
    if not (0 <= hh <= 23 and 0 <= mi <= 59 and 0 <= ss <= 59 and 0 <= zh <= 23 and 0 <= zm <= 59):
        return False, 0
    y = year - 1 if mon <= 2 else year  # days since 1970-01-01 (H. Hinnant's days_from_civil)
    era = y // 400
    yoe = y - era * 400
    mp = mon + 9 if mon <= 2 else mon - 3
    doe = yoe * 365 + yoe // 4 - yoe // 100 + (153 * mp + 2) // 5 + day - 1
    days = era * 146097 + doe - 719468
    zone = zh * 3600 + zm * 60
    if buf[a + 21] == 45:
        zone = -zone
    return True, (days * 86400 + hh * 3600 + mi * 60 + ss - zone) * 1_000_000


@_inline
def _request_at(
    buf: Any, w8: Any, a: int, b: int, plain: bool, views: Any, valid: Any, row: int
) -> bool:  # pragma: no cover - numba
    """``METHOD URI HTTP/x`` → views of method, path, query and protocol (rows 0–3).

    ``-`` is a null request. A backslash (unless ``plain``: ``escape=none``), fewer or
    more than two spaces, or a third part not starting ``HTTP/`` return False: those
    are split afterwards as the regex path splits them (:func:`_patch_requests`).
    """
    if b - a == 1 and buf[a] == 45:
        for x in range(4):
            valid[x, row] = False
            views[x, 2 * row] = 0
            views[x, 2 * row + 1] = 0
        return True
    s1 = -1
    s2 = -1
    q = -1
    for j in range(a, b):
        c = buf[j]
        if not _SPLIT_STOPS[c]:
            continue
        if c == 32:
            if s1 < 0:
                s1 = j
            elif s2 < 0:
                s2 = j
            else:
                return False
        elif c == 63 and s1 >= 0 and s2 < 0 and q < 0:
            q = j
        elif c == 92 and not plain:
            return False
    if s2 < 0 or b - s2 < 6:
        return False
    if not (
        buf[s2 + 1] == 72
        and buf[s2 + 2] == 84
        and buf[s2 + 3] == 84
        and buf[s2 + 4] == 80
        and buf[s2 + 5] == 47
    ):
        return False
    end = q if q >= 0 else s2
    _view(buf, w8, a, s1 - a, views, 0, row)
    _view(buf, w8, s1 + 1, end - s1 - 1, views, 1, row)
    if q >= 0:
        _view(buf, w8, q + 1, s2 - q - 1, views, 2, row)
    else:
        views[2, 2 * row] = 0
        views[2, 2 * row + 1] = 0
    _view(buf, w8, s2 + 1, b - s2 - 1, views, 3, row)
    valid[0, row] = True
    valid[1, row] = True
    valid[2, row] = q >= 0
    valid[3, row] = True
    return True


@_kernel
def _scan(
    buf: Any,
    w8: Any,
    ascii_only: bool,
    plain: bool,
    ops: Any,
    lits: Any,
    flags: Any,
    starts: Any,
    ends: Any,
    rows: Any,
    slashes: Any,
    texts: Any,
    tvalid: Any,
    ints: Any,
    ivalid: Any,
    floats: Any,
    fvalid: Any,
    times: Any,
    request: Any,
    rvalid: Any,
    rbound: Any,
) -> Any:  # pragma: no cover - numba
    """Match every line of a block against the program ``ops``, converting as it goes.

    Each line's bounds go to ``starts``/``ends`` (without a final ``\\r``, as the regex
    path reads it). A fast line's fields go to the next output row — string views, or
    values with their validity — and its line to ``rows``; a slow line's output is
    overwritten by the next line, and its line goes to the end of ``rows``, backwards.
    ``slashes`` counts per text field the fast lines holding a backslash there. The
    block ends with a newline, which stops every loop. Returns (fast, slow) counts.
    """
    n_lines = starts.size
    n_ops = ops.shape[0]
    pos = 0
    out = 0  # the output row of the line
    n_slow = 0
    for row in range(n_lines):
        a = pos
        k = a
        while buf[k] == 32 or buf[k] == 9 or buf[k] == 11 or buf[k] == 12 or buf[k] == 13:
            k += 1
        p = a
        st = _SLOW
        slashed = 0  # text fields with a backslash (bit per field)
        if buf[k] == 10:
            st = _BLANK
            p = k
        elif buf[k] < 0x80:  # (a line starting non-ASCII may be blank: the regex decides)
            ok = True
            for t in range(n_ops):
                op = ops[t, 0]
                if op == _LIT:
                    off = ops[t, 1]
                    n = ops[t, 2]
                    for j in range(n):
                        if buf[p + j] != lits[off + j]:
                            ok = False
                            break
                    if not ok:
                        break
                    p += n
                    continue
                s = p
                slash = False
                mode = ops[t, 2]
                while True:
                    if op == _QUOTED:
                        p = _quoted_stop(buf, w8, p)
                    else:
                        while flags[t, buf[p]] == 0:
                            p += 1
                    c = buf[p]
                    if mode == _LISTED and c == 44 and buf[p + 1] == 32:  # list: ", " item
                        p += 2
                        continue
                    if mode == _LISTED and c == 32 and buf[p + 1] == 58 and buf[p + 2] == 32:
                        p += 3  # list: " : " item (greedy; a line it fails is slow)
                        continue
                    if c != 92:
                        break
                    slash = True  # (?:[^"\\]|\\.)* steps over the escaped byte
                    if op != _QUOTED:
                        p += 1
                    elif buf[p + 1] == 10:
                        break
                    else:
                        p += 2
                f = p
                if op == _REST and f > s and buf[f - 1] == 13:
                    f -= 1
                kind = ops[t, 3]
                x = ops[t, 4]
                if kind == _AS_TEXT:
                    if f - s == 1 and buf[s] == 45:
                        tvalid[x, out] = False
                        texts[x, 2 * out] = 0
                        texts[x, 2 * out + 1] = 0
                    else:
                        tvalid[x, out] = True
                        _view(buf, w8, s, f - s, texts, x, out)
                        if slash:
                            slashed |= 1 << x
                elif kind == _AS_INT:
                    code, iv = _int_at(buf, s, f)
                    ints[x, out] = iv
                    ivalid[x, out] = code == 0
                    ok = code < 2
                elif kind in (_AS_FLOAT, _AS_MS):
                    if kind == _AS_FLOAT:
                        code, fv = _float_at(buf, s, f, _P10)
                    else:
                        code, fv = _ms_at(buf, s, f, _P10)
                    floats[x, out] = fv
                    fvalid[x, out] = code == 0
                    ok = code < 2
                elif kind == _AS_TIME:
                    ok, times[out] = _time_local_at(buf, s, f, _MONTHS)
                elif kind == _AS_REQUEST:
                    if _request_at(buf, w8, s, f, plain, request, rvalid, out):
                        rbound[0, out] = -1
                    else:  # split afterwards, as split_request does
                        rbound[0, out] = s
                        rbound[1, out] = f
                if not ok:
                    break
            if ok and buf[p] == 13 and buf[p + 1] == 10:
                p += 1
            if ok and buf[p] == 10:
                st = _FAST
        e = p
        while buf[e] != 10:
            e += 1
        b = e - 1 if e > a and buf[e - 1] == 13 else e
        starts[row] = a
        ends[row] = b
        pos = e + 1
        if st == _FAST and not ascii_only and not _utf8_ok(buf, a, b):
            st = _SLOW
        if st == _FAST:
            rows[out] = row
            out += 1
            while slashed:
                x = 0
                while not (slashed >> x) & 1:
                    x += 1
                slashes[x] += 1
                slashed &= ~(1 << x)
        elif st == _SLOW:
            n_slow += 1
            rows[n_lines - n_slow] = row
    return out, n_slow


_COMPILED: list[bool] = []
_COMPILING = threading.Lock()


def _compiled() -> bool:
    """Compile the kernels (once per process, whatever the threads); False without numba."""
    with _COMPILING:
        if not _COMPILED:
            try:
                import numba
            except ImportError:  # pragma: no cover - numba is a dependency
                _COMPILED.append(False)
                return False
            space = globals()
            for name in _KERNELS:
                inline = "always" if name in _INLINE else "never"
                jit = numba.njit(cache=True, nogil=True, inline=inline)  # type: ignore[call-overload]
                space[name] = jit(space[name])
            _COMPILED.append(True)
    return _COMPILED[0]


@dataclass(frozen=True)
class Scanned:
    """What :func:`scan_block` made of a block."""

    lines: int  # in the block
    raw: pl.DataFrame  # the fast lines: a column per variable (typed where converted)
    ready: frozenset[str]  # columns already nulled, decoded and typed
    fast: np.ndarray  # the block's rows (0-based) of raw's rows
    slow: np.ndarray  # the block's rows the regex path must read
    slow_lines: pl.Series  # their text


def scan_block(sc: Scanner, body: memoryview) -> Scanned | None:
    """Scan a block of whole lines (ending with a newline); None without numba."""
    if not _compiled():  # pragma: no cover - numba is a dependency
        return None
    buf = np.frombuffer(body, dtype=np.uint8)
    n, high = _census(buf)
    # w8[k, i]: the 8 bytes at 8i + k (unaligned loads), for every start up to size - 16
    words = max((buf.size - 15) // 8 + 1, 0)
    w8 = as_strided(np.frombuffer(body, np.uint64, count=buf.size // 8), (8, words), (1, 8))
    n_text, n_int, n_float = sc.counts
    m = n if _AS_REQUEST in sc.kinds else 0
    # what the columns are made of (new memory), then what only this call uses (reused:
    # in a VM a first touch of fresh memory costs as much as the scan of a line)
    texts = np.empty((n_text, 2 * n), np.uint64)
    ints = np.empty((n_int, n), np.int64)
    floats = np.empty((n_float, n), np.float64)
    times = np.empty(n if _AS_TIME in sc.kinds else 0, np.int64)
    request = np.empty((4, 2 * m), np.uint64)
    starts, ends, rows = _scratch("lines", (3, n), np.int64)
    tvalid = _scratch("tvalid", (n_text, n), np.bool_)
    ivalid = _scratch("ivalid", (n_int, n), np.bool_)
    fvalid = _scratch("fvalid", (n_float, n), np.bool_)
    rvalid = _scratch("rvalid", (4, m), np.bool_)
    rbound = _scratch("rbound", (2, m), np.int64)
    slashes = np.zeros(n_text, np.int64)
    fast, slow = _scan(buf, w8, not high, sc.escape == "none", sc.ops, sc.lits,
                       sc.stops, starts, ends, rows, slashes, texts, tvalid, ints, ivalid,
                       floats, fvalid, times, request, rvalid, rbound)  # fmt: skip
    data = pa.py_buffer(body)
    odd = np.flatnonzero(rbound[0, :fast] >= 0) if m else rbound[0, :0]
    extra = _patch_requests(body, rbound, odd, request, rvalid, sc.escape) if odd.size else None
    columns: list[pl.Series] = []
    ready: set[str] = set()
    index = dict.fromkeys((_AS_TEXT, _AS_INT, _AS_FLOAT), 0)
    for name, kind in zip(sc.names, sc.kinds, strict=True):
        row = _AS_FLOAT if kind == _AS_MS else kind
        x = index.get(row, 0)
        index[row] = x + 1
        if kind == _AS_TEXT:
            columns.append(_strings(name, texts[x, : 2 * fast], tvalid[x, :fast], data))
            if not slashes[x] or sc.escape == "none":
                ready.add(name)
            continue
        ready.add(name)
        if kind == _AS_INT:
            columns.append(_numbers(name, pa.int64(), ints[x, :fast], ivalid[x, :fast]))
        elif kind in (_AS_FLOAT, _AS_MS):
            columns.append(_numbers(name, pa.float64(), floats[x, :fast], fvalid[x, :fast]))
        elif kind == _AS_TIME:
            columns.append(_numbers(name, pa.timestamp("us", tz="UTC"), times[:fast], None))
        else:
            split = [
                _strings(part, request[i, : 2 * fast], rvalid[i, :fast], data, extra)
                for i, part in enumerate(("method", "path", "query", "protocol"))
            ]
            columns.append(pl.DataFrame(split).to_struct(name))
    slow_rows = rows[n - slow :][::-1].copy()
    lines = [_line(body, starts[r], ends[r]) for r in slow_rows.tolist()]
    return Scanned(
        n,
        pl.DataFrame(columns),
        frozenset(ready),
        rows[:fast].copy(),
        slow_rows,
        pl.Series("line", lines, pl.String),
    )


_SCRATCH = threading.local()


def _scratch(name: str, shape: tuple[int, int], dtype: Any) -> np.ndarray:
    """A reusable array of ``shape`` for this thread (its content is left over)."""
    size = shape[0] * shape[1] * np.dtype(dtype).itemsize
    have: np.ndarray | None = getattr(_SCRATCH, name, None)
    if have is None or have.size < size:
        have = np.empty(max(size, 1), np.uint8)
        setattr(_SCRATCH, name, have)
    return have[:size].view(dtype).reshape(shape)


def _line(body: memoryview, a: int, b: int) -> str:
    raw = bytes(body[a:b])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:  # as as_lines reads it
        return raw.decode("latin-1")


def _validity(valid: np.ndarray | None) -> tuple[Any, int]:
    if valid is None:
        return None, 0
    nulls = valid.size - int(np.count_nonzero(valid))
    if not nulls:
        return None, 0
    return pa.py_buffer(np.packbits(valid, bitorder="little")), nulls


def _numbers(name: str, kind: Any, values: np.ndarray, valid: np.ndarray | None) -> pl.Series:
    """A numeric or datetime column from values and a validity mask (no copy)."""
    mask, nulls = _validity(valid)
    arr = pa.Array.from_buffers(kind, values.size, [mask, pa.py_buffer(values)], null_count=nulls)
    return pl.Series(name, arr)


def _strings(
    name: str, views: np.ndarray, valid: np.ndarray, data: Any, extra: Any = None
) -> pl.Series:
    """A String column from Arrow views into ``data`` (the block's bytes: no copy) and
    ``extra`` (buffer 1: text made afterwards)."""
    mask, nulls = _validity(valid)
    buffers = [mask, pa.py_buffer(views), data] + ([] if extra is None else [extra])
    arr = pa.Array.from_buffers(pa.string_view(), valid.size, buffers, null_count=nulls)
    return pl.Series(name, arr)


def _patch_requests(
    body: memoryview, bounds: np.ndarray, rows: np.ndarray, views: Any, valid: Any, escape: str
) -> Any:
    """Split the request lines the scanner left (escapes, odd shapes) as the regex path
    does — escapes decoded, then :func:`split_request` and :func:`split_uri` — and write
    their views; the text goes to a second buffer, returned."""
    raw = pl.Series([bytes(body[a:b]).decode() for a, b in bounds[:, rows].T.tolist()])
    if escape != "none":
        raw = decode_escapes(raw, escape)
    parts = split_request(raw)
    path, query = split_uri(pl.col("uri"))
    parts = parts.select("method", path.alias("path"), query.alias("query"), "protocol")
    extra = bytearray()
    for i, name in enumerate(parts.columns):
        for row, value in zip(rows.tolist(), parts[name].to_list(), strict=True):
            valid[i, row] = value is not None
            text = b"" if value is None else value.encode()
            n = len(text)
            lo = n | int.from_bytes(text[:4], "little") << 32
            if n <= 12:
                hi = int.from_bytes(text[4:12], "little")
            else:
                hi = 1 | len(extra) << 32
                extra += text
            views[i, 2 * row] = lo
            views[i, 2 * row + 1] = hi
    return pa.py_buffer(bytes(extra))

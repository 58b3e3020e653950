"""read_trace_gc against a plain Python ``re`` loop on a 1,000,000-line --trace-gc log.

The log is built by repeating the real Node 20 capture
(``data/sample/memory/leak.trace-gc.log.gz``), shuffled in blocks with a fixed seed and
with the millisecond stamps made increasing. The peer is what a user would write: a
compiled ``re`` pattern matched per line, numbers converted, rows appended to lists,
then one polars frame.

    .venv/bin/python benchmarks/bench_memory_read.py [--lines 1000000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import gzip
import random
import re
import tempfile
from pathlib import Path

import polars as pl
from _timing import interleaved

from perflab.memory.read import read_trace_gc

ROOT = Path(__file__).resolve().parents[1]
_MB = float(1 << 20)
CAPTURE = ROOT / "data" / "sample" / "memory" / "leak.trace-gc.log.gz"

PEER = re.compile(
    r"^\[(\d+)(?::0x[0-9a-f]+)?\]\s+(\d+(?:\.\d+)?) ms: ([A-Z][\w -]*?(?: \(reduce\))?) "
    r"([\d.]+) \([\d.]+\) -> ([\d.]+) \(([\d.]+)\) MB, (?:pooled: [\d.]+ MB, )?([\d.]+)"
    r"(?: / [\d.]+)? ms(?:.*current mu = ([\d.]+)\))?\s*(.*)$"
)


def build(lines: int, seed: int = 7) -> bytes:
    """``lines`` lines of the real capture, repeated, stamps increasing."""
    text = gzip.decompress(CAPTURE.read_bytes()).decode().splitlines()
    rng = random.Random(seed)
    out: list[str] = []
    offset = 0.0
    stamp = re.compile(r"^(\[[^\]]+\]\s+)(\d+)( ms: .*)$")
    while len(out) < lines:
        start = rng.randrange(len(text))
        chunk = text[start:] + text[:start]
        last = 0.0
        for ln in chunk:
            m = stamp.match(ln)
            if m:
                last = float(m.group(2))
                ln = f"{m.group(1)}{int(offset + last):8d}{m.group(3)}"
            out.append(ln)
            if len(out) == lines:
                break
        offset += last + 1
    return ("\n".join(out) + "\n").encode()


def peer(path: Path) -> pl.DataFrame:
    """The plain-Python reader: one ``re.match`` per line."""
    cols: dict[str, list[object]] = {
        k: []
        for k in (
            "pid",
            "elapsed_s",
            "kind",
            "before",
            "after",
            "committed",
            "pause",
            "mu",
            "reason",
        )
    }
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            m = PEER.match(line)
            if m is None:
                continue
            pid, ms, kind, b, a, c, p, mu, reason = m.groups()
            cols["pid"].append(int(pid))
            cols["elapsed_s"].append(float(ms) / 1000)
            cols["kind"].append(kind.lower())
            cols["before"].append(float(b) * _MB)
            cols["after"].append(float(a) * _MB)
            cols["committed"].append(float(c) * _MB)
            cols["pause"].append(float(p))
            cols["mu"].append(float(mu) if mu else None)
            cols["reason"].append(reason.split(";")[0].strip() or None)
    return pl.DataFrame(cols)


def main() -> None:
    """Build the log, time both readers, print lines/s and the ratio."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "trace-gc.log"
        path.write_bytes(build(args.lines))
        size = path.stat().st_size / 1e6
        mine, other = interleaved([lambda: read_trace_gc(path), lambda: peer(path)], args.rounds)
        ours, n_ours = mine.median, mine.result.height
        theirs, n_peer = other.median, other.result.height
    print(f"{args.lines:,} lines ({size:.0f} MB), median of {args.rounds} rounds")
    for name, secs, n in (("read_trace_gc", ours, n_ours), ("python re loop", theirs, n_peer)):
        print(f"  {name:<16}  {secs:6.2f} s  {args.lines / secs:12,.0f} lines/s  {n:,} events")
    print(f"  ratio             {theirs / ours:6.1f}x")


if __name__ == "__main__":
    main()

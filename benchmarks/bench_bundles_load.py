"""read_webpack_stats against ``json.load`` on a ~100 MB webpack stats.json.

The file is built from the real webpack 5.113 stats of the sample app
(``data/sample/bundles/a/stats.json.gz``): its modules (with their reasons, bailouts,
nested concatenated modules) are copied over and over under new names
(``./node_modules/pkg-<n>/…``, seeded), spread over the sample's chunks, until the file
reaches ``--mb`` megabytes; it is written to a temporary folder. The peer is the first
step anyone takes: ``json.load`` into Python objects (no frames at all), so the ratio
says what building the five canonical frames costs over parsing alone.

    .venv/bin/python benchmarks/bench_bundles_load.py [--mb 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import random
import tempfile
from pathlib import Path

from _timing import interleaved

from perflab.bundles import read_webpack_stats

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "bundles" / "a" / "stats.json.gz"


def _rename(m: dict, n: int) -> dict:
    m = copy.deepcopy(m)
    for key in ("name", "identifier", "nameForCondition"):
        if isinstance(m.get(key), str):
            m[key] = (
                m[key]
                .replace("./node_modules/", f"./node_modules/pkg-{n}/")
                .replace("./src/", f"./src/copy-{n}/")
            )
    for r in m.get("reasons") or ():
        if isinstance(r.get("moduleName"), str):
            r["moduleName"] = r["moduleName"].replace("./src/", f"./src/copy-{n}/")
    for sub in m.get("modules") or ():
        sub.update(_rename(sub, n))
    return m


def build(target_mb: float, seed: int = 11) -> bytes:
    """The sample's stats with modules replicated until the JSON is ``target_mb`` MB."""
    stats = json.loads(gzip.decompress(SAMPLE.read_bytes()))
    rng = random.Random(seed)
    base = [m for m in stats["modules"] if m.get("name")]
    chunk_ids = [c["id"] for c in stats["chunks"]]
    one = len(json.dumps(base).encode())
    copies = max(1, int(target_mb * 1e6 / one))
    out = list(stats["modules"])
    for n in range(copies):
        for m in base:
            m2 = _rename(m, n)
            m2["chunks"] = rng.sample(chunk_ids, k=rng.choice((1, 1, 1, 2)))
            out.append(m2)
    stats["modules"] = out
    return json.dumps(stats).encode()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=100.0)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stats.json"
        path.write_bytes(build(args.mb))
        size_mb = path.stat().st_size / 1e6

        def peer() -> None:
            with open(path, encoding="utf-8") as fh:
                json.load(fh)

        rows = 0

        def ours() -> None:
            nonlocal rows
            rows = read_webpack_stats(path).module_frame.height

        t_peer, t_ours = (t.median for t in interleaved([peer, ours], args.rounds))
    print(f"stats.json: {size_mb:.1f} MB, {rows:,} module rows; medians of {args.rounds}")
    print(f"json.load (Python objects)      {t_peer:7.2f} s")
    print(f"read_webpack_stats (5 frames)   {t_ours:7.2f} s   target < 10 s")
    print(f"ratio ours / json.load          {t_ours / t_peer:7.2f}x")


if __name__ == "__main__":
    main()

"""Regenerate the real Node.js memory captures in ``data/sample/memory/``.

Nothing here hand-writes a format: Node.js itself (``node`` on the PATH, v20 when
these samples were made) writes every byte, V8's ``--trace-gc`` / ``--trace-gc-nvp``
lines to stdout mixed with the script's own ``console.log`` lines, and the scripts'
``process.memoryUsage()`` samples as JSON lines. See ``data/README.md`` (## memory).

Both runs use ``--gc-global``: left alone, V8 runs a Mark-Compact every few seconds
at this heap size (in a leaking process ever more rarely as its heap grows), a handful
in a minute, too few to judge the floor it returns to; between two of them the old
space fills with promoted garbage, leak or not. ``--gc-global`` makes every collection
a full one, so one minute shows the floors a service watched for hours would.

Usage (from the repository root)::

    .venv/bin/python data/make/memory_real.py [--seconds 60] [--nvp-seconds 3]

Writes, gzipped:

``leak.trace-gc.log.gz`` / ``leak.memory.jsonl.gz``
    ``node --gc-global --trace-gc data/make/memory/leak.js`` — a module-level ``Map`` retains
    every request-like object it handles: the post-GC heap grows steadily.
``steady.trace-gc.log.gz`` / ``steady.memory.jsonl.gz``
    ``node --gc-global --trace-gc data/make/memory/steady.js`` — the same churn, the cache bounded
    to 2,000 entries.
``steady.default-gc.trace-gc.log.gz``
    ``node --trace-gc data/make/memory/steady.js`` for 25 s with V8's own schedule:
    Scavenges and a few Mark-Compacts, for the reader.
``steady.trace-gc-nvp.log.gz``
    ``node --trace-gc-nvp data/make/memory/steady.js`` for ``--nvp-seconds`` (its lines
    are long: a short run keeps the sample small).
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "data" / "make" / "memory"
OUT = ROOT / "data" / "sample" / "memory"


def _gzip(src: Path, dest: Path) -> None:
    # mtime=0 and no file name: the same bytes give the same .gz
    with (
        open(src, "rb") as fh,
        open(dest, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz,
    ):
        shutil.copyfileobj(fh, gz)


def capture(
    script: str, flags: list[str], seconds: float, log_name: str, jsonl_name: str | None
) -> None:
    """Run ``node <flags> <script>``; gzip its stdout (and its samples) into ``OUT``."""
    node = shutil.which("node")
    if node is None:
        raise SystemExit("node is not on the PATH")
    with tempfile.TemporaryDirectory() as tmp:
        samples = Path(tmp) / "memory.jsonl"
        log = Path(tmp) / "trace.log"
        with open(log, "wb") as out:
            subprocess.run(
                [node, *flags, str(SCRIPTS / script), str(samples), str(seconds)],
                stdout=out,
                check=True,
                cwd=SCRIPTS,
            )
        _gzip(log, OUT / log_name)
        print(f"wrote {OUT / log_name}")
        if jsonl_name is not None:
            _gzip(samples, OUT / jsonl_name)
            print(f"wrote {OUT / jsonl_name}")


def main() -> None:
    """Run the captures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--nvp-seconds", type=float, default=3.0)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout
    print(f"node {version.strip()}")
    full = "--gc-global"  # every collection a Mark-Compact: see the module's docstring
    capture(
        "leak.js",
        [full, "--trace-gc"],
        args.seconds,
        "leak.trace-gc.log.gz",
        "leak.memory.jsonl.gz",
    )
    capture(
        "steady.js",
        [full, "--trace-gc"],
        args.seconds,
        "steady.trace-gc.log.gz",
        "steady.memory.jsonl.gz",
    )
    capture("steady.js", ["--trace-gc"], 25.0, "steady.default-gc.trace-gc.log.gz", None)
    capture("steady.js", ["--trace-gc-nvp"], args.nvp_seconds, "steady.trace-gc-nvp.log.gz", None)


if __name__ == "__main__":
    main()

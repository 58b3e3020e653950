"""Record the Python memory sample: a real process sampled by ``perflab.memory.MemorySampler``.

Run by hand (about 20 seconds):

    .venv/bin/python data/make/memory_python.py [--seconds 20]

It starts a child Python process that handles request-like work and keeps half a
megabyte of every tick in a module-level list (a leak), samples it by pid every 100 ms
with ``MemorySampler`` (USS/PSS/swap every second), and writes the samples in long form
to ``data/sample/memory/python-leak.samples.parquet`` (what ``read_samples`` reads).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap
from pathlib import Path

from perflab.frames import write_atomic
from perflab.memory import MemorySampler

CHILD = textwrap.dedent(
    """
    import sys, time
    kept, end = [], time.monotonic() + float(sys.argv[1])
    while time.monotonic() < end:
        batch = [bytes(1024) for _ in range(500)]
        kept.append(batch[:256])  # the leak: a quarter of each tick is never released
        time.sleep(0.02)
    """
)


def main() -> None:
    """Run the child, sample it, write the Parquet file."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--out", type=Path, default=Path("data/sample/memory"))
    args = ap.parse_args()
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(args.seconds)])
    sampler = MemorySampler(child.pid, interval=0.1, full_interval=1.0, system=False).start()
    child.wait()
    sampler.wait(10)
    frame = sampler.to_frame().drop("pid")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "python-leak.samples.parquet"
    write_atomic(path, frame.write_parquet)
    print(f"{path}: {frame.height} samples")


if __name__ == "__main__":
    main()

"""Build the Next.js sample with the real ``next build``.

Run by hand (about two minutes; needs Node.js >= 18.18 and the npm registry):

    .venv/bin/python data/make/bundles_next.py [--work DIR] [--keep]

The app is written by this script into a temporary folder (``--work``): Next.js
15.5.x (webpack build, the default in 15.x), React 19, with

* ``app/page.js`` — the app-router home page ``/`` (static);
* ``app/chart/page.js`` — an app-router route ``/chart`` using ``lodash`` whole (the
  heavy dependency, in this route only);
* ``app/time/page.js`` — ``/time``, rendered per request (``dynamic = "force-dynamic"``,
  the ƒ marker in the route table);
* ``pages/legacy.js`` — a pages-router page ``/legacy`` with ``getStaticProps`` (●);

then ``npm install`` (exact versions in ``package.json``) and ``npx next build`` with
``NEXT_TELEMETRY_DISABLED=1``. Into ``data/sample/bundles/next/`` it copies:

* ``build-output.txt`` — what ``next build`` printed on stdout (the route table);
* ``.next/build-manifest.json``, ``.next/app-build-manifest.json`` — as written;
* ``.next/static/chunks/**.js.gz`` (and ``.css.gz``) — every emitted chunk, gzipped
  (perflab measures ``x.js.gz`` when ``x.js`` is absent; sizes are those of the
  original bytes).

Absolute paths of the temporary folder are replaced by ``/app`` in the text files.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "sample" / "bundles" / "next"

VERSIONS = {"next": "15.5.29", "react": "19.2.9", "react-dom": "19.2.9", "lodash": "4.18.1"}

PACKAGE_JSON = {
    "name": "perflab-next-sample",
    "version": "1.0.0",
    "private": True,
    "license": "MIT",
    "scripts": {"build": "next build"},
    "dependencies": VERSIONS,
}

SOURCES = {
    "next.config.mjs": "export default { poweredByHeader: false };\n",
    "app/layout.js": """export const metadata = { title: "perflab next sample" };

export default function RootLayout({ children }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
""",
    "app/page.js": """import Link from "next/link";

export default function Home() {
  return (
    <main>
      <h1>Home</h1>
      <Link href="/chart">chart</Link> <Link href="/time">time</Link>
    </main>
  );
}
""",
    "app/chart/page.js": """"use client";
import { useState } from "react";
import _ from "lodash";

export default function Chart() {
  const [n, setN] = useState(10);
  const values = _.shuffle(_.range(n));
  const groups = _.groupBy(values, (v) => v % 3);
  return (
    <main>
      <h1>Chart</h1>
      <button onClick={() => setN(n + 5)}>more</button>
      <pre>{JSON.stringify(_.mapValues(groups, _.sum))}</pre>
    </main>
  );
}
""",
    "app/time/page.js": """export const dynamic = "force-dynamic";

export default function Time() {
  return <p>Rendered at {new Date().toISOString()}</p>;
}
""",
    "pages/legacy.js": """import { useState } from "react";

export async function getStaticProps() {
  return { props: { built: "build time" } };
}

export default function Legacy({ built }) {
  const [clicks, setClicks] = useState(0);
  return (
    <main>
      <h1>Legacy page ({built})</h1>
      <button onClick={() => setClicks(clicks + 1)}>clicked {clicks}</button>
    </main>
  );
}
""",
}


def run(cmd: list[str], cwd: Path) -> str:
    """Run ``cmd`` in ``cwd``; its stdout, or exit with its output on failure."""
    print("$", " ".join(cmd), flush=True)
    env = {**os.environ, "NEXT_TELEMETRY_DISABLED": "1", "CI": "1"}
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def write_app(app: Path) -> None:
    """Write package.json and the sources into ``app``."""
    app.mkdir(parents=True, exist_ok=True)
    (app / "package.json").write_text(json.dumps(PACKAGE_JSON, indent=2) + "\n")
    for name, text in SOURCES.items():
        p = app / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def copy_out(app: Path, stdout: str) -> None:
    """Copy the manifests, the gzipped chunks and the build output into OUT."""
    if OUT.exists():
        shutil.rmtree(OUT)
    dot = app / ".next"
    (OUT / ".next").mkdir(parents=True)
    root = str(app)
    (OUT / "build-output.txt").write_text(stdout.replace(root, "/app"))
    for name in ("build-manifest.json", "app-build-manifest.json"):
        if (dot / name).is_file():
            (OUT / ".next" / name).write_text((dot / name).read_text().replace(root, "/app"))
    static = dot / "static"
    for f in sorted(static.rglob("*")):
        if f.is_file() and f.suffix in (".js", ".css"):
            dest = OUT / ".next" / f.relative_to(dot)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.with_name(dest.name + ".gz").write_bytes(
                gzip.compress(f.read_bytes(), compresslevel=9, mtime=0)
            )


def main() -> None:
    """Build the app and copy the sample."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, help="build folder (default: a temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the build folder")
    ap.add_argument("--no-copy", action="store_true", help="build only")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="perflab-next-"))
    app = work / "app"
    try:
        write_app(app)
        run(["npm", "install", "--no-audit", "--no-fund", "--save-exact"], app)
        stdout = run(["npx", "next", "build"], app)
        print(stdout)
        if not args.no_copy:
            copy_out(app, stdout)
            total = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
            print(f"wrote {OUT} ({total / 1024:.0f} KB)")
    finally:
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Build the bundle samples with the real bundlers: webpack, esbuild and rollup.

Run by hand (about a minute; needs Node.js and the npm registry):

    .venv/bin/python data/make/bundles_real.py [--work DIR] [--keep]

The app is ``data/make/bundles/`` (three entries ``main``, ``admin``, ``widget``; an
``import()`` route; lodash whole next to ``lodash/debounce``; moment with all its
locales; date-fns; a CommonJS module of our own; a big table only the reports route
uses, imported statically by ``main``). The script copies it into a temporary folder
(``--work``), runs ``npm ci`` there (``package-lock.json`` pins every version), then:

* build **a** — ``npx webpack --json=stats.json`` (production, ``devtool:
  "source-map"``, ``splitChunks: {chunks: "all"}``, the stats options in
  ``webpack.config.js``); ``npx esbuild … --bundle --splitting --format=esm --minify
  --metafile=meta.json``; ``npx rollup -c`` with rollup-plugin-visualizer's
  ``raw-data`` template;
* build **b** — the same app with two changes: the settings route imports ``dayjs``
  (a new package) and the country table grows by half; webpack and esbuild again.

Into ``data/sample/bundles/`` it copies:

* ``a/stats.json.gz``, ``b/stats.json.gz`` — webpack stats, gzipped;
* ``a/output/*.js.gz`` — every emitted JavaScript file of build a, gzipped (perflab
  reads ``name.js.gz`` when ``name.js`` is absent, as nginx ``gzip_static`` serves it;
  sizes measured from the decompressed bytes). The folder is ``output``, not
  ``dist``: the repository's ``.gitignore`` ignores ``dist/``;
* ``a/output/main.*.js.map`` and ``a/output/admin.*.js.map`` — two of webpack's source
  maps (the others are over a megabyte);
* ``a/meta.json``, ``b/meta.json`` — esbuild metafiles (gzipped when over 64 KB);
* ``a/rollup-stats.json.gz`` — rollup-plugin-visualizer raw data;
* ``webpack4/stats.json.gz`` — build a's sources built by webpack 4.47 (webpack-cli
  3.3.12, ``data/make/bundles/webpack4/``: date-fns 2.30, which webpack 4's parser
  reads; ``NODE_OPTIONS=--openssl-legacy-provider``), stats with modules nested in
  ``chunks[]``.

Absolute paths of the temporary folder are replaced with ``/app`` in the copies, so
the samples do not depend on where they were built.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent / "bundles"
OUT = Path(__file__).resolve().parents[1] / "sample" / "bundles"
APP_FILES = ("package.json", "package-lock.json", "webpack.config.js", "rollup.config.mjs")
ENTRIES = ("src/main.js", "src/admin.js", "src/widget.js")


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    """Run ``cmd`` in ``cwd``, failing loudly with its output."""
    import os

    print("$", " ".join(cmd))
    done = subprocess.run(
        cmd, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")


def build(app: Path, name: str) -> Path:
    """Build ``app`` with webpack, esbuild (and rollup for build a) into ``app/out/name``."""
    out = app / "out" / name
    out.mkdir(parents=True, exist_ok=True)
    run(
        ["npx", "webpack", f"--json={out / 'stats.json'}"],
        app,
        {"OUT": str(out / "dist")},
    )
    run(
        [
            "npx",
            "esbuild",
            *ENTRIES,
            "--bundle",
            "--splitting",
            "--format=esm",
            "--minify",
            "--sourcemap",
            f"--metafile={out / 'meta.json'}",
            f"--outdir={out / 'esbuild'}",
            "--entry-names=[name]-[hash]",
            "--log-level=warning",
        ],
        app,
    )
    if name == "a":
        run(
            ["npx", "rollup", "-c", "rollup.config.mjs"],
            app,
            {"OUT": str(out / "rollup"), "STATS": str(out / "rollup-stats.json")},
        )
    return out


def change_for_b(app: Path) -> None:
    """Build b's changes: a new package on the settings route, a grown table."""
    settings = app / "src" / "routes" / "settings.js"
    settings.write_text(
        'import dayjs from "dayjs";\n'
        + settings.read_text().replace(
            "Quota used: ${percent(0.5)}", "Quota used: ${percent(0.5)} since ${dayjs().format()}"
        )
    )
    table = app / "src" / "data" / "countries.js"
    lines = table.read_text().splitlines()
    rows = [ln for ln in lines if ln.startswith("  {")]
    extra = [ln.replace('code: "', 'code: "X') for ln in rows[: len(rows) // 2]]
    end = lines.index("];")
    table.write_text("\n".join(lines[:end] + extra + lines[end:]) + "\n")


def scrub(data: bytes, app: Path) -> bytes:
    """Replace the temporary folder's absolute path with ``/app``."""
    return data.replace(str(app).encode(), b"/app")


def put(data: bytes, target: Path, *, gz: bool) -> None:
    """Write ``data`` to ``target`` (``target.gz`` gzipped when ``gz``)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        target = target.with_name(target.name + ".gz")
        data = gzip.compress(data, compresslevel=9, mtime=0)
    target.write_bytes(data)
    print(f"wrote {target.relative_to(OUT.parents[2])} ({len(data):,} bytes)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, help="build folder (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the build folder")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="perflab-bundles-"))
    app = work / "app"
    try:
        if app.exists():
            shutil.rmtree(app)
        app.mkdir(parents=True)
        for name in APP_FILES:
            shutil.copy2(HERE / name, app / name)
        shutil.copytree(HERE / "src", app / "src")
        run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], app)
        builds = {"a": build(app, "a")}
        wp4 = work / "webpack4"
        if wp4.exists():
            shutil.rmtree(wp4)
        shutil.copytree(HERE / "webpack4", wp4)
        shutil.copytree(HERE / "src", wp4 / "src")
        run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], wp4)
        run(
            ["sh", "-c", "npx webpack --json > stats.json"],
            wp4,
            {"NODE_OPTIONS": "--openssl-legacy-provider", "OUT": str(wp4 / "dist")},
        )
        change_for_b(app)
        builds["b"] = build(app, "b")
        if OUT.exists():
            shutil.rmtree(OUT)
        for name, out in builds.items():
            put(scrub((out / "stats.json").read_bytes(), app), OUT / name / "stats.json", gz=True)
            meta = scrub((out / "meta.json").read_bytes(), app)
            put(meta, OUT / name / "meta.json", gz=len(meta) > 65536)
        put(scrub((wp4 / "stats.json").read_bytes(), wp4), OUT / "webpack4" / "stats.json", gz=True)
        a = builds["a"]
        for js in sorted((a / "dist").glob("*.js")):
            put(js.read_bytes(), OUT / "a" / "output" / js.name, gz=True)
        for stem in ("main.", "admin."):
            for m in sorted((a / "dist").glob(f"{stem}*.js.map")):
                put(scrub(m.read_bytes(), app), OUT / "a" / "output" / m.name, gz=False)
        put(
            scrub((a / "rollup-stats.json").read_bytes(), app),
            OUT / "a" / "rollup-stats.json",
            gz=True,
        )
    finally:
        if not args.keep and not args.work:
            shutil.rmtree(work, ignore_errors=True)
    print(
        "versions:",
        subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip(),
    )


if __name__ == "__main__":
    main()

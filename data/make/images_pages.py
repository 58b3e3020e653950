"""Render the sample pages in ``data/sample/images/pages/`` from a tiny static site.

The pages are what :func:`perflab.images.audit_html` audits: the HTML a small CMS or
static-site generator would emit for a blog, with the image mistakes such sites make.
This script is that generator: one layout, two pages (an article and a photo gallery),
each image tag written the way a template author would write it. The images are the
samples of ``data/sample/images/`` (made by ``data/make/images_real.py``), referenced
root-relative (``/retina.jpg``), so the site's document root is that folder:
``audit_html("data/sample/images/pages", images_root="data/sample/images")``.

What each page plants (line numbers move if you edit this file — rerun and check):

``article.html``
    a hero (``hubble.jpg``, 500×436, sized, eager, ``fetchpriority="high"``); the site
    logo (``logo-transparent.png``, 500×500) shown at 48×48 CSS px; a figure of
    ``retina.jpg`` (1411×1411) shown at 352×352, a quarter of its width; an inline
    photo without ``width``/``height`` (``astronaut.jpg``); a well-served photo
    (``coffee.jpg``: sized, ``srcset``/``sizes``, ``loading="lazy"``,
    ``decoding="async"``); a "related posts" strip of thumbnails far below the fold
    without ``loading="lazy"``; a lazysizes-style image whose real tag sits in
    ``<noscript>`` (not rendered, not audited).
``gallery.html``
    a grid of photos below an intro: the first one (``rocket.jpg``, in the first
    viewport, the likely LCP element) with ``loading="lazy"``, the rest, below the
    fold, not lazy-loaded; one without dimensions, the
    PNG photo (``chelsea.png``) shown as a 200 px thumbnail, and an unclosed ``<li>``
    and ``<p>`` (valid HTML that a strict XML parser would reject).

Usage (from the repository root)::

    .venv/bin/python data/make/images_pages.py [--dest data/sample/images/pages]
"""

from __future__ import annotations

import argparse
import html
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

LAYOUT = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} · Night Sky Notes</title>
  <link rel="stylesheet" href="/assets/site.css">
</head>
<body>
  <header class="site-header">
    <a href="/"><img src="/logo-transparent.png" width="500" height="500"
         style="width: 48px; height: 48px" alt="Night Sky Notes"></a>
    <nav><a href="/">Home</a> <a href="/gallery.html">Gallery</a> <a href="/about/">About</a></nav>
  </header>
  <main>
{body}
  </main>
  <footer><p>© 2026 Night Sky Notes · <a href="/feed.xml">RSS</a></p></footer>
</body>
</html>
"""


def img(src: str, alt: str, **attrs: object) -> str:
    """An ``<img>`` tag as a template helper writes it (attributes in given order)."""
    parts = [f'src="{html.escape(src)}"', f'alt="{html.escape(alt)}"']
    for k, v in attrs.items():
        name = k.rstrip("_").replace("_", "-")
        parts.append(name if v is True else f'{name}="{html.escape(str(v))}"')
    return "<img " + " ".join(parts) + ">"


def paragraph(n: int) -> str:
    text = (
        "On a clear night far from city lights the eye resolves about two thousand "
        "stars; a small telescope shows tens of thousands, and a long exposure "
        "from orbit shows galaxies behind every one of them. "
    )
    return "    <p>" + text * n + "</p>"


def article() -> str:
    related = [("chelsea.png", 451, 300), ("rocket.jpg", 640, 427), ("page.png", 384, 191),
               ("logo.png", 500, 500)]  # fmt: skip
    strip = "\n".join(
        f'        <li><a href="/posts/{i}/">{img("/" + name, "Related post", width=w, height=h)}'
        "</a></li>"
        for i, (name, w, h) in enumerate(related, 1)
    )
    body = "\n".join(
        [
            "    <article>",
            "    <h1>What the Hubble Deep Field taught us</h1>",
            "    "
            + img(
                "/hubble.jpg", "The Hubble Deep Field", width=500, height=436, fetchpriority="high"
            ),
            paragraph(3),
            "    <figure>",
            "      "
            + img("/retina.jpg", "A retina photographed through the pupil", width=352, height=352),
            "      <figcaption>The eye that looks: a retina, 352 px wide on the page.</figcaption>",
            "    </figure>",
            paragraph(4),
            "    " + img("/astronaut.jpg", "Eileen Collins, the first woman to pilot the shuttle"),
            paragraph(4),
            "    "
            + img(
                "/coffee.jpg",
                "Coffee for the night shift",
                width=600,
                height=400,
                srcset="/coffee.jpg 600w",
                sizes="(min-width: 640px) 600px, 100vw",
                loading="lazy",
                decoding="async",
            ),
            paragraph(5),
            '    <img class="lazyload" src="data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw=="',  # noqa: E501
            '         data-src="/rocket.jpg" width="640" height="427" alt="Launch">',
            '    <noscript><img src="/rocket.jpg" width="640" height="427" alt="Launch">'
            "</noscript>",
            "    </article>",
            '    <section class="related">',
            "      <h2>Related posts</h2>",
            "      <ul>",
            strip,
            "      </ul>",
            "    </section>",
        ]
    )
    return LAYOUT.format(title="What the Hubble Deep Field taught us", body=body)


def gallery() -> str:
    photos = [
        ("/rocket.jpg", "Launch at dusk", 640, 427),
        ("/coffee.jpg", "Night shift", 600, 400),
        ("/chelsea.png", "The observatory cat", 200, 133),
        ("/astronaut.jpg", "Crew portrait", None, None),
        ("/hubble.jpg", "Deep field", 500, 436),
        ("/retina.jpg", "Retina", 600, 600),
    ]
    items = []
    for src, alt, w, h in photos:
        attrs: dict[str, object] = {} if w is None else {"width": w, "height": h}
        if src == "/rocket.jpg":  # the template's lazy-loading reaches the top image too
            attrs["loading"] = "lazy"
        items.append(f"      <li>{img(src, alt, **attrs)}")  # <li> left unclosed, as allowed
    body = "\n".join(
        [
            "    <h1>Gallery</h1>",
            "    <p>Photographs from the club's nights out, newest first.",
            paragraph(2),
            '    <ul class="grid">',
            *items,
            "    </ul>",
        ]
    )
    return LAYOUT.format(title="Gallery", body=body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=Path, default=ROOT / "data/sample/images/pages")
    args = parser.parse_args()
    from perflab.frames import write_atomic

    for name, render in (("article.html", article), ("gallery.html", gallery)):
        path = write_atomic(args.dest / name, render())
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


if __name__ == "__main__":
    main()

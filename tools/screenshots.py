"""Screenshots of the demo's preview site for docs/img/: a post's mock-ups and the calendar.

    python tools/screenshots.py            # runs the demo, serves its site, shoots it
    python tools/screenshots.py --site DIR # shoots a site already written

Headless Chromium (Debian's `chromium`) driven by Playwright's Python package; Playwright's own
browser download is never used. The site is served from a local http.server on a free port. The examples' media live on
cdn.acme.example.com, which does not exist: each is answered with a plain tile of its own
colour, so the shots show the layout rather than broken-image icons.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import http.server
import shutil
import struct
import sys
import tempfile
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def png(width: int, height: int, rgb: tuple[int, int, int] = (0x88, 0x88, 0x88)) -> bytes:
    """A valid PNG of one colour (the browser tests load such images too)."""
    row = b"\x00" + bytes(rgb) * width
    body = zlib.compress(row * height)

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


def tile(url: str, width: int = 600, height: int = 600) -> bytes:
    """A PNG of one colour, chosen by the URL: a stand-in for an example's image."""
    red, green, blue = hashlib.sha256(url.encode()).digest()[:3]
    return png(width, height, (red // 2 + 64, green // 2 + 64, blue // 2 + 64))


def demo_site(workspace: Path) -> Path:
    from orshot_gitops.console import Console
    from orshot_gitops.demo import run_demo

    console = Console()
    console.color = False
    if run_demo(workspace, console) != 0:
        raise SystemExit("the demo failed")
    return workspace / "preview"


def shoot(site: Path, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        raise SystemExit("chromium not found: apt-get install chromium")

    def post(word: str) -> str:
        return (sorted(site.glob(f"post-*{word}*.html")) or sorted(site.glob("post-*.html")))[
            0
        ].name

    shots = [
        ("preview-mockups.png", post("single-image"), 1280),
        ("preview-calendar.png", "calendar.html", 1280),
        ("preview-phone.png", post("carousel"), 375),
    ]
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with serve(site) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        context = browser.new_context()
        context.route(
            "https://cdn.acme.example.com/**",
            lambda route: route.fulfill(body=tile(route.request.url), content_type="image/png"),
        )
        for name, page_name, width in shots:
            page = context.new_page()
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{base}/{page_name}")
            page.screenshot(path=str(out / name), full_page=width < 800)
            page.close()
            written.append(out / name)
        browser.close()
    return written


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--site", type=Path, help="a site already written (default: the demo's)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="orshot-shots-") as temporary:
        site = args.site or demo_site(Path(temporary) / "demo")
        for path in shoot(site, args.out):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/python3
"""Check a report.html written by the Go package report.

Usage: check_report.py REPORT.html [OUT.png]

1. The HTML is self-contained: no http:// or https:// anywhere, every <img>
   source is a data: URI, no <script>, <link>, <iframe>, <object> or <embed>.
2. Every <img> is decoded from its base64 data URI and must be a PNG that is
   not blank: more than 2 distinct colours and more than 1 % of its pixels
   not white (a channel below 250).
3. Headless Chromium renders the page into OUT.png (default: a temporary
   file, removed before the script exits) at 1400 px wide. The window starts 8000 px tall and
   doubles, up to 32000 px, while content reaches the bottom edge, so the
   whole page is in the screenshot. The screenshot, cut below the last
   non-white row, must not be blank either.

Prints one line per image and a summary; the exit status is 1 when a check
fails, 2 on usage errors. Needs Pillow, numpy and the chromium binary.
"""

import base64
import binascii
import html.parser
import io
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

WIDTH = 1400
START_HEIGHT = 8000
MAX_HEIGHT = 32000
WHITE = 250  # a pixel with every channel at or above this is white
MIN_COLOURS = 3
MIN_NON_WHITE = 0.01
FORBIDDEN_TAGS = {"script", "link", "iframe", "object", "embed"}


class Parser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.images = []  # (alt, src)
        self.forbidden = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append((a.get("alt") or "", a.get("src") or ""))
        if tag in FORBIDDEN_TAGS:
            self.forbidden.append(tag)


def blankness(img):
    """Return (distinct colours, fraction of non-white pixels) of img."""
    rgb = np.asarray(img.convert("RGB"))
    flat = rgb.reshape(-1, 3)
    colours = len(np.unique(flat.view([("", flat.dtype)] * 3)))
    non_white = float(np.mean(np.any(flat < WHITE, axis=1)))
    return colours, non_white


def blank(colours, non_white):
    return colours < MIN_COLOURS or non_white <= MIN_NON_WHITE


def check_images(images):
    """Print a line per image; return the number that fail."""
    failed = 0
    prefix = "data:image/png;base64,"
    for i, (alt, src) in enumerate(images, 1):
        label = (alt[:60] + "…") if len(alt) > 60 else alt
        if not src.startswith(prefix):
            print(f"FAIL image {i} ({label}): source is not a PNG data URI: {src[:40]!r}")
            failed += 1
            continue
        try:
            data = base64.b64decode(src[len(prefix):], validate=True)
            img = Image.open(io.BytesIO(data))
            img.load()
        except (binascii.Error, OSError) as e:
            print(f"FAIL image {i} ({label}): cannot decode: {e}")
            failed += 1
            continue
        if img.format != "PNG":
            print(f"FAIL image {i} ({label}): format {img.format}, not PNG")
            failed += 1
            continue
        colours, non_white = blankness(img)
        bad = blank(colours, non_white)
        failed += bad
        print(f"{'FAIL' if bad else 'ok  '} image {i}: {img.width}×{img.height}, "
              f"{len(data)} bytes, {colours} colours, {100 * non_white:.1f} % not white — {label}")
    return failed


def screenshot(chromium, page, out):
    """Render page into out; return (content height, window height)."""
    height = START_HEIGHT
    with tempfile.TemporaryDirectory(prefix="check-report-") as profile:
        while True:
            cmd = [chromium, "--headless", "--disable-gpu", "--no-sandbox",
                   "--hide-scrollbars", f"--user-data-dir={profile}",
                   f"--screenshot={out}", f"--window-size={WIDTH},{height}",
                   "file://" + page]
            if os.path.exists(out):
                os.remove(out)
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, timeout=300)
            if r.returncode != 0 or not os.path.exists(out):
                sys.stderr.write(r.stderr)
                raise RuntimeError(f"chromium exited with {r.returncode} and wrote no screenshot")
            with Image.open(out) as shot:
                rgb = np.asarray(shot.convert("RGB"))
            rows = np.nonzero(np.any(rgb < WHITE, axis=(1, 2)))[0]
            last = int(rows[-1]) + 1 if len(rows) else 0
            if last < height - 40 or height >= MAX_HEIGHT:
                return last, height
            height = min(2 * height, MAX_HEIGHT)


def main(argv):
    if len(argv) not in (2, 3):
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
        return 2
    page = os.path.abspath(argv[1])
    if len(argv) == 3:
        out = os.path.abspath(argv[2])
        return check(page, out, out)
    with tempfile.TemporaryDirectory(prefix="check-report-") as tmp:
        return check(page, os.path.join(tmp, "screenshot.png"), "(not kept)")


def check(page, out, shown):
    """Run the checks on page, rendering it into out (named shown in the
    output); return the exit status."""
    with open(page, encoding="utf-8") as f:
        text = f.read()

    failed = 0
    for bad in ("http://", "https://"):
        if bad in text:
            print(f"FAIL page contains {bad!r}")
            failed += 1
    p = Parser()
    p.feed(text)
    p.close()
    if p.forbidden:
        print(f"FAIL page contains tags {sorted(set(p.forbidden))}")
        failed += 1
    if not p.images:
        print("note: the page has no images")
    failed += check_images(p.images)

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("FAIL chromium not found (apt-get install chromium)")
        return 1
    try:
        last, height = screenshot(chromium, page, out)
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        print(f"FAIL screenshot: {e}")
        return 1
    with Image.open(out) as shot:
        content = shot.convert("RGB").crop((0, 0, shot.width, max(last, 1)))
    colours, non_white = blankness(content)
    bad = blank(colours, non_white)
    failed += bad
    cut = " (page may continue below)" if last >= height - 40 else ""
    print(f"{'FAIL' if bad else 'ok  '} screenshot {shown}: window {WIDTH}×{height}, content "
          f"{last} px tall{cut}, {colours} colours, {100 * non_white:.1f} % not white")
    print(f"{len(p.images)} images, {failed} failed checks")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

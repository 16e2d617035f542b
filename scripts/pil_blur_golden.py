#!/usr/bin/python3
"""Write Pillow GaussianBlur(radius=1) reference cases for package attack.

Usage: /usr/bin/python3 scripts/pil_blur_golden.py [OUT]
       (default OUT: testdata/pil/blur_golden.bin.gz)

Needs the Debian python3-pil (Pillow 9.4) and numpy; no pip packages.

Cases: random 8-bit images of every square size n×n for n = 1..40, of the
non-square sizes in EXTRA_SIZES and of 64×64, each in mode 'L' and 'RGB';
random images with values 0..3 (many ties near the rounding point); and
structured images: a single 255 at the centre of a 7×7 image ('L', and 'RGB'
with different values per channel), constant 255, constant 0, checkerboards,
an impulse in a corner and a horizontal ramp. Random pixels come from
numpy.random.RandomState(SEED).randint(0, 256) drawn in case order, so the
file is deterministic; gzip is written with mtime 0 and no file name, so
rerunning the script with the same Pillow reproduces the file byte for byte.

File layout (gzip-compressed; integers little endian):

    magic   8 bytes  b"PILBLUR1"
    count   uint32   number of cases
    count times:
        c       uint8   channels: 1 for mode 'L', 3 for mode 'RGB'
        h       uint16  height
        w       uint16  width
        input   h*w*c bytes, HWC (Pillow's tobytes order)
        output  h*w*c bytes, HWC: input.filter(ImageFilter.GaussianBlur(radius=1))
"""

import gzip
import io
import os
import struct
import sys

import numpy as np
from PIL import Image, ImageFilter

SEED = 20240601
MAGIC = b"PILBLUR1"
EXTRA_SIZES = [(1, 40), (40, 1), (3, 17), (17, 3), (1, 2), (2, 1), (2, 5), (5, 2), (28, 28), (32, 32), (64, 64)]
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata", "pil", "blur_golden.bin.gz")
MODES = {1: "L", 3: "RGB"}


def blur(a):
    """Blur an HWC uint8 array with Pillow and return the HWC result."""
    h, w, c = a.shape
    im = Image.frombytes(MODES[c], (w, h), a.tobytes())
    out = im.filter(ImageFilter.GaussianBlur(radius=1))
    return np.frombuffer(out.tobytes(), dtype=np.uint8).reshape(h, w, c)


def cases():
    rs = np.random.RandomState(SEED)
    sizes = [(n, n) for n in range(1, 41)] + EXTRA_SIZES
    for h, w in sizes:
        for c in (1, 3):
            yield rs.randint(0, 256, size=(h, w, c)).astype(np.uint8)
    for h, w in [(5, 5), (13, 9), (9, 13)]:
        for c in (1, 3):
            yield rs.randint(0, 4, size=(h, w, c)).astype(np.uint8)

    impulse = np.zeros((7, 7, 1), np.uint8)
    impulse[3, 3, 0] = 255
    yield impulse
    impulse3 = np.zeros((7, 7, 3), np.uint8)
    impulse3[3, 3] = (255, 0, 100)
    yield impulse3
    for c in (1, 3):
        yield np.full((9, 11, c), 255, np.uint8)
        yield np.zeros((9, 11, c), np.uint8)
    for h, w in [(8, 8), (9, 7)]:
        board = ((np.arange(h)[:, None] + np.arange(w)[None, :]) % 2 * 255).astype(np.uint8)
        yield board[:, :, None]
        yield np.repeat(board[:, :, None], 3, axis=2)
    corner = np.zeros((6, 5, 1), np.uint8)
    corner[0, 0, 0] = 255
    yield corner
    ramp = np.tile((np.arange(33) * 255 // 32).astype(np.uint8), (4, 1))
    yield ramp[:, :, None]


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT
    body = io.BytesIO()
    n = 0
    for a in cases():
        h, w, c = a.shape
        body.write(struct.pack("<BHH", c, h, w))
        body.write(a.tobytes())
        body.write(blur(a).tobytes())
        n += 1
    raw = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as z:
        z.write(MAGIC + struct.pack("<I", n) + body.getvalue())
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, "wb") as f:
        f.write(raw.getvalue())


if __name__ == "__main__":
    main()

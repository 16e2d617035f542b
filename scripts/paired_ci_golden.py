#!/usr/bin/env python3
"""Reference values for leakage/interval_test.go (standard library only).

Computes, in Python floats, the 95 % Wilson score interval for a single
proportion and Newcombe's hybrid score interval for the difference of paired
proportions (Newcombe 1998, Statistics in Medicine 17:2635, method 10, with
the corrected correlation estimate phi), written from the formulas and not
from the Go code. z is statistics.NormalDist().inv_cdf(0.975).

Prints Go table rows; paste them into interval_test.go:

    /usr/bin/python3 scripts/paired_ci_golden.py
"""

import math
from statistics import NormalDist

Z = NormalDist().inv_cdf(0.975)


def wilson(k, n, z=Z):
    """Wilson interval: the roots p of (k/n - p)^2 = z^2 p (1 - p) / n."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    lo, hi = centre - half, centre + half
    if k == 0:
        lo = 0.0
    if k == n:
        hi = 1.0
    return max(lo, 0.0), min(hi, 1.0)


def phi(e, f, g, h):
    """Newcombe's corrected phi; 0 when a margin of the table is empty."""
    n = e + f + g + h
    margins = (e + f) * (g + h) * (e + g) * (f + h)
    if margins == 0:
        return 0.0
    a = e * h - f * g
    if a > n / 2:
        c = a - n / 2
    elif a >= 0:
        c = 0.0
    else:
        c = a
    return c / math.sqrt(margins)


def paired(e, f, g, h, z=Z):
    n = e + f + g + h
    theta = (f - g) / n
    p1, p2 = (e + f) / n, (e + g) / n
    l1, u1 = wilson(e + f, n, z)
    l2, u2 = wilson(e + g, n, z)
    ph = phi(e, f, g, h)
    delta = math.sqrt((p1 - l1) ** 2 - 2 * ph * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2)
    eps = math.sqrt((u1 - p1) ** 2 - 2 * ph * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2)
    return theta, max(theta - delta, -1.0), min(theta + eps, 1.0)


# Newcombe's examples (e, f, g, h) and further tables: small, unbalanced,
# negative correlation (A < 0), 0 <= A <= n/2, and empty margins.
PAIRED = [
    (36, 12, 2, 0), (20, 12, 2, 16), (18, 12, 2, 18),
    (36, 14, 0, 0), (35, 14, 0, 1), (18, 14, 0, 18),
    (2, 97, 1, 0), (1, 97, 1, 1), (0, 29, 1, 0),
    (2, 98, 0, 0), (1, 98, 0, 1), (0, 30, 0, 0),
    (54, 0, 0, 0), (53, 0, 0, 1), (30, 0, 0, 24),
    (29, 0, 0, 25), (28, 0, 0, 26), (27, 0, 0, 27),
    (1, 1, 7, 12), (59, 6, 16, 80), (3, 10, 12, 2),
    (5, 4, 3, 6), (0, 0, 0, 7), (0, 5, 5, 0), (1, 0, 0, 0),
    (120, 41, 17, 122),
]

WILSON = [(81, 263), (15, 148), (0, 20), (1, 29), (29, 29), (1, 3), (7, 10), (150, 300)]


def main():
    print(f"// z = {Z!r}")
    print("// paired: e, f, g, h, d, lo, hi")
    for e, f, g, h in PAIRED:
        d, lo, hi = paired(e, f, g, h)
        print(f"{{{e}, {f}, {g}, {h}, {d!r}, {lo!r}, {hi!r}}},")
    print("// wilson: k, n, lo, hi")
    for k, n in WILSON:
        lo, hi = wilson(k, n)
        print(f"{{{k}, {n}, {lo!r}, {hi!r}}},")


if __name__ == "__main__":
    main()

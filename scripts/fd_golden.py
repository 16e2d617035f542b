#!/usr/bin/python3
"""Write reference Fréchet distances for package leakage's golden test.

Usage: /usr/bin/python3 scripts/fd_golden.py [DIR]
       (default DIR: testdata/fd)

Writes DIR/fd_golden.safetensors with two feature sets "<case>.x" [N_x, D]
and "<case>.y" [N_y, D] per case (float32), and DIR/fd_golden.json with, per
case, the Fréchet distance computed from exactly those float32 values cast to
float64 the way pytorch-fid computes it:

  mu = mean(axis=0), sigma = numpy.cov(rowvar=False) (unbiased, N - 1);
  covmean = scipy.linalg.sqrtm(sigma_x @ sigma_y, disp=False);
  if covmean is not finite: retry with sigma + 1e-6*I on both sides;
  if covmean is complex: require |imag(diag)| <= 1e-3, keep the real part;
  FD = |mu_x - mu_y|^2 + tr(sigma_x) + tr(sigma_y) - 2 tr(covmean).

"fd_nuclear" is the same distance with tr((sigma_x sigma_y)^1/2) taken as the
sum of the singular values of Xc Ycᵀ / sqrt((N_x - 1)(N_y - 1)) (Xc, Yc the
centred features), which avoids a matrix square root; "offset" records
whether the eps*I retry was needed, "sqrtm_errest" scipy's error estimate
(null when not finite).

Cases: d4 (D=4, N=50/60), d64 (D=64, N=200/150), d128 (D=128, N=100/300:
fewer samples than dimensions on one side, so sigma_x has rank 99) and
relu32 (D=32, N=80/90, ReLU features with some units dead on each side, so
both covariances are singular). Deterministic: fixed seed, one BLAS thread.
"""

import json
import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import scipy.linalg  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stfile  # noqa: E402

SEED = 20240611
EPS = 1e-6
DEFAULT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata", "fd")


def gaussian(rng, n, d, shift, spread):
    """n samples of a correlated Gaussian in d dimensions."""
    a = rng.standard_normal((d, d)) * spread / np.sqrt(d)
    mu = shift + rng.standard_normal(d)
    return mu + rng.standard_normal((n, d)) @ a.T


def relu_features(rng, n, d, dead):
    """n non-negative feature vectors with the units in dead always zero."""
    x = np.maximum(gaussian(rng, n, d, 0.5, 2.0), 0.0)
    x[:, dead] = 0.0
    return x


def reference_fd(x, y):
    """pytorch-fid's computation on float64 copies of x and y."""
    mu1, mu2 = x.mean(axis=0), y.mean(axis=0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    diff = mu1 - mu2
    covmean, errest = scipy.linalg.sqrtm(s1.dot(s2), disp=False)
    offset = False
    if not np.isfinite(covmean).all():
        offset = True
        eye = np.eye(s1.shape[0]) * EPS
        covmean = scipy.linalg.sqrtm((s1 + eye).dot(s2 + eye))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError("imaginary component %g" % np.max(np.abs(covmean.imag)))
        covmean = covmean.real
    fd = diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)
    xc, yc = x - mu1, y - mu2
    nuclear = np.linalg.svd(xc @ yc.T, compute_uv=False).sum() / np.sqrt((len(x) - 1) * (len(y) - 1))
    fd_nuclear = diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * nuclear
    return float(fd), float(fd_nuclear), offset, float(errest)


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_DIR
    rng = np.random.default_rng(SEED)
    sets = {
        "d4": (gaussian(rng, 50, 4, 0.0, 1.0), gaussian(rng, 60, 4, 0.3, 1.5)),
        "d64": (gaussian(rng, 200, 64, 1.0, 3.0), gaussian(rng, 150, 64, 1.2, 2.0)),
        "d128": (gaussian(rng, 100, 128, 0.0, 2.0), gaussian(rng, 300, 128, 0.1, 2.5)),
        "relu32": (relu_features(rng, 80, 32, [0, 1, 2, 3]), relu_features(rng, 90, 32, [2, 3, 4, 5, 6])),
    }
    tensors = {}
    cases = {}
    for name, (x, y) in sets.items():
        x32, y32 = x.astype(np.float32), y.astype(np.float32)
        tensors[name + ".x"] = torch.from_numpy(x32)
        tensors[name + ".y"] = torch.from_numpy(y32)
        fd, fd_nuclear, offset, errest = reference_fd(x32.astype(np.float64), y32.astype(np.float64))
        cases[name] = {
            "d": x.shape[1],
            "n_x": x.shape[0],
            "n_y": y.shape[0],
            "fd": fd,
            "fd_nuclear": fd_nuclear,
            "offset": offset,
            "sqrtm_errest": errest if np.isfinite(errest) else None,
        }
    os.makedirs(out_dir, exist_ok=True)
    stfile.save(os.path.join(out_dir, "fd_golden.safetensors"), tensors, {"seed": SEED})
    doc = {"numpy": np.__version__, "scipy": scipy.__version__, "seed": SEED, "cases": cases}
    with open(os.path.join(out_dir, "fd_golden.json"), "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Re-simulate a NIR file written by `privatesnn export` in PyTorch.

Reads the file with h5py alone (neither privatesnn's reader nor the NIR
library), walks the chain Input -> Conv2d/IF/AvgPool2d/SumPool2d/Flatten/
Linear/Affine/I -> Output along its edges, and simulates it step by step on
the first N test images of a data set, with the semantics the file's
privatesnn.* metadata records (or, with --nir-semantics, NIR's own: reset to
v_reset, zero initial membrane). Prints one JSON object: per IF node the
spikes summed over images and steps and the decisions taken within NEAR of
the threshold, and the accuracy; --out also writes it.

Currents (Conv2d, Linear, Affine) are summed in float64 and rounded once to
float32, as `privatesnn eval --exact-currents` sums them, so the spikes do
not depend on either engine's summation order; --float32-currents sums in
float32 in PyTorch's order instead (then a few decisions within float32
rounding of the threshold can differ from privatesnn's default kernels).
One step of an IF node: v = v + r*I (leak 1; other leaks are refused),
spike when v > v_threshold (strict), then v -= v_threshold (reset subtract)
or v = v_reset (reset zero). Every IF starts at init_membrane*v_threshold.
The I node sums its input over the T steps; the class is its argmax.
Only direct input is simulated (Poisson input draws random spikes, which a
re-simulation cannot replay).

Usage:
  /usr/bin/python3 scripts/nir_resim.py FILE.nir --images 1000 \
      [--data-dir /usr/share/datasets/fashion-mnist] [--nir-semantics] [--out OUT.json]
"""
import argparse
import gzip
import json
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F


# NEAR: a membrane within this fraction of its threshold is a decision that
# float32 rounding in another summation order (privatesnn's kernels against
# PyTorch's) can flip; such decisions are counted beside the spikes.
NEAR = 1e-5


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(magic & 0xFF)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def value(d):
    v = d[()]
    if isinstance(v, bytes):
        return v.decode("utf8")
    return v


def read_graph(path):
    with h5py.File(path, "r") as f:
        g = f["node"]
        nodes = {}
        for name, grp in g["nodes"].items():
            nodes[name] = {k: value(grp[k]) for k in grp.keys()}
        edges = [(a.decode() if isinstance(a, bytes) else a, b.decode() if isinstance(b, bytes) else b)
                 for a, b in g["edges"][()]]
        meta = {k: value(v) for k, v in g["metadata"].items()} if "metadata" in g else {}
    return nodes, edges, meta


def chain(nodes, edges):
    nxt = dict(edges)
    start = [n for n, d in nodes.items() if d["type"] == "Input"]
    assert len(start) == 1, start
    out, name = [], start[0]
    while True:
        out.append(name)
        if name not in nxt:
            return out
        name = nxt[name]


def weighted(f, h, w, b, exact):
    """f(h, w, b) in float64 rounded once to float32 (exact: the currents of
    `privatesnn eval --exact-currents`), or in float32."""
    if not exact:
        return f(h, w, b)
    return f(h.double(), w.double(), None if b is None else b.double()).float()


def simulate(nodes, order, meta, x, nir_semantics, exact):
    T = int(meta["privatesnn.timesteps"])
    assert meta.get("privatesnn.encoder", "direct") == "direct", "only direct input is re-simulated"
    assert float(meta.get("privatesnn.leak", 1.0)) == 1.0, "only IF (leak 1) is re-simulated"
    hard = nir_semantics or meta.get("privatesnn.reset") == "zero"
    init = 0.0 if nir_semantics else float(meta.get("privatesnn.init_membrane", 0.0))
    mem, counts, total = {}, {}, None
    with torch.no_grad():
        for _ in range(T):
            h = x
            for name in order:
                d = nodes[name]
                t = d["type"]
                if t == "Conv2d":
                    w = torch.from_numpy(np.asarray(d["weight"], dtype=np.float32))
                    b = torch.from_numpy(np.asarray(d["bias"], dtype=np.float32))
                    st, pd = tuple(d["stride"]), tuple(d["padding"])
                    h = weighted(lambda a, w_, b_: F.conv2d(a, w_, b_, stride=st, padding=pd), h, w, b, exact)
                elif t == "IF":
                    r = torch.from_numpy(np.asarray(d["r"], dtype=np.float32))
                    th = torch.from_numpy(np.asarray(d["v_threshold"], dtype=np.float32))
                    vr = torch.from_numpy(np.asarray(d["v_reset"], dtype=np.float32))
                    if name not in mem:
                        mem[name] = (init * th).expand_as(h).clone() if init else torch.zeros_like(h)
                        counts[name] = [0, 0]
                    v = mem[name] + r * h
                    s = (v > th).float()
                    counts[name][0] += int(s.sum().item())
                    counts[name][1] += int(((v - th).abs() <= NEAR * th).sum().item())
                    mem[name] = torch.where(s > 0, vr.expand_as(v), v) if hard else v - th * s
                    h = s
                elif t == "AvgPool2d":
                    h = F.avg_pool2d(h, tuple(d["kernel_size"]), tuple(d["stride"]))
                elif t == "SumPool2d":
                    k = tuple(d["kernel_size"])
                    h = F.avg_pool2d(h, k, tuple(d["stride"])) * (k[0] * k[1])
                elif t == "Flatten":
                    h = h.reshape(h.shape[0], -1)
                elif t == "Linear":
                    h = weighted(F.linear, h, torch.from_numpy(np.asarray(d["weight"], dtype=np.float32)), None, exact)
                elif t == "Affine":
                    h = weighted(F.linear, h, torch.from_numpy(np.asarray(d["weight"], dtype=np.float32)),
                                 torch.from_numpy(np.asarray(d["bias"], dtype=np.float32)), exact)
                elif t == "I":
                    h = torch.from_numpy(np.asarray(d["r"], dtype=np.float32)) * h
                    total = h if total is None else total + h
                elif t in ("Input", "Output"):
                    pass
                else:
                    raise SystemExit("unsupported node %s (%s)" % (name, t))
    return counts, total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=250)
    ap.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--nir-semantics", action="store_true")
    ap.add_argument("--float32-currents", action="store_true",
                    help="sum currents in float32 (PyTorch's order) instead of float64 rounded once")
    ap.add_argument("--out")
    a = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("THREADS", "1")))
    nodes, edges, meta = read_graph(a.file)
    order = chain(nodes, edges)
    imgs = read_idx(os.path.join(a.data_dir, "t10k-images-idx3-ubyte.gz"))[:a.images]
    labels = read_idx(os.path.join(a.data_dir, "t10k-labels-idx1-ubyte.gz"))[:a.images]
    mean, std = float(meta["privatesnn.normalization_mean"]), float(meta["privatesnn.normalization_std"])
    # x = (p/255 - mean)/std in float64, then float32, as privatesnn normalises.
    x = ((imgs.astype(np.float64) / 255.0 - mean) / std).astype(np.float32)[:, None, :, :]
    counts, correct = {}, 0
    for i in range(0, len(x), a.batch):
        c, out = simulate(nodes, order, meta, torch.from_numpy(x[i:i + a.batch]), a.nir_semantics,
                          not a.float32_currents)
        for k, v in c.items():
            counts[k] = [a + b for a, b in zip(counts.get(k, [0, 0]), v)]
        correct += int((out.argmax(1).numpy() == labels[i:i + a.batch]).sum())
    res = {"file": os.path.basename(a.file), "images": int(len(x)), "timesteps": int(meta["privatesnn.timesteps"]),
           "nir_semantics": a.nir_semantics, "currents": "float32" if a.float32_currents else "float64, rounded once",
           "torch": torch.__version__,
           "near_threshold_fraction": NEAR,
           "spikes": [{"node": n, "spikes": counts[n][0], "near_threshold": counts[n][1]} for n in order if n in counts],
           "accuracy": correct / len(x)}
    s = json.dumps(res, indent=1)
    print(s)
    if a.out:
        with open(a.out, "w") as f:
            f.write(s + "\n")


if __name__ == "__main__":
    sys.exit(main())

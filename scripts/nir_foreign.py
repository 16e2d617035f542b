#!/usr/bin/env python3
"""Hand-make NIR graphs with NIR's own library, as another framework would,
for `nir/foreign_test.go` (privatesnn's NIR import).

Writes, under nir/testdata/:
  foreign_ok.nir     Input(1,4,4) -> Conv2d(2 ch, 3x3, zero bias) -> IF with a
                     different v_threshold per channel -> SumPool2d 2x2 ->
                     Flatten -> Affine(8->5, zero bias) -> IF with r varying per
                     neuron -> Linear(5->3) -> I(r=2) -> Output; no privatesnn
                     metadata, so NIR's semantics apply: reset to v_reset = 0,
                     zero initial membrane.
  foreign_lif.nir    the same with a LIF instead of the first IF (privatesnn
                     has no leaky neuron with NIR's time constants: refused)
  foreign_bias.nir   the same with a non-zero Conv2d bias (refused)
  foreign_ok.json    6 input images and, simulated here with NIR's semantics
                     for T = 6 steps, the spikes of each IF node and the I
                     node's final state per image.
Weights, inputs, thresholds and r are dyadic fractions with few bits, so
every sum below is exact in float32 and in float64: the Go test compares
exactly. Needs NIR_SRC (a checkout of github.com/neuromorphs/NIR), numpy and
h5py. Usage:
  NIR_SRC=/path/to/NIR /usr/bin/python3 scripts/nir_foreign.py
"""
import json
import os
import sys

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "nir", "testdata")
T = 6


def load_nir():
    src = os.environ.get("NIR_SRC")
    if not src:
        raise SystemExit("set NIR_SRC to a checkout of github.com/neuromorphs/NIR")
    sys.path.insert(0, src)
    import nir  # noqa: E402
    if not hasattr(nir, "version"):
        nir.version = "1.0.0"
    return nir


def params(rng):
    p = {
        "conv": rng.integers(-8, 9, size=(2, 1, 3, 3)).astype(np.float32) / 8,
        "th1": np.repeat(np.array([0.5, 1.0], np.float32), 16).reshape(2, 4, 4),
        "aff": rng.integers(-8, 9, size=(5, 8)).astype(np.float32) / 8,
        "r2": np.array([1, 2, 1, 0.5, 1], np.float32),
        "th2": np.ones(5, np.float32),
        "lin": rng.integers(-8, 9, size=(3, 5)).astype(np.float32) / 8,
        "x": rng.integers(-4, 5, size=(6, 1, 4, 4)).astype(np.float32) / 4,
    }
    return p


def graph(nir, p, variant):
    conv_bias = np.zeros(2, np.float32)
    if variant == "bias":
        conv_bias[1] = 0.25
    if variant == "lif":
        n1 = nir.LIF(tau=np.full((2, 4, 4), 0.01, np.float32), r=np.ones((2, 4, 4), np.float32),
                     v_leak=np.zeros((2, 4, 4), np.float32), v_threshold=p["th1"], v_reset=np.zeros((2, 4, 4), np.float32))
    else:
        n1 = nir.IF(r=np.ones((2, 4, 4), np.float32), v_threshold=p["th1"], v_reset=np.zeros((2, 4, 4), np.float32))
    nodes = {
        "in": nir.Input(input_type=np.array([1, 4, 4])),
        "c1": nir.Conv2d(input_shape=(4, 4), weight=p["conv"], stride=1, padding=1, dilation=1, groups=1, bias=conv_bias),
        "n1": n1,
        "p1": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        "f": nir.Flatten(input_type={"input": np.array([2, 2, 2])}, start_dim=0, end_dim=-1),
        "a1": nir.Affine(weight=p["aff"], bias=np.zeros(5, np.float32)),
        "n2": nir.IF(r=p["r2"], v_threshold=p["th2"], v_reset=np.zeros(5, np.float32)),
        "l2": nir.Linear(weight=p["lin"]),
        "i": nir.I(r=np.full(3, 2, np.float32)),
        "out": nir.Output(output_type=np.array([3])),
    }
    order = ["in", "c1", "n1", "p1", "f", "a1", "n2", "l2", "i", "out"]
    return nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:])))


def conv3x3(x, w):
    """x [1,4,4], w [2,1,3,3], padding 1, stride 1."""
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    out = np.zeros((w.shape[0], 4, 4), np.float64)
    for o in range(w.shape[0]):
        for i in range(4):
            for j in range(4):
                out[o, i, j] = np.sum(xp[:, i:i + 3, j:j + 3] * w[o])
    return out


def simulate(p, x):
    """NIR's semantics: v += r*I, spike when v > v_threshold, then v = 0."""
    v1, v2 = np.zeros((2, 4, 4)), np.zeros(5)
    acc = np.zeros(3)
    s1n = s2n = 0
    for _ in range(T):
        v1 = v1 + conv3x3(x, p["conv"].astype(np.float64))
        s1 = (v1 > p["th1"]).astype(np.float64)
        v1 = np.where(s1 > 0, 0.0, v1)
        s1n += int(s1.sum())
        pooled = s1.reshape(2, 2, 2, 2, 2).sum(axis=(2, 4))  # 2x2 sum pool
        v2 = v2 + p["r2"] * (p["aff"].astype(np.float64) @ pooled.reshape(-1))
        s2 = (v2 > p["th2"]).astype(np.float64)
        v2 = np.where(s2 > 0, 0.0, v2)
        s2n += int(s2.sum())
        acc = acc + 2 * (p["lin"].astype(np.float64) @ s2)
    return s1n, s2n, acc


def main():
    nir = load_nir()
    p = params(np.random.default_rng(20261206))
    for variant in ["ok", "lif", "bias"]:
        nir.write(os.path.join(ROOT, "foreign_%s.nir" % variant), graph(nir, p, variant))
    s1 = s2 = 0
    outs = []
    for x in p["x"]:
        a, b, acc = simulate(p, x.astype(np.float64))
        s1, s2 = s1 + a, s2 + b
        outs.append(acc.tolist())
    res = {"script": "scripts/nir_foreign.py", "timesteps": T, "inputs": p["x"].reshape(len(p["x"]), -1).tolist(),
           "spikes": {"n1": s1, "n2": s2}, "outputs": outs}
    with open(os.path.join(ROOT, "foreign_ok.json"), "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")
    print(json.dumps(res["spikes"]))


if __name__ == "__main__":
    main()

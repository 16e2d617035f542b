#!/usr/bin/env python3
"""Check a NIR file written by `privatesnn export` with NIR's own reader.

NIR's Python package is not in Debian and is not copied into this
repository: point NIR_SRC at a checkout of github.com/neuromorphs/NIR (its
`nir` package needs only numpy and h5py, which Debian provides). This script
  1. loads FILE with nir.read (type checking on), so NIR infers and checks
     every node's input and output shapes;
  2. compares every node with the model directory privatesnn exported it
     from: the node types along the edges, each Conv2d/Linear weight against
     model.safetensors (times 1/4 after a SumPool2d), each IF's r = 1,
     v_reset = 0 and v_threshold = the card's threshold, the shapes NIR
     inferred against the card's architecture;
  3. with --write OUT, writes the graph back with nir.write (NIR's writer:
     gzip-compressed arrays, variable-length strings), for `privatesnn
     import --format nir` to read.
Exits 1 when a check fails. Usage:
  NIR_SRC=/path/to/NIR /usr/bin/python3 scripts/nir_check.py FILE.nir MODEL_DIR [--write OUT.nir]
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stfile  # noqa: E402


def load_nir():
    src = os.environ.get("NIR_SRC")
    if not src:
        raise SystemExit("set NIR_SRC to a checkout of github.com/neuromorphs/NIR")
    sys.path.insert(0, src)
    import nir  # noqa: E402
    if not hasattr(nir, "version"):  # a checkout, not an installed package
        nir.version = "1.0.0"
    return nir


def expected_chain(card):
    cfg, hidden = card["model"]["features"], card["model"]["hidden"]
    spiking = card.get("snn") is not None
    types = ["Input"]
    for c in cfg:
        if c == "A":
            types.append("Pool")
        else:
            types += ["Conv2d"] + (["IF"] if spiking else [])
    types.append("Flatten")
    for _ in hidden:
        types += ["Linear"] + (["IF"] if spiking else [])
    types += ["Linear"] + (["I"] if spiking else []) + ["Output"]
    return types


def walk(g):
    nxt = dict(g.edges)
    name = [k for k, n in g.nodes.items() if type(n).__name__ == "Input"][0]
    order = [name]
    while name in nxt:
        name = nxt[name]
        order.append(name)
    return order


def check(nir, path, model_dir):
    g = nir.read(path)  # type_check=True: infer and check every shape
    card = json.load(open(os.path.join(model_dir, "model.json")))
    weights, _ = stfile.load(os.path.join(model_dir, "model.safetensors"))
    convs = sorted((k for k in weights if k.startswith("features.")), key=lambda k: int(k.split(".")[1]))
    fcs = sorted((k for k in weights if k.startswith("classifier.")), key=lambda k: int(k.split(".")[1]))
    order = walk(g)
    types = [type(g.nodes[n]).__name__ for n in order]
    want = expected_chain(card)
    got = ["Pool" if t in ("AvgPool2d", "SumPool2d") else t for t in types]
    fails = []
    if got != want:
        fails.append("chain %s, want %s" % (got, want))
    th = card["snn"]["thresholds"] if card.get("snn") else []
    ci = fi = si = 0
    scale = 1.0
    for name in order:
        n = g.nodes[name]
        t = type(n).__name__
        if t == "SumPool2d":
            scale = 0.25
        elif t == "Conv2d":
            w = weights[convs[ci]].numpy() * np.float32(scale)
            if not np.array_equal(np.asarray(n.weight), w):
                fails.append("%s weight differs from %s" % (name, convs[ci]))
            if np.any(np.asarray(n.bias) != 0):
                fails.append("%s bias not zero" % name)
            ci, scale = ci + 1, 1.0
        elif t == "Linear":
            w = weights[fcs[fi]].numpy() * np.float32(scale)
            if not np.array_equal(np.asarray(n.weight), w):
                fails.append("%s weight differs from %s" % (name, fcs[fi]))
            fi, scale = fi + 1, 1.0
        elif t == "IF":
            if not (np.all(n.r == 1) and np.all(n.v_reset == 0) and np.all(n.v_threshold == np.float32(th[si]))):
                fails.append("%s: r, v_reset or v_threshold differ from 1, 0, %g" % (name, th[si]))
            si += 1
    out_shape = list(np.asarray(g.nodes[order[-1]].input_type["input"]))
    if out_shape != [card["model"]["classes"]]:
        fails.append("output shape %s, want [%d]" % (out_shape, card["model"]["classes"]))
    shapes = {n: list(np.asarray(g.nodes[n].output_type["output"])) for n in order[:-1]}
    return g, fails, shapes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("model_dir")
    ap.add_argument("--write")
    a = ap.parse_args()
    nir = load_nir()
    g, fails, shapes = check(nir, a.file, a.model_dir)
    print(json.dumps({"file": a.file, "nodes": len(g.nodes), "edges": len(g.edges), "output_shapes": {k: [int(x) for x in v] for k, v in shapes.items()},
                      "metadata_keys": sorted(g.metadata.keys()), "failures": fails}, indent=1))
    if a.write:
        nir.write(a.write, g)
        print("wrote %s with nir.write" % a.write)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Re-simulate privatesnn's spiking network in PyTorch, step by step.

Reads a case written by the Go test snn/resim_test.go (-update):
  testdata/torch/snn_case_<name>.safetensors
    features.N.weight / classifier.N.weight  PyTorch-layout weights
    thresholds       [L]              one per spiking layer
    input_spikes     [T, N, C, H, W]  the encoded input Go generated
    __metadata__     cfg (JSON list, "A" = avg pool), hidden, classes, leak, reset,
                     init_membrane (optional, default 0), signed (optional, "1": signed neurons),
                     burst (optional, default 1: the most spikes a neuron fires in one step)
and writes testdata/torch/snn_resim_<name>.safetensors:
    spikes_per_layer [L]              total output spikes of each spiking layer
    output           [N, classes]     accumulated output potential after T steps

The simulation follows SPEC section 3.3-3.4 in the reference's order: for each
time step, every layer integrates its input current, fires when U > theta
(strict), and resets by subtraction (or to zero); pooling averages spikes; the
last layer accumulates W.o over all steps, starting from 0.  Every hidden
layer's membrane starts at init_membrane * theta.  With signed neurons a
layer also fires -1 where U < 0 (strict) while its net spike count is
positive, and the subtraction then raises U by theta.  With burst spikes (burst
G > 1) a layer fires k spikes at once, k the largest integer <= G with U > k*theta
(strict), passes k on as its output and subtracts k*theta.  For direct (analog) input
the stored "spikes" are the image repeated at every step, and the first conv
is recomputed at every step here.  Usage:
  /usr/bin/python3 scripts/snn_resim.py quant real init direct
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stfile  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata", "torch")


def integrate(mem, cur, leak, init, theta):
    """U[t] = leak * U[t-1] + I[t], with U[0] = init * theta."""
    if mem is None:
        if init == 0:
            return cur
        mem = torch.full_like(cur, init) * theta
    return leak * mem + cur


def fire(mem, net, layer, theta, signed, burst=1):
    """Spikes of layer `layer`: 1 where U > theta (strict); with signed
    neurons also -1 where U < 0 (strict) and the net count is positive; with
    burst spikes the number of k in 1..burst with U > k*theta."""
    s = (mem[layer] > theta).float()
    for k in range(2, burst + 1):
        s = s + (mem[layer] > k * theta).float()
    if signed:
        s = s - ((mem[layer] < 0) & (net[layer] > 0)).float()
        net[layer] = net[layer] + s
    return s


def resim(name):
    tensors, meta = stfile.load(os.path.join(ROOT, "snn_case_%s.safetensors" % name))
    cfg = json.loads(meta["cfg"])
    hidden = json.loads(meta["hidden"])
    leak = float(meta["leak"])
    hard = meta["reset"] == "zero"
    init = float(meta.get("init_membrane", "0"))
    signed = meta.get("signed") == "1"
    burst = int(meta.get("burst", "1"))
    th = tensors["thresholds"]
    spikes_in = tensors["input_spikes"]
    T, N = spikes_in.shape[0], spikes_in.shape[1]
    convs, idx = [], 0
    for i, c in enumerate(cfg):
        if c == "A":
            continue
        pool = i + 1 < len(cfg) and cfg[i + 1] == "A"
        convs.append((tensors["features.%d.weight" % idx], pool))
        idx += 3  # conv, ReLU, then Dropout or AvgPool (SPEC 1.2)
    fcs = [tensors["classifier.%d.weight" % (3 * i)] for i in range(len(hidden) + 1)]
    L = len(convs) + len(hidden)
    assert th.shape[0] == L, (th.shape, L)
    mem = [None] * L  # None: U = init * theta, not yet shaped
    net = [0.0] * L  # signed neurons: net spike count (positive minus negative)
    counts = torch.zeros(L, dtype=torch.float64)
    out = None
    with torch.no_grad():
        for t in range(T):
            x = spikes_in[t]
            layer = 0
            for w, pool in convs:
                cur = F.conv2d(x, w, padding=1)
                mem[layer] = integrate(mem[layer], cur, leak, init, th[layer])
                s = fire(mem, net, layer, th[layer], signed, burst)
                counts[layer] += s.abs().sum().double()
                mem[layer] = mem[layer] * (1 - s) if hard else mem[layer] - th[layer] * s
                x = F.avg_pool2d(s, 2) if pool else s
                layer += 1
            x = x.reshape(N, -1)
            for w in fcs[:-1]:
                cur = F.linear(x, w)
                mem[layer] = integrate(mem[layer], cur, leak, init, th[layer])
                s = fire(mem, net, layer, th[layer], signed, burst)
                counts[layer] += s.abs().sum().double()
                mem[layer] = mem[layer] * (1 - s) if hard else mem[layer] - th[layer] * s
                x = s
                layer += 1
            o = F.linear(x, fcs[-1])
            out = o if out is None else out + o
    stfile.save(os.path.join(ROOT, "snn_resim_%s.safetensors" % name),
                 {"spikes_per_layer": counts.float(), "output": out},
                 {"script": "scripts/snn_resim.py", "torch": torch.__version__, "case": name})
    print(json.dumps({"case": name, "spikes_per_layer": counts.tolist()}))


if __name__ == "__main__":
    torch.set_num_threads(1)
    for n in sys.argv[1:] or ["quant", "real", "init", "direct", "signed", "signed-poisson", "burst", "burst-poisson", "signed-burst"]:
        resim(n)

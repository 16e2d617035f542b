#!/usr/bin/python3
"""PyTorch reference gradients for privatesnn's BPTT (snn/bptt.go).

Usage: /usr/bin/python3 scripts/bptt_golden.py [CASE...]
       (default: every case in CASES)

Writes testdata/torch/bptt_<case>.safetensors, read by
snn/bptt_golden_test.go. Each file holds

    features.N.weight / classifier.N.weight   PyTorch-layout weights, named
                                              as vgg.New names them
    thresholds      [L]               one per spiking layer (convs, hidden FCs)
    input_spikes    [T, N, C, H, W]   signed ternary input (Poisson cases)
    x               [N, C, H, W]      the analog input (direct case; zeros
                                      otherwise, only its shape matters)
    mask.<weight>   [N, C, H, W] or [N, F]
                                      dropout mask (0 or 2, p = 0.5) on the
                                      output spikes of that layer, fixed
                                      over all T steps (only where set)
    dS              [N, classes]      upstream gradient ∂L/∂S (attack2: a
                                      one-hot row per image on class
                                      n mod classes)
    S               [N, classes]      logits S = Σ_t W_L·x_L[t]
    grad.<weight>   like the weight   ∂L/∂W for L = (S·dS).sum()
    dx              [N, C, H, W]      Σ_t ∂L/∂input[t] (Poisson: the
                                      straight-through estimate; direct:
                                      the exact ∂L/∂x)
    grad_current1   [N, C1, H1, W1]   Σ_t ∂L/∂I_1[t], the gradient w.r.t. the
                                      first layer's output current
                                      I_1[t] = conv1(input[t]) (the input
                                      current of the first spiking layer),
                                      summed over the T steps
    __metadata__    cfg (JSON, "A" = 2×2 avg pool), hidden, classes,
                    timesteps, reset, encoder, init_membrane, surrogate,
                    gamma, slope, seed, signed ("1": signed neurons),
                    burst (the most spikes per step; "1": ordinary neurons)

The network is unrolled over T steps and differentiated by autograd in
float64: per hidden layer and step, I = W∗x[t] (3×3 conv, pad 1, or linear,
no bias), U = U_prev + I (leak 1, U starting at init_membrane·θ),
o = 1[U > θ] through a custom autograd function whose backward is the
surrogate derivative, a reset detached from the graph (U − θ·o or U·(1 − o)
with o detached), a 2×2 average pool after a conv that a pool follows, and
the dropout mask on the spikes; the output layer accumulates
S = Σ_t W_L·x_L[t]. grad_current1 sums the gradients autograd retains on
each step's first-layer current I_1[t].

With signed neurons (case "signed", snn.Config.Signed) a layer's spike is
o − n, n = 1[U < 0]·1[net count > 0] through a second autograd function
whose backward is −σ'(U/θ) where the count is positive, so that
∂(o − n)/∂U = σ'(U/θ − 1) + σ'(U/θ); the reset U − θ·(o − n) stays
detached, and the case also keeps every membrane away from 0.

With burst spikes (case "burst", snn.Config.Burst = G) a layer's spike is
the count Σ_{k=1..G} 1[U > k·θ] through an autograd function whose backward
is Σ_k σ'(U/θ − k); the reset U − θ·count stays detached, and the case keeps
every membrane away from each k·θ.

The case "attack2" is the gradient of the paper's Attack 2: with dS one-hot
on the target class c_n of each image, L = Σ_n S[n, c_n], and
G = grad_current1 / T = (1/T)·Σ_t ∂y_c/∂I_1[t] is Attack 2's G (its input
update is conv_transpose(G, W_conv1)). It runs in eval mode: no dropout
masks.

Exactness: weights are multiples of 2⁻⁸, analog inputs multiples of 2⁻⁶,
dS multiples of 2⁻⁸, thresholds k/16 + 2⁻¹⁸ (see THETA_OFFSET), so every
membrane potential is exact in float32 as well as float64 and the spike
decisions of Go and PyTorch are identical; only the backward sums round.
The script asserts that no membrane ever lands within TIE_MARGIN of its
threshold and that every spiking layer fires and also stays silent
somewhere; a seed that fails is replaced by the next one (the seed used is
in the metadata). Deterministic: fixed seeds, one thread.
"""

import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stfile  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata", "torch")

T = 8
P_DROP = 0.5  # mask values exactly 0 or 1/(1 − p) = 2
# Thresholds are k/16 + THETA_OFFSET. With k/16 alone, currents and
# thresholds are all multiples of 2⁻¹⁴ and exact ties U = θ are unavoidable
# (13 to 25 of the 12,000 to 16,000 membrane values of each case at seed 1;
# each of seeds 1..50 of "soft" has some). Currents are multiples of 2⁻¹⁰
# (spike, pooled-spike and masked-spike inputs times 2⁻⁸ weights) or 2⁻¹⁴
# (analog first layer), so U − θ = (multiple of 2⁻¹⁴) − m·THETA_OFFSET,
# where m = n + 1 after n soft resets, n + 1/2 with the initial membrane
# θ/2, and 1 or 1/2 with the reset to zero: always in [1/2, T]. For T = 8,
# m·2⁻¹⁸ lies strictly between 0 and 2⁻¹⁴, so no membrane ties its
# threshold and the margin is at least 2⁻¹⁹ ≈ 1.9e-6 > TIE_MARGIN. build()
# also asserts that every membrane value is exact in float32.
THETA_OFFSET = 2.0 ** -18
TIE_MARGIN = 1e-6
SEED_TRIES = 50

# Every case: cfg and hidden as vgg.Config (Features, Hidden), input shape
# (C, H, W), batch N, reset, encoder, initial membrane (fraction of θ),
# surrogate (kind, γ, slope), and the layers whose output spikes get a
# dropout mask (weight names; only dropout sites: a conv not followed by a
# pool, a hidden FC); onehot replaces the random dS by a one-hot row on class
# n mod classes per image n.
CASES = {
    # Soft reset, triangle, masks on two conv sites and the hidden FC; an
    # odd height so the pool drops a row.
    "soft": dict(cfg=[6, 8, "A", 8], hidden=[16], classes=5, shape=(2, 7, 6), n=3,
                 reset="subtract", encoder="poisson", init=0.0, surrogate=("triangle", 0.3, 0.0),
                 masks=["features.0", "features.6", "classifier.0"]),
    # Reset to zero, triangle, the same architecture and masks.
    "hard": dict(cfg=[6, 8, "A", 8], hidden=[16], classes=5, shape=(2, 7, 6), n=3,
                 reset="zero", encoder="poisson", init=0.0, surrogate=("triangle", 0.3, 0.0),
                 masks=["features.0", "features.6", "classifier.0"]),
    # Initial membrane θ/2, two pools (no conv site), two hidden FCs, one
    # of them masked.
    "init": dict(cfg=[6, "A", 8, "A"], hidden=[16, 12], classes=4, shape=(1, 8, 8), n=3,
                 reset="subtract", encoder="poisson", init=0.5, surrogate=("triangle", 0.3, 0.0),
                 masks=["classifier.3"]),
    # Direct analog input (the same x every step): the exact ∂L/∂x.
    "direct": dict(cfg=[6, 8, "A"], hidden=[16], classes=5, shape=(2, 6, 6), n=3,
                   reset="zero", encoder="direct", init=0.0, surrogate=("triangle", 0.3, 0.0),
                   masks=["features.0", "classifier.0"]),
    # FastSigmoid surrogate (slope 5), soft reset.
    "fastsigmoid": dict(cfg=[6, 8, "A", 8], hidden=[16], classes=5, shape=(2, 7, 6), n=3,
                        reset="subtract", encoder="poisson", init=0.0, surrogate=("fast-sigmoid", 0.3, 5.0),
                        masks=["features.0", "classifier.0"]),
    # Atan surrogate (slope 2), reset to zero, initial membrane θ/2.
    "atan": dict(cfg=[6, 8, "A", 8], hidden=[16], classes=5, shape=(2, 7, 6), n=3,
                 reset="zero", encoder="poisson", init=0.5, surrogate=("atan", 0.3, 2.0),
                 masks=["features.6", "classifier.0"]),
    # Attack 2 (eval mode, so no masks): the "soft" network family with dS
    # one-hot on the target class n mod classes of image n.
    "attack2": dict(cfg=[6, 8, "A", 8], hidden=[16], classes=5, shape=(2, 7, 6), n=3,
                    reset="subtract", encoder="poisson", init=0.0, surrogate=("triangle", 0.3, 0.0),
                    masks=[], onehot=True),
    # Signed neurons (snn.Config.Signed): negative spikes, both surrogate
    # terms; direct input and the initial membrane θ/2 as converted
    # networks use them, atan surrogate, masks on a conv site and the FC.
    "signed": dict(cfg=[6, 8, "A", 8], hidden=[16], classes=5, shape=(2, 7, 6), n=3,
                   reset="subtract", encoder="direct", init=0.5, surrogate=("atan", 0.3, 2.0),
                   masks=["features.0", "classifier.0"], signed=True),
    # Burst spikes (snn.Config.Burst = 2): counts 0..2, two surrogate
    # terms; direct input and the initial membrane θ/2, triangle surrogate
    # (its terms overlap at U = 1.5θ), masks on a conv site and the FC.
    "burst": dict(cfg=[6, 8, "A", 8], hidden=[16], classes=5, shape=(2, 7, 6), n=3,
                  reset="subtract", encoder="direct", init=0.5, surrogate=("triangle", 0.3, 0.0),
                  masks=["features.0", "classifier.0"], burst=2),
    # Signed burst neurons: counts −1..2, the burst terms and the negative
    # spike's term; atan surrogate.
    "signed-burst": dict(cfg=[6, 8, "A", 8], hidden=[16], classes=5, shape=(2, 7, 6), n=3,
                         reset="subtract", encoder="direct", init=0.5, surrogate=("atan", 0.3, 2.0),
                         masks=["features.0", "classifier.0"], burst=2, signed=True),
}


def surrogate_derivative(kind, gamma, slope, u, theta):
    """∂o/∂U at membrane u for threshold theta (snn/surrogate.go)."""
    x = u / theta - 1
    h = gamma / theta
    if kind == "triangle":
        return h * torch.clamp(1 - x.abs(), min=0)
    if kind == "fast-sigmoid":
        return h / (1 + slope * x.abs()) ** 2
    if kind == "atan":
        return h / (1 + (math.pi / 2 * slope * x) ** 2)
    raise ValueError(kind)


class NegativeSpike(torch.autograd.Function):
    """n = 1[U < 0]·can forward (can: the net spike count is positive), so
    that the signed spike is o − n; backward ∂n/∂U = −σ'(U/θ)·can, the
    surrogate of the lower threshold 0 (snn/signed.go)."""

    @staticmethod
    def forward(ctx, u, theta, surrogate, can):
        ctx.save_for_backward(u, can)
        ctx.theta, ctx.surrogate = theta, surrogate
        return ((u < 0) & can).to(u.dtype)

    @staticmethod
    def backward(ctx, g):
        u, can = ctx.saved_tensors
        kind, gamma, slope = ctx.surrogate
        d = surrogate_derivative(kind, gamma, slope, u + ctx.theta, ctx.theta)
        return -g * d * can.to(u.dtype), None, None, None


class BurstSpike(torch.autograd.Function):
    """The count Σ_{k=1..G} 1[U > k·θ] forward, Σ_k σ'(U/θ − k) backward
    (snn/burst.go)."""

    @staticmethod
    def forward(ctx, u, theta, surrogate, g):
        ctx.save_for_backward(u)
        ctx.theta, ctx.surrogate, ctx.g = theta, surrogate, g
        return sum((u > k * theta).to(u.dtype) for k in range(1, g + 1))

    @staticmethod
    def backward(ctx, grad):
        (u,) = ctx.saved_tensors
        kind, gamma, slope = ctx.surrogate
        th = ctx.theta
        d = sum(surrogate_derivative(kind, gamma, slope, u - (k - 1) * th, th) for k in range(1, ctx.g + 1))
        return grad * d, None, None, None


class Spike(torch.autograd.Function):
    """o = 1[U > θ] forward, the surrogate derivative backward."""

    @staticmethod
    def forward(ctx, u, theta, surrogate):
        ctx.save_for_backward(u)
        ctx.theta, ctx.surrogate = theta, surrogate
        return (u > theta).to(u.dtype)

    @staticmethod
    def backward(ctx, g):
        (u,) = ctx.saved_tensors
        kind, gamma, slope = ctx.surrogate
        return g * surrogate_derivative(kind, gamma, slope, u, ctx.theta), None, None


def layer_names(cfg, hidden):
    """Weight names and layer kinds as vgg.New builds them: each conv is
    conv, ReLU, Dropout (indices advance by 3), the dropout before a pool is
    replaced by the pool; the classifier is Linear, ReLU, Dropout, …, Linear."""
    convs, idx = [], 0
    for i, c in enumerate(cfg):
        if c == "A":
            continue
        pool = i + 1 < len(cfg) and cfg[i + 1] == "A"
        convs.append(("features.%d" % idx, c, pool))
        idx += 3
    fcs = ["classifier.%d" % (3 * i) for i in range(len(hidden) + 1)]
    return convs, fcs


def quant(t, bits):
    return torch.round(t * 2.0 ** bits) / 2.0 ** bits


def make_case(c, seed):
    """Draw the quantised weights, input, spikes, masks and dS of a case."""
    g = torch.Generator().manual_seed(seed)
    C, H, W = c["shape"]
    N = c["n"]
    convs, fcs = layer_names(c["cfg"], c["hidden"])
    weights = {}
    cin, h, w = C, H, W
    for lname, cout, pool in convs:
        std = (2.0 / (9 * cin)) ** 0.5
        weights[lname] = quant(torch.randn(cout, cin, 3, 3, generator=g, dtype=torch.float64) * std, 8)
        cin = cout
        if pool:
            h, w = h // 2, w // 2
    fin = cin * h * w
    for lname, fout in zip(fcs, c["hidden"] + [c["classes"]]):
        std = (2.0 / fin) ** 0.5
        weights[lname] = quant(torch.randn(fout, fin, generator=g, dtype=torch.float64) * std, 8)
        fin = fout
    x = quant(torch.rand(N, C, H, W, generator=g, dtype=torch.float64) * 2 - 1, 6)
    if c["encoder"] == "poisson":
        r = torch.rand(T, N, C, H, W, generator=g, dtype=torch.float64)
        spikes = torch.where(r <= x.abs(), torch.sign(x), torch.zeros_like(x))
    else:
        spikes = x.unsqueeze(0).expand(T, N, C, H, W)
    masks = {}
    shapes = output_shapes(c, weights)
    for lname in c["masks"]:
        keep = torch.rand((N,) + shapes[lname], generator=g, dtype=torch.float64) >= P_DROP
        masks[lname] = keep.to(torch.float64) / (1 - P_DROP)
    dS = quant(torch.randn(N, c["classes"], generator=g, dtype=torch.float64), 8)
    if c.get("onehot"):
        dS = F.one_hot(torch.arange(N) % c["classes"], c["classes"]).to(torch.float64)
    return weights, x, spikes, masks, dS


def output_shapes(c, weights):
    """Per weight name, the shape of one image's output spikes (before the pool)."""
    C, H, W = c["shape"]
    convs, fcs = layer_names(c["cfg"], c["hidden"])
    shapes, h, w = {}, H, W
    for lname, cout, pool in convs:
        shapes[lname] = (cout, h, w)
        if pool:
            h, w = h // 2, w // 2
    for lname in fcs:
        shapes[lname] = (weights[lname].shape[0],)
    return shapes


def unroll(c, weights, thresholds, spikes, masks, record=None, currents=None):
    """Simulate T steps; return S. record, when a dict, collects per spiking
    layer the membrane potentials before the spike (list over t) and spikes.
    currents, when a list, collects the first layer's current I_1[t] of each
    step with retain_grad set, so that its .grad holds ∂L/∂I_1[t] after
    backward."""
    convs, fcs = layer_names(c["cfg"], c["hidden"])
    hard = c["reset"] == "zero"
    N = spikes.shape[1]
    L = len(convs) + len(fcs) - 1
    mem = [None] * L
    net = [None] * L  # signed neurons: net spike count
    S = 0
    for t in range(T):
        x = spikes[t]
        layer = 0
        steps = [(lname, pool, True) for lname, _, pool in convs] + [(lname, False, False) for lname in fcs[:-1]]
        for lname, pool, conv in steps:
            if not conv and x.dim() > 2:
                x = x.reshape(N, -1)  # PyTorch flattens (c, h, w)
            cur = F.conv2d(x, weights[lname], padding=1) if conv else F.linear(x, weights[lname])
            if layer == 0 and currents is not None:
                cur.retain_grad()
                currents.append(cur)
            th = thresholds[layer]
            if mem[layer] is None:
                mem[layer] = torch.full_like(cur, c["init"] * th)
            u = mem[layer] + cur
            if c.get("burst", 1) > 1:
                o = BurstSpike.apply(u, th, c["surrogate"], c["burst"])
            else:
                o = Spike.apply(u, th, c["surrogate"])
            if c.get("signed"):
                if net[layer] is None:
                    net[layer] = torch.zeros_like(u)
                o = o - NegativeSpike.apply(u, th, c["surrogate"], net[layer] > 0)
                net[layer] = net[layer] + o.detach()
            if record is not None:
                record.setdefault(layer, []).append((u.detach(), o.detach(), cur.detach()))
            od = o.detach()
            mem[layer] = u * (1 - od) if hard else u - th * od
            x = o
            if lname in masks:
                x = x * masks[lname]
            if pool:
                x = F.avg_pool2d(x, 2)
            layer += 1
        if x.dim() > 2:
            x = x.reshape(N, -1)
        S = S + F.linear(x, weights[fcs[-1]])
    return S


def choose_thresholds(c, weights, spikes, masks):
    """Layer by layer, θ = k/16 + THETA_OFFSET with k/16 near the 80th
    percentile of the layer's positive input currents."""
    L = len(layer_names(c["cfg"], c["hidden"])[0]) + len(c["hidden"])
    thresholds = [1.0 + THETA_OFFSET] * L
    for layer in range(L):
        rec = {}
        with torch.no_grad():  # the currents depend on the earlier layers only
            unroll(c, weights, thresholds, spikes, masks, rec)
        cur = torch.stack([i for _, _, i in rec[layer]])
        pos = cur[cur > 0]
        q = float(torch.quantile(pos, 0.8)) if pos.numel() else 1.0
        thresholds[layer] = max(1, round(q * 16)) / 16 + THETA_OFFSET
    return thresholds


def build(name, c):
    for seed in range(c.get("seed", 1), c.get("seed", 1) + SEED_TRIES):
        weights, x, spikes, masks, dS = make_case(c, seed)
        thresholds = choose_thresholds(c, weights, spikes, masks)
        rec = {}
        with torch.no_grad():
            unroll(c, weights, thresholds, spikes, masks, rec)
        margin, ok, negative = float("inf"), True, not c.get("signed")
        bursts = c.get("burst", 1) == 1
        for layer, steps in rec.items():
            us = torch.stack([u for u, _, _ in steps])
            os_ = torch.stack([o for _, o, _ in steps])
            assert torch.equal(us.float().double(), us), "membrane not exact in float32"
            margin = min(margin, float((us - thresholds[layer]).abs().min()))
            if c.get("signed"):  # the lower threshold 0 too
                margin = min(margin, float(us.abs().min()))
                negative = negative or bool((os_ < 0).any())
            for k in range(2, c.get("burst", 1) + 1):  # the higher thresholds too
                margin = min(margin, float((us - k * thresholds[layer]).abs().min()))
                bursts = bursts or bool((os_ > 1).any())
            rate = float(os_.abs().mean())
            ok = ok and 0 < rate < 1
        ok = ok and negative  # a signed case fires negative spikes somewhere (not in a layer of constant input)
        ok = ok and bursts  # a burst case fires more than one spike in a step somewhere
        if margin <= TIE_MARGIN or not ok:
            print("case %s: seed %d rejected (margin %g, rates ok %s)" % (name, seed, margin, ok), file=sys.stderr)
            continue
        return seed, weights, x, spikes, masks, dS, thresholds, rec, margin
    raise SystemExit("case %s: no seed in %d tries gives a tie-free, active network" % (name, SEED_TRIES))


def generate(name):
    c = CASES[name]
    seed, weights, x, spikes, masks, dS, thresholds, rec, margin = build(name, c)
    ws = {k: v.clone().requires_grad_(True) for k, v in weights.items()}
    direct = c["encoder"] == "direct"
    if direct:
        xin = x.clone().requires_grad_(True)
        inp = xin.unsqueeze(0).expand(T, *x.shape)
    else:
        inp = spikes.clone().requires_grad_(True)
    currents = []
    S = unroll(c, ws, thresholds, inp, masks, currents=currents)
    (S * dS).sum().backward()
    dx = xin.grad if direct else inp.grad.sum(0)
    assert len(currents) == T and all(i.grad is not None for i in currents)
    grad_current1 = torch.stack([i.grad for i in currents]).sum(0)
    out = {"S": S.detach(), "dS": dS, "dx": dx, "x": x if direct else torch.zeros_like(x),
           "grad_current1": grad_current1,
           "thresholds": torch.tensor(thresholds, dtype=torch.float64)}
    if not direct:
        out["input_spikes"] = spikes
    for k, w in ws.items():
        out[k + ".weight"] = w.detach()
        out["grad." + k + ".weight"] = w.grad
    for k, m in masks.items():
        out["mask." + k] = m
    for k, v in out.items():
        assert torch.equal(v.float().double(), v) or k in ("S", "dx", "grad_current1") or k.startswith("grad."), k
    kind, gamma, slope = c["surrogate"]
    meta = {"cfg": json.dumps(c["cfg"]), "hidden": json.dumps(c["hidden"]), "classes": str(c["classes"]),
            "timesteps": str(T), "reset": c["reset"], "encoder": c["encoder"], "init_membrane": repr(c["init"]),
            "surrogate": kind, "gamma": repr(gamma), "slope": repr(slope), "seed": str(seed),
            "signed": "1" if c.get("signed") else "0", "burst": str(c.get("burst", 1)),
            "script": "scripts/bptt_golden.py", "torch": torch.__version__}
    stfile.save(os.path.join(ROOT, "bptt_%s.safetensors" % name), out, meta)
    rates = [round(float(torch.stack([o for _, o, _ in rec[l]]).abs().mean()), 3) for l in sorted(rec)]
    print(json.dumps({"case": name, "seed": seed, "thresholds": thresholds, "spike_rates": rates,
                      "min_margin": margin}))


if __name__ == "__main__":
    torch.set_num_threads(1)
    for n in sys.argv[1:] or list(CASES):
        generate(n)

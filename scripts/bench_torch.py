#!/usr/bin/python3
"""PyTorch CPU baseline for privatesnn's benchmarks; prints one JSON object.

Usage: /usr/bin/python3 scripts/bench_torch.py [--threads N] [--cfg 32,32,A,64,64,A] ...

Workloads, on the default privatesnn network (VGG cfg 32,32,A,64,64,A on
1x28x28 input, classifier 3136->256->10, conv dropout 0.1, classifier dropout
0.5, no biases), batch 64:
  ann_train_step:  train-mode forward + cross-entropy + backward +
                   SGD(momentum 0.9, weight decay 5e-4) step
  ann_input_grad:  eval-mode forward + backward of the sum of the target
                   logits to the input only (weights do not require grad)
  sgemm_1024:      torch.mm of two 1024x1024 float32 matrices
  bptt_train_step: one training step of the network's spiking version by
                   backpropagation through time, as privatesnn bench's
                   (snn/bptt.go): --bptt-batch 64 embedded Fashion-MNIST
                   test images, Poisson input redrawn every step, T =
                   --bptt-timesteps 50 steps of IF neurons (U += W*x[t],
                   spike when U > theta, subtractive reset with the spike
                   detached), the triangle surrogate (0.3/theta) *
                   max(0, 1 - |U/theta - 1|) as a custom autograd.Function,
                   dropout masks drawn once per image and fixed over T,
                   S = sum_t W_L x_L[t], cross-entropy on S, autograd through
                   the unrolled loop, Adam(lr 1e-4, weight decay 5e-4,
                   amsgrad); fixed thresholds --bptt-thresholds (privatesnn's
                   workload.BPTTThresholds). --bptt-encoder direct feeds the
                   image at every step instead; --bptt-burst G makes burst
                   neurons (the count sum_k 1[U > k*theta], k = 1..G, with
                   the sum of the G shifted surrogates, the first threshold
                   divided by G) and --bptt-signed signed ones (a negative
                   spike when U < 0 and the net count is positive, with the
                   surrogate of the threshold 0), as privatesnn bench's
                   flags of the same names; both use bptt_golden.py's
                   autograd functions
Each workload is warmed up 5 times and then timed for at least --seconds
seconds and 5 iterations; throughput is computed from the median iteration
time (items/s = batch / median, GFLOP/s = 2*1024^3 / median / 1e9). The BPTT
step is warmed up --bptt-warmup times and timed at least --bptt-runs times.

The BPTT workload runs in a child process (this script with --only bptt),
whose peak RSS, resource.getrusage(RUSAGE_CHILDREN).ru_maxrss after it
exits, is reported as bptt_peak_rss_mib: it is not polluted by the other
workloads' memory. It includes the interpreter and torch's libraries;
bptt_rss_before_mib is the child's RSS just before its first step.
--only runs a subset of the workloads (ann, sgemm, snn, bptt) in this
process; with --only bptt the peak RSS is this process's own.
other_cpu_load reports, per workload, the fraction of the machine's CPU time
used by other processes while it was timed (from /proc/stat); results taken
with a value much above 0 are disturbed by competing load. With --attempts K
each workload is timed up to K times (stopping at the first attempt whose
other_cpu_load is <= --max-other-load plus the share of CPUs this run leaves
idle, (nproc - threads) / nproc) and the least disturbed attempt is
reported; attempt_reported says which.

The thread count is applied with torch.set_num_threads and through the
environment (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS): if
those differ from --threads the script re-executes itself with them set, so
that BLAS and OpenMP pools are sized before torch is imported.
"""

import argparse
import json
import struct
import os
import platform
import statistics
import sys
import time

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
WORKLOADS = ("ann", "sgemm", "snn", "bptt")
# privatesnn's workload.BPTTThresholds: about 5 % spikes per neuron and step
# in every layer of the untrained seed-0 default network (Go) at T = 50.
BPTT_THRESHOLDS = (8.6, 1.1, 0.72, 1.1, 0.9)
BPTT_LR, BPTT_WEIGHT_DECAY = 1e-4, 5e-4
MIB = 1 << 20


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--cfg", default="32,32,A,64,64,A", help="comma-separated VGG cfg (integers and A)")
    p.add_argument("--hidden", type=int, default=256, help="hidden FC width")
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--in-channels", type=int, default=1)
    p.add_argument("--size", type=int, default=28, help="input height and width")
    p.add_argument("--conv-dropout", type=float, default=0.1)
    p.add_argument("--fc-dropout", type=float, default=0.5)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seconds", type=float, default=3.0, help="minimum timed seconds per workload")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--snn", default="", help="spiking model directory from 'privatesnn convert' (model.safetensors + model.json): also time its dense simulation")
    p.add_argument("--snn-timesteps", type=int, default=0, help="time steps of the SNN workload (0: the model's T)")
    p.add_argument("--snn-batch", type=int, default=64, help="images per SNN simulation")
    p.add_argument("--attempts", type=int, default=1,
                   help="time each workload up to this many times, stopping early once other_cpu_load "
                        "<= --max-other-load, and report the attempt with the least competing load")
    p.add_argument("--max-other-load", type=float, default=0.05)
    p.add_argument("--only", default="", help="comma-separated subset of ann, sgemm, snn, bptt (default: all; snn needs --snn)")
    p.add_argument("--bptt-timesteps", type=int, default=50)
    p.add_argument("--bptt-batch", type=int, default=64, help="images per BPTT step (the embedded test set has 1,000)")
    p.add_argument("--bptt-warmup", type=int, default=1)
    p.add_argument("--bptt-runs", type=int, default=3, help="minimum timed BPTT steps")
    p.add_argument("--bptt-encoder", choices=("poisson", "direct"), default="poisson")
    p.add_argument("--bptt-burst", type=int, default=1, help="burst neurons of at most this many spikes per step (1: ordinary)")
    p.add_argument("--bptt-signed", action="store_true", help="signed neurons")
    p.add_argument("--bptt-thresholds", default=",".join(str(v) for v in BPTT_THRESHOLDS),
                   help="comma-separated thresholds of the spiking layers (every conv, then the hidden FC)")
    args = p.parse_args()
    if args.threads < 1:
        p.error("--threads must be >= 1")
    if args.bptt_timesteps < 1 or not 1 <= args.bptt_batch <= 1000 or args.bptt_runs < 1 or args.bptt_warmup < 0:
        p.error("--bptt-timesteps and --bptt-runs must be >= 1, --bptt-batch in [1, 1000], --bptt-warmup >= 0")
    args.selected = set(WORKLOADS)
    if args.only:
        args.selected = {w.strip() for w in args.only.split(",")}
        if not args.selected <= set(WORKLOADS):
            p.error("--only: unknown workload in %r (want a subset of %s)" % (args.only, ",".join(WORKLOADS)))
        if "snn" in args.selected and not args.snn:
            p.error("--only snn needs --snn DIR")
    return args


def ensure_thread_env(n):
    """Re-exec with the thread environment variables set to n if needed."""
    want = str(n)
    if all(os.environ.get(v) == want for v in THREAD_VARS):
        return
    env = dict(os.environ)
    env.update({v: want for v in THREAD_VARS})
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


def busy_jiffies():
    """Return (busy, total) CPU jiffies of the whole machine from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields[:8]) - idle, sum(fields[:8])


def time_it(fn, warmup, seconds, min_runs=5):
    """Return (median seconds, iterations, share of the machine used by others)."""
    for _ in range(warmup):
        fn()
    times = []
    cpu0, stat0, wall0 = os.times(), busy_jiffies(), time.perf_counter()
    while time.perf_counter() - wall0 < seconds or len(times) < min_runs:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    cpu1, stat1, wall1 = os.times(), busy_jiffies(), time.perf_counter()
    other = None
    if stat0 and stat1 and stat1[1] > stat0[1]:
        # Machine-wide busy time minus this process's CPU time, as a fraction
        # of all CPUs over the interval: how much other processes competed.
        hz = os.sysconf("SC_CLK_TCK")
        ours = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
        busy = (stat1[0] - stat0[0]) / hz
        other = round(max(0.0, busy - ours) / ((wall1 - wall0) * (os.cpu_count() or 1)), 3)
    return statistics.median(times), len(times), other


def measure(fn, args, min_runs=5):
    """Run time_it up to args.attempts times; keep the least disturbed attempt."""
    ncpu = os.cpu_count() or 1
    # CPUs this run does not use may be busy without disturbing it.
    limit = args.max_other_load + max(0, ncpu - args.threads) / ncpu
    best = None
    for attempt in range(1, args.attempts + 1):
        med, n, other = time_it(fn, args.warmup, args.seconds, min_runs)
        if best is None or (other is not None and (best[2] is None or other < best[2])):
            best = (med, n, other, attempt)
        if other is None or other <= limit:
            break
    return best


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    args = parse_args()
    ensure_thread_env(args.threads)

    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    load_before = os.getloadavg()
    cfg = [c if c == "A" else int(c) for c in args.cfg.split(",")]

    layers, c, hw = [], args.in_channels, args.size
    for v in cfg:
        if v == "A":
            layers.pop()  # the Dropout after the conv before a pool (SPEC 1.2)
            layers.append(nn.AvgPool2d(2, 2))
            hw //= 2
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1, bias=False), nn.ReLU(inplace=True), nn.Dropout(args.conv_dropout)]
            c = v
    flat = c * hw * hw
    model = nn.Sequential(
        *layers, nn.Flatten(),
        nn.Linear(flat, args.hidden, bias=False), nn.ReLU(inplace=True), nn.Dropout(args.fc_dropout),
        nn.Linear(args.hidden, args.classes, bias=False),
    )
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")

    x = torch.rand(args.batch, args.in_channels, args.size, args.size) * 2 - 1
    y = torch.randint(0, args.classes, (args.batch,))
    sel = args.selected
    iterations, other_load, attempts, result = {}, {}, {}, {}

    def record(name, measured):
        med, n, other, attempt = measured
        iterations[name], other_load[name], attempts[name] = n, other, attempt
        return med

    if "ann" in sel:
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)

        def train_step():
            model.train()
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()

        train_med = record("ann_train_step", measure(train_step, args))

        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        xi = x.clone().requires_grad_(True)

        def input_grad_step():
            xi.grad = None
            model(xi).gather(1, y[:, None]).sum().backward()

        grad_med = record("ann_input_grad", measure(input_grad_step, args))
        result.update({
            "ann_train_step_items_per_s": round(args.batch / train_med, 2),
            "ann_input_grad_items_per_s": round(args.batch / grad_med, 2),
        })

    if "sgemm" in sel:
        a = torch.randn(1024, 1024)
        b = torch.randn(1024, 1024)
        gemm_med = record("sgemm_1024", measure(lambda: torch.mm(a, b), args))
        result["sgemm_1024_gflops"] = round(2 * 1024 ** 3 / gemm_med / 1e9, 2)

    if "ann" in sel:
        result["ann_train_step_median_ms"] = round(train_med * 1e3, 3)
        result["ann_input_grad_median_ms"] = round(grad_med * 1e3, 3)
    if "sgemm" in sel:
        result["sgemm_1024_median_ms"] = round(gemm_med * 1e3, 3)

    snn_result = {}
    if "snn" in sel and args.snn:
        snn_result = snn_workload(args, torch, F)

    bptt_result = {}
    if "bptt" in sel:
        if sel == {"bptt"}:
            bptt_result = bptt_workload(args, torch, F, model, record)
        else:
            bptt_result = bptt_child(args, other_load, iterations, attempts)

    print(json.dumps({
        **snn_result,
        "framework": "pytorch",
        "torch": torch.__version__,
        "threads": args.threads,
        "torch_num_threads": torch.get_num_threads(),
        "env": {v: os.environ.get(v) for v in THREAD_VARS},
        **result,
        **bptt_result,
        "iterations": iterations,
        "other_cpu_load": other_load,
        "attempt_reported": attempts,
        "config": {"cfg": cfg, "in_channels": args.in_channels, "size": args.size, "flat": flat,
                   "hidden": args.hidden, "classes": args.classes, "conv_dropout": args.conv_dropout,
                   "fc_dropout": args.fc_dropout, "batch": args.batch, "warmup": args.warmup,
                   "min_seconds": args.seconds, "seed": args.seed, "attempts": args.attempts,
                   "max_other_load": args.max_other_load,
                   "sgd": {"lr": 0.01, "momentum": 0.9, "weight_decay": 5e-4},
                   **({"only": sorted(sel)} if args.only else {}),
                   **({"bptt_warmup": args.bptt_warmup, "bptt_min_runs": args.bptt_runs,
                       "adam": {"lr": BPTT_LR, "weight_decay": BPTT_WEIGHT_DECAY, "amsgrad": True},
                       "surrogate": "triangle, gamma 0.3"} if "bptt" in sel else {})},
        "cpu": cpu_model(),
        "nproc": os.cpu_count(),
        "loadavg_1min_before": round(load_before[0], 2),
        "loadavg_1min_after": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
    }))


def current_rss():
    """This process's resident set size now (VmRSS), in bytes, or None."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def bptt_child(args, other_load, iterations, attempts):
    """Run the BPTT workload in a child process (this script with --only
    bptt) and report its result with the child's peak RSS."""
    import resource
    import subprocess
    cmd = [sys.executable, os.path.abspath(__file__), "--only", "bptt", "--threads", str(args.threads),
           "--cfg", args.cfg, "--hidden", str(args.hidden), "--classes", str(args.classes),
           "--in-channels", str(args.in_channels), "--size", str(args.size),
           "--conv-dropout", str(args.conv_dropout), "--fc-dropout", str(args.fc_dropout),
           "--seconds", str(args.seconds), "--seed", str(args.seed), "--attempts", str(args.attempts),
           "--max-other-load", str(args.max_other_load), "--bptt-timesteps", str(args.bptt_timesteps),
           "--bptt-batch", str(args.bptt_batch), "--bptt-warmup", str(args.bptt_warmup),
           "--bptt-runs", str(args.bptt_runs), "--bptt-thresholds", args.bptt_thresholds,
           "--bptt-encoder", args.bptt_encoder, "--bptt-burst", str(args.bptt_burst)] + (["--bptt-signed"] if args.bptt_signed else [])
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = subprocess.run(cmd, stdout=subprocess.PIPE, check=True).stdout
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    child = json.loads(out)
    res = {k: v for k, v in child.items() if k.startswith("bptt_")}
    for dst, key in ((other_load, "other_cpu_load"), (iterations, "iterations"), (attempts, "attempt_reported")):
        dst["bptt_train_step"] = child[key]["bptt_train_step"]
    if peak_kib > before:  # no earlier child reached this peak, so it is this child's
        res["bptt_peak_rss_mib"] = round(peak_kib / 1024, 1)
        res["bptt_rss_method"] = ("ru_maxrss of a child process that ran only this workload "
                                  "(bench_torch.py --only bptt), from getrusage(RUSAGE_CHILDREN)")
    return res


def embedded_test_labels(n):
    """Labels of the first n Fashion-MNIST test images compiled into privatesnn."""
    import gzip
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "embedded", "t10k-labels-idx1-ubyte.gz")
    raw = gzip.open(path).read()
    return list(raw[8:8 + n])


def bptt_workload(args, torch, F, model, record):
    """Time a BPTT training step of the spiking version of model in this
    process and report its items/s and this process's peak RSS."""
    import resource

    class LinearSpike(torch.autograd.Function):
        """Spike o = 1[x > 0] of x = U/theta - 1; the reference's LinearSpike
        surrogate 0.3 * max(0, 1 - |x|), so dO/dU = (0.3/theta) * max(0, 1 - |U/theta - 1|)."""

        @staticmethod
        def forward(ctx, v):
            ctx.save_for_backward(v)
            return (v > 0).float()

        @staticmethod
        def backward(ctx, g):
            v, = ctx.saved_tensors
            return g * 0.3 * torch.clamp(1 - v.abs(), min=0)

    spike = LinearSpike.apply
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bptt_golden import BurstSpike, NegativeSpike
    surrogate = ("triangle", 0.3, 0.0)
    G, signed, direct = args.bptt_burst, args.bptt_signed, args.bptt_encoder == "direct"
    th = [float(v) for v in args.bptt_thresholds.split(",")]
    if G > 1:
        th[0] /= G

    def fire(layer, u, net):
        """The spike of layer's neurons at membrane u (net: their net counts)."""
        o = BurstSpike.apply(u, th[layer], surrogate, G) if G > 1 else spike(u / th[layer] - 1)
        if signed:
            if not torch.is_tensor(net[layer]):
                net[layer] = torch.zeros_like(u)
            o = o - NegativeSpike.apply(u, th[layer], surrogate, net[layer] > 0)
            net[layer] = net[layer] + o.detach()
        return o

    convs, i = [], 0
    mods = list(model)
    while i < len(mods):
        m = mods[i]
        if isinstance(m, torch.nn.Conv2d):
            # Conv, ReLU, then Dropout or AvgPool (see the model above).
            pool = isinstance(mods[i + 2], torch.nn.AvgPool2d)
            convs.append((m.weight, pool))
        i += 1
    fcs = [m.weight for m in mods if isinstance(m, torch.nn.Linear)]
    if len(th) != len(convs) + len(fcs) - 1:
        raise SystemExit("bench_torch.py: %d BPTT thresholds for %d spiking layers" % (len(th), len(convs) + len(fcs) - 1))
    params = [w for w, _ in convs] + fcs
    for w in params:
        w.requires_grad_(True)
    opt = torch.optim.Adam(params, lr=BPTT_LR, weight_decay=BPTT_WEIGHT_DECAY, amsgrad=True)
    N, T = args.bptt_batch, args.bptt_timesteps
    x = embedded_test_images(N, torch)
    y = torch.tensor(embedded_test_labels(N), dtype=torch.long)
    gen = torch.Generator().manual_seed(args.seed)
    rates = [None]

    def step(count=False):
        opt.zero_grad(set_to_none=True)
        # Dropout masks, one per image and layer, fixed over T: after the
        # convs not followed by a pool and after the hidden FC.
        masks, hw, c = [], args.size, args.in_channels
        for w, pool in convs:
            c = w.shape[0]
            masks.append(None if pool else (torch.rand(N, c, hw, hw, generator=gen) >= args.conv_dropout).float() / (1 - args.conv_dropout))
            if pool:
                hw //= 2
        masks += [(torch.rand(N, fc.shape[0], generator=gen) >= args.fc_dropout).float() / (1 - args.fc_dropout) for fc in fcs[:-1]]
        mem = [0.0] * len(th)
        net = [0.0] * len(th)
        spikes = [0.0] * len(th)
        out = 0
        for _ in range(T):
            h = x if direct else torch.sign(x) * (torch.rand(x.shape, generator=gen) <= x.abs()).float()
            layer = 0
            for w, pool in convs:
                mem[layer] = mem[layer] + F.conv2d(h, w, padding=1)
                o = fire(layer, mem[layer], net)
                mem[layer] = mem[layer] - th[layer] * o.detach()
                if count:
                    spikes[layer] += o.detach().abs().sum().item()
                h = F.avg_pool2d(o, 2) if pool else o * masks[layer]
                layer += 1
            h = h.flatten(1)
            for w in fcs[:-1]:
                mem[layer] = mem[layer] + F.linear(h, w)
                o = fire(layer, mem[layer], net)
                mem[layer] = mem[layer] - th[layer] * o.detach()
                if count:
                    spikes[layer] += o.detach().abs().sum().item()
                h = o * masks[layer]
                layer += 1
            out = out + F.linear(h, fcs[-1])
        loss = F.cross_entropy(out, y)
        loss.backward()
        opt.step()
        if count:
            rates[0] = [round(sp / (m.numel() * T), 5) for sp, m in zip(spikes, mem)]

    rss_before = current_rss()
    step(count=True)  # the first warm-up step measures the spike rates
    a = argparse.Namespace(**vars(args))
    a.warmup = max(0, args.bptt_warmup - 1)
    measured = measure(step, a, min_runs=args.bptt_runs)
    med = record("bptt_train_step", measured)
    return {
        "bptt_train_step_items_per_s": round(N / med, 3),
        "bptt_train_step_median_ms": round(med * 1e3, 1),
        "bptt_runs": measured[1],
        "bptt_timesteps": T,
        "bptt_batch": N,
        "bptt_thresholds": th,
        "bptt_encoder": args.bptt_encoder,
        **({"bptt_burst": G} if G > 1 else {}),
        **({"bptt_signed": True} if signed else {}),
        "bptt_spike_rates": rates[0],
        "bptt_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "bptt_rss_before_mib": round(rss_before / MIB, 1) if rss_before else None,
        "bptt_rss_method": "getrusage(RUSAGE_SELF) ru_maxrss of a process that ran only this workload (--only bptt)",
    }


def embedded_test_images(n, torch):
    """First n Fashion-MNIST test images compiled into privatesnn, in [-1, 1]."""
    import gzip
    import numpy as np
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "embedded", "t10k-images-idx3-ubyte.gz")
    raw = gzip.open(path).read()
    count, h, w = struct.unpack(">III", raw[4:16])
    pix = np.frombuffer(raw[16:16 + n * h * w], dtype=np.uint8).reshape(n, 1, h, w)
    return torch.from_numpy(pix.astype(np.float32) / 127.5 - 1)


def snn_workload(args, torch, F):
    """Dense step-by-step simulation of a converted model, as the reference
    code runs it: Poisson input, conv/linear per step, IF neurons with soft
    reset, average pooling of spikes, accumulated output."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import stfile
    card = json.load(open(os.path.join(args.snn, "model.json")))
    tensors, _ = stfile.load(os.path.join(args.snn, "model.safetensors"))
    spec, model = card["snn"], card["model"]
    T = args.snn_timesteps or spec["timesteps"]
    th = spec["thresholds"]
    leak = spec["leak"]
    cfg = model["features"]
    convs, idx = [], 0
    for i, c in enumerate(cfg):
        if c == "A":
            continue
        convs.append((tensors["features.%d.weight" % idx], i + 1 < len(cfg) and cfg[i + 1] == "A"))
        idx += 3
    fcs = [tensors["classifier.%d.weight" % (3 * i)] for i in range(len(model["hidden"]) + 1)]
    x = embedded_test_images(args.snn_batch, torch)
    gen = torch.Generator().manual_seed(args.seed)

    def simulate():
        with torch.no_grad():
            mem = [None] * len(th)
            out = 0
            for _ in range(T):
                r = torch.rand(x.shape, generator=gen)
                s = torch.sign(x) * (r <= x.abs()).float()
                layer = 0
                for w, pool in convs:
                    cur = F.conv2d(s, w, padding=1)
                    mem[layer] = cur if mem[layer] is None else leak * mem[layer] + cur
                    o = (mem[layer] > th[layer]).float()
                    mem[layer] = mem[layer] - th[layer] * o
                    s = F.avg_pool2d(o, 2) if pool else o
                    layer += 1
                s = s.reshape(s.shape[0], -1)
                for w in fcs[:-1]:
                    cur = F.linear(s, w)
                    mem[layer] = cur if mem[layer] is None else leak * mem[layer] + cur
                    o = (mem[layer] > th[layer]).float()
                    mem[layer] = mem[layer] - th[layer] * o
                    s = o
                    layer += 1
                out = out + F.linear(s, fcs[-1])
            return out

    a = argparse.Namespace(**vars(args))
    a.warmup = 1
    med, n, other, tries = measure(simulate, a)
    return {"snn_items_timesteps_per_s": round(args.snn_batch * T / med, 1), "snn_median_ms": round(med * 1e3, 2),
            "snn_timesteps": T, "snn_batch": args.snn_batch, "snn_model": args.snn, "snn_other_cpu_load": other}


if __name__ == "__main__":
    main()

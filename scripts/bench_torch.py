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
Each workload is warmed up 5 times and then timed for at least --seconds
seconds; throughput is computed from the median iteration time
(items/s = batch / median, GFLOP/s = 2*1024^3 / median / 1e9).
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
    args = p.parse_args()
    if args.threads < 1:
        p.error("--threads must be >= 1")
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


def time_it(fn, warmup, seconds):
    """Return (median seconds, iterations, share of the machine used by others)."""
    for _ in range(warmup):
        fn()
    times = []
    cpu0, stat0, wall0 = os.times(), busy_jiffies(), time.perf_counter()
    while time.perf_counter() - wall0 < seconds or len(times) < 5:
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


def measure(fn, args):
    """Run time_it up to args.attempts times; keep the least disturbed attempt."""
    ncpu = os.cpu_count() or 1
    # CPUs this run does not use may be busy without disturbing it.
    limit = args.max_other_load + max(0, ncpu - args.threads) / ncpu
    best = None
    for attempt in range(1, args.attempts + 1):
        med, n, other = time_it(fn, args.warmup, args.seconds)
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
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)

    def train_step():
        model.train()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    train_med, train_n, train_other, train_try = measure(train_step, args)

    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    xi = x.clone().requires_grad_(True)

    def input_grad_step():
        xi.grad = None
        model(xi).gather(1, y[:, None]).sum().backward()

    grad_med, grad_n, grad_other, grad_try = measure(input_grad_step, args)

    a = torch.randn(1024, 1024)
    b = torch.randn(1024, 1024)
    gemm_med, gemm_n, gemm_other, gemm_try = measure(lambda: torch.mm(a, b), args)

    snn_result = {}
    if args.snn:
        snn_result = snn_workload(args, torch, F)

    print(json.dumps({
        **snn_result,
        "framework": "pytorch",
        "torch": torch.__version__,
        "threads": args.threads,
        "torch_num_threads": torch.get_num_threads(),
        "env": {v: os.environ.get(v) for v in THREAD_VARS},
        "ann_train_step_items_per_s": round(args.batch / train_med, 2),
        "ann_input_grad_items_per_s": round(args.batch / grad_med, 2),
        "sgemm_1024_gflops": round(2 * 1024 ** 3 / gemm_med / 1e9, 2),
        "ann_train_step_median_ms": round(train_med * 1e3, 3),
        "ann_input_grad_median_ms": round(grad_med * 1e3, 3),
        "sgemm_1024_median_ms": round(gemm_med * 1e3, 3),
        "iterations": {"ann_train_step": train_n, "ann_input_grad": grad_n, "sgemm_1024": gemm_n},
        "other_cpu_load": {"ann_train_step": train_other, "ann_input_grad": grad_other, "sgemm_1024": gemm_other},
        "attempt_reported": {"ann_train_step": train_try, "ann_input_grad": grad_try, "sgemm_1024": gemm_try},
        "config": {"cfg": cfg, "in_channels": args.in_channels, "size": args.size, "flat": flat,
                   "hidden": args.hidden, "classes": args.classes, "conv_dropout": args.conv_dropout,
                   "fc_dropout": args.fc_dropout, "batch": args.batch, "warmup": args.warmup,
                   "min_seconds": args.seconds, "seed": args.seed, "attempts": args.attempts,
                   "max_other_load": args.max_other_load,
                   "sgd": {"lr": 0.01, "momentum": 0.9, "weight_decay": 5e-4}},
        "cpu": cpu_model(),
        "nproc": os.cpu_count(),
        "loadavg_1min_before": round(load_before[0], 2),
        "loadavg_1min_after": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
    }))


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

# Exploration of data-free conversion at low T (T = 2..8), outside the Go
# code: which of quantised-clip conversion, distillation fine-tuning on
# synthetic images and layer-wise potential correction moves the spiking
# network's accuracy towards the ANN's. Every experiment reads the ANN and
# its synthetic set only; real images are read for scoring alone, from a
# validation split (the first N training images), never the test set.
#
#   /usr/bin/python3 scripts/lowt_probe.py clip     ANN SYNTH [--levels 4] [--percentile 97] [--per-channel]
#   /usr/bin/python3 scripts/lowt_probe.py finetune ANN SYNTH --mode qann|snn [--epochs 3] [--lr-w 1e-4] [--lr-clip 1e-2]
#                                             [--blur P] [--feat W] [--anchor W] [--score-timesteps 4]
#   /usr/bin/python3 scripts/lowt_probe.py pc       ANN SYNTH [--timesteps 4] [--passes 3] [--raw]
#   /usr/bin/python3 scripts/lowt_probe.py lwc      ANN SYNTH [--timesteps 4] [--steps 200] [--lr 1e-3] [--lwc-pc 3] [--learn-u0]
#
# Every experiment takes --signed (signed neurons) and --snn-thresholds
# θ_1,…,θ_L (a privatesnn SNN's thresholds; spikes of height 1) in place of
# the percentile clips.
#
# ANN is a privatesnn model directory (model.json, model.safetensors) of a
# plain VGG (3×3 convolutions without bias, ReLU, 2×2 average pools, linear
# classifier); SYNTH a directory from `privatesnn synth` (cls*/ PNGs). The
# spiking network is the one privatesnn simulates with direct input, reset by
# subtraction and an initial membrane of θ/2; layer l's threshold θ_l is the
# clip λ_l, a percentile of the ANN's pre-activations on 1,000 synthetic
# images. Results are JSON lines on stdout.
import argparse, glob, gzip, json, os, sys, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stfile  # noqa: E402


def read_idx(path):
    d = gzip.open(path).read()
    dims = [int.from_bytes(d[4 + 4 * i:8 + 4 * i], "big") for i in range(d[3])]
    return np.frombuffer(d, np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


class Clip(nn.Module):
    """QCFS activation λ·clip(⌊x/λ·L + ½⌋/L, 0, 1) (L = 0: ReLU), straight-through floor."""

    def __init__(self, levels):
        super().__init__()
        self.levels, self.lam = levels, nn.Parameter(torch.ones(1))

    def forward(self, x):
        if self.levels == 0:
            return F.relu(x)
        lam = self.like(x)
        q = torch.clamp(x / lam * self.levels + 0.5, min=0)
        q = q + (torch.floor(q) - q).detach()
        return torch.clamp(q / self.levels, 0, 1) * lam

    def like(self, x):
        """λ shaped to broadcast over x: one clip per layer, or one per channel."""
        return self.lam.view(1, -1, 1, 1) if x.dim() == 4 else self.lam.view(1, -1)


class Net(nn.Module):
    def __init__(self, card, weights, levels):
        super().__init__()
        self.layers, self.pool_after = nn.ModuleList(), []
        cin, idx = card["model"]["in_channels"], 0
        for it in card["model"]["features"]:
            if it == "A":
                self.pool_after[-1] = True  # the dropout before a pool is dropped: the pool takes its index
                continue
            conv = nn.Conv2d(cin, it, 3, padding=1, bias=False)
            conv.weight.data = weights["features.%d.weight" % idx].clone()
            self.layers.append(conv)
            self.pool_after.append(False)
            cin, idx = it, idx + 3
        names = sorted((k for k in weights if k.startswith("classifier.")), key=lambda k: int(k.split(".")[1]))
        for n in names:
            w = weights[n]
            lin = nn.Linear(w.shape[1], w.shape[0], bias=False)
            lin.weight.data = w.clone()
            self.layers.append(lin)
            self.pool_after.append(False)
        self.acts = nn.ModuleList([Clip(levels) for _ in self.layers[:-1]])

    def current(self, i, x):
        lay = self.layers[i]
        return lay(x.flatten(1) if isinstance(lay, nn.Linear) and x.dim() == 4 else x)

    def forward(self, x, pre=None):
        for i in range(len(self.acts)):
            z = self.current(i, x)
            if pre is not None:
                pre.append(z)
            x = self.acts[i](z)
            if self.pool_after[i]:
                x = F.avg_pool2d(x, 2)
        return self.current(len(self.acts), x)

    burst = 1  # the most spikes a neuron may fire in one step (burst spikes)

    def spiking(self, x, T, u0=None, surrogate=False, rates=None, signed=False):
        """Mean output over T steps of the IF network; u0[i] overrides layer i's initial membrane.

        signed: a neuron whose membrane falls below 0 after it has emitted more
        spikes than it has taken back emits a negative spike (−λ) and gains λ."""
        mem, out = [None] * len(self.acts), 0
        count = [None] * len(self.acts)
        if rates is not None:
            rates.extend([0] * len(self.acts))
        for _ in range(T):
            h = x
            for i, a in enumerate(self.acts):
                c = self.current(i, h)
                lam = a.like(c)
                if mem[i] is None:
                    mem[i] = (lam * 0.5 if u0 is None else u0[i]) + torch.zeros_like(c)
                mem[i] = mem[i] + c
                if surrogate:
                    v = mem[i] / lam - 1
                    g = torch.sigmoid(4 * v)
                    s = (v >= 0).float() + g - g.detach()
                else:
                    s = torch.clamp(torch.floor(mem[i] / lam), 0, self.burst) if self.burst > 1 else (mem[i] >= lam).float()
                if signed:
                    if count[i] is None:
                        count[i] = torch.zeros_like(c)
                    neg = ((mem[i] < 0) & (count[i] > 0)).float()
                    s = s - neg
                    count[i] = count[i] + s
                mem[i] = mem[i] - s * lam
                h = s * lam
                if rates is not None:
                    rates[i] = rates[i] + h / T
                if self.pool_after[i]:
                    h = F.avg_pool2d(h, 2)
            out = out + self.current(len(self.acts), h)
        return out / T


def accuracy(f, x, y):
    with torch.no_grad():
        return sum((f(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item() for i in range(0, len(x), 1000)) / len(x)


def channel_mean(v):
    return v.mean(dim=(0, 2, 3)) if v.dim() == 4 else v.mean(0)


def as_layer(v, like):
    return v.view(1, -1, 1, 1) if like.dim() == 4 else v.view(1, -1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("experiment", choices=["clip", "finetune", "pc", "lwc"])
    ap.add_argument("ann")
    ap.add_argument("synth")
    ap.add_argument("--train-images", default="/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")
    ap.add_argument("--train-labels", default="/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz")
    ap.add_argument("--val", type=int, default=5000, help="validation images: the first N training images")
    ap.add_argument("--levels", type=int, default=4)
    ap.add_argument("--percentile", type=float, default=95)
    ap.add_argument("--timesteps", type=int, default=4)
    ap.add_argument("--mode", choices=["qann", "snn"], default="qann")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr-w", type=float, default=1e-4)
    ap.add_argument("--lr-clip", type=float, default=1e-2)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--raw", action="store_true", help="pc: calibrate on raw synthetic images, not 3×3-box-blurred ones")
    ap.add_argument("--thresholds", help="comma-separated clips λ_l (default: the percentile of the ANN's pre-activations)")
    ap.add_argument("--images", type=int, default=1000, help="pc: calibration images")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--per-channel", action="store_true", help="one clip per channel (the percentile of each channel's pre-activations)")
    ap.add_argument("--blur", type=float, default=0, help="finetune: blur each training image (3×3 box) with this probability")
    ap.add_argument("--feat", type=float, default=0, help="finetune: weight of a layer-wise loss between the QCFS outputs and the ANN's clipped activations")
    ap.add_argument("--anchor", type=float, default=0, help="finetune: weight of an L2 pull of the weights towards the ANN's")
    ap.add_argument("--signed", action="store_true", help="clip: score the SNN with signed neurons too; pc: simulate and correct signed neurons")
    ap.add_argument("--score-timesteps", default="2,4,8", help="T at which the SNN is scored after every epoch")
    ap.add_argument("--snn-thresholds", help="comma-separated thresholds θ_l of a privatesnn SNN (spikes of height 1); the clips become their running products")
    ap.add_argument("--steps", type=int, default=200, help="lwc: Adam steps per layer")
    ap.add_argument("--lr", type=float, default=1e-3, help="lwc: Adam learning rate (relative to each layer's weight scale)")
    ap.add_argument("--batch", type=int, default=128, help="lwc: calibration images per step")
    ap.add_argument("--lwc-pc", type=int, default=0, help="lwc: potential-correction passes on each layer after its weights move")
    ap.add_argument("--learn-u0", action="store_true", help="lwc: learn each layer's per-channel initial membrane with its weights")
    ap.add_argument("--burst", type=int, default=1, help="burst spikes: a neuron fires up to this many spikes in one step (1: ordinary)")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))

    card = json.load(open(os.path.join(a.ann, "model.json")))
    weights, _ = stfile.load(os.path.join(a.ann, "model.safetensors"))
    mean, std = card["normalization"]["mean"], card["normalization"]["std"]
    norm = lambda u8: torch.from_numpy(((u8.astype(np.float64) / 255 - mean) / std).astype(np.float32))[:, None]
    xv = norm(read_idx(a.train_images)[:a.val])
    yv = torch.from_numpy(read_idx(a.train_labels)[:a.val].astype(np.int64))
    files = sorted(glob.glob(os.path.join(a.synth, "cls*", "*.png")))
    xs = norm(np.stack([np.array(Image.open(p)) for p in files]))

    teacher = Net(card, weights, 0).eval()
    st = Net(card, weights, a.levels)
    st.burst = a.burst
    with torch.no_grad():
        pre = []
        teacher(xs[torch.randperm(len(xs))[:1000]], pre)
        for act, z in zip(st.acts, pre):
            if a.per_channel:
                zc = z.transpose(0, 1).reshape(z.shape[1], -1)
                zc = zc[:, torch.randperm(zc.shape[1])[:100000]]
                lam = torch.quantile(zc, a.percentile / 100, dim=1)
                act.lam = nn.Parameter(torch.clamp(lam, min=1e-3 * lam.max().item()))
            else:
                sample = z.flatten()[torch.randperm(z.numel())[:200000]]
                act.lam.data = torch.quantile(sample, a.percentile / 100).view(1)
        if a.thresholds:
            for act, v in zip(st.acts, a.thresholds.split(",")):
                act.lam.data = torch.tensor([float(v)])
        if a.snn_thresholds:
            prod = 1.0
            for act, v in zip(st.acts, a.snn_thresholds.split(",")):
                prod *= float(v)
                act.lam.data = torch.tensor([prod])
    emit = lambda **kw: print(json.dumps(kw), flush=True)

    def scores(tag):
        r = {"tag": tag, "ann": accuracy(teacher, xv, yv), "qann": accuracy(st, xv, yv),
             "clips": [round(x.lam.mean().item(), 4) for x in st.acts]}
        for T in [int(t) for t in a.score_timesteps.split(",") if t]:
            r["snn_t%d" % T] = accuracy(lambda x: st.spiking(x, T), xv, yv)
            if a.signed:
                r["signed_t%d" % T] = accuracy(lambda x: st.spiking(x, T, signed=True), xv, yv)
        emit(**r)

    if a.experiment == "clip":
        scores("levels=%d percentile=%g" % (a.levels, a.percentile))
    elif a.experiment == "finetune":
        scores("before")
        groups = [{"params": [p for n, p in st.named_parameters() if not n.endswith("lam")], "lr": a.lr_w},
                  {"params": [x.lam for x in st.acts], "lr": a.lr_clip}]
        opt = torch.optim.Adam(groups)
        w0 = [p.detach().clone() for p in st.layers.parameters()]
        steps = a.epochs * (len(xs) // 100)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
        for ep in range(a.epochs):
            t0, perm, tot = time.time(), torch.randperm(len(xs)), 0.0
            for i in range(0, len(xs) - 99, 100):
                x = xs[perm[i:i + 100]]
                dx, dy = np.random.randint(-2, 3, 2)
                x = torch.roll(x, (int(dy), int(dx)), (2, 3))
                if np.random.rand() < 0.5:
                    x = x.flip(3)
                lm = float(np.random.beta(1, 1))
                x = lm * x + (1 - lm) * x[torch.randperm(len(x))]
                if a.blur > 0:
                    bl = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), value=(0 - mean) / std), 3, 1)
                    m_ = (torch.rand(len(x), 1, 1, 1) < a.blur).float()
                    x = m_ * bl + (1 - m_) * x
                tpre, spre = [], []
                with torch.no_grad():
                    t = teacher(x, tpre)
                s = st(x, spre) if a.mode == "qann" else st.spiking(x, a.timesteps, surrogate=True)
                loss = F.kl_div(F.log_softmax(s, 1), F.softmax(t, 1), reduction="batchmean")
                if a.feat > 0 and a.mode == "qann":
                    for act, zt, zs in zip(st.acts, tpre, spre):
                        ht = torch.minimum(F.relu(zt), act.lam.detach())
                        loss = loss + a.feat * F.mse_loss(act(zs), ht) / act.lam.detach() ** 2 / len(st.acts)
                if a.anchor > 0:
                    for p_, p0 in zip(st.layers.parameters(), w0):
                        loss = loss + a.anchor * ((p_ - p0) ** 2).sum() / (p0 ** 2).sum()
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                with torch.no_grad():
                    for x_ in st.acts:
                        x_.lam.clamp_(min=1e-3)
                tot += loss.item()
            emit(epoch=ep, loss=tot / (len(xs) // 100), seconds=round(time.time() - t0, 1))
            scores("epoch %d" % ep)
    elif a.experiment == "lwc":
        lwc(a, st, teacher, xs, xv, yv, mean, std, emit)
    else:  # pc: layer-wise potential correction (per channel) on synthetic images
        with torch.no_grad():
            xc = xs[torch.randperm(len(xs))[:a.images]]
            if not a.raw:
                xc = F.avg_pool2d(F.pad(xc, (1, 1, 1, 1), value=(0 - mean) / std), 3, 1)
            pre = []
            teacher(xc, pre)
            target = [channel_mean(torch.minimum(F.relu(z), act.like(z))) for z, act in zip(pre, st.acts)]
            u0 = [as_layer(torch.full((z.shape[1],), 0.5), z) * act.like(z) for z, act in zip(pre, st.acts)]
            T = a.timesteps
            snn_acc = lambda: accuracy(lambda x: st.spiking(x, T, u0, signed=a.signed), xv, yv)
            emit(tag="before", timesteps=T, snn=snn_acc())
            for p in range(a.passes):
                for l in range(len(st.acts)):
                    rates = []
                    st.spiking(xc, T, u0, rates=rates, signed=a.signed)
                    u0[l] = u0[l] + as_layer(target[l] - channel_mean(rates[l]), u0[l]) * T
                emit(tag="pass %d" % p, timesteps=T, snn=snn_acc())


def layer_spikes(st, l, inp, T, u0, signed, surrogate=False):
    """Layer l's output spikes (each of height λ_l) over T steps for the input sequence inp[t]."""
    act = st.acts[l]
    mem, count, outs = None, None, []
    for t in range(T):
        c = st.current(l, inp[t])
        lam = act.like(c)
        if mem is None:
            mem = u0[l] + torch.zeros_like(c)
            count = torch.zeros_like(c)
        mem = mem + c
        if surrogate:
            v = mem / lam - 1
            g = torch.sigmoid(4 * v)
            s = (v >= 0).float() + g - g.detach()
        else:
            s = (mem >= lam).float()
        if signed:
            if surrogate:
                v0 = mem / lam
                g0 = torch.sigmoid(4 * v0)
                neg = ((mem < 0) & (count > 0)).float()
                neg = neg + (g0 - g0.detach()) * (count > 0).float()
            else:
                neg = ((mem < 0) & (count > 0)).float()
            s = s - neg
            count = count + s.detach()
        mem = mem - s * lam
        outs.append(s * lam)
    return outs


def lwc(a, st, teacher, xs, xv, yv, mean, std, emit):
    """Layer-wise weight calibration: layer by layer, the weights move so that
    the spiking layer's rate, fed the calibrated spiking layers below it,
    matches the ANN's clipped activation (the last layer: the ANN's logits)."""
    T = a.timesteps
    with torch.no_grad():
        xc = xs[torch.randperm(len(xs))[:a.images]]
        if not a.raw:
            xc = F.avg_pool2d(F.pad(xc, (1, 1, 1, 1), value=(0 - mean) / std), 3, 1)
        pre = []
        tlog = teacher(xc, pre)
        target = [torch.minimum(F.relu(z), act.like(z)) for z, act in zip(pre, st.acts)] + [tlog]
    u0 = [0.5 * act.lam.detach().view(-1) for act in st.acts]
    u0 = [(u.view(1, -1, 1, 1) if z.dim() == 4 else u.view(1, -1)) for u, z in zip(u0, pre)]
    snn_acc = lambda: accuracy(lambda x: st.spiking(x, T, u0, signed=a.signed), xv, yv)
    emit(tag="before", timesteps=T, snn=snn_acc())
    inp = [xc] * T  # direct input: the analog image at every step
    for l in range(len(st.layers)):
        lay = st.layers[l]
        w = lay.weight
        scale = w.detach().abs().mean().item()
        last = l == len(st.acts)
        groups = [{"params": [w], "lr": a.lr * scale}]
        if a.learn_u0 and not last:
            u0[l] = (u0[l] + torch.zeros_like(target[l][:1].mean(dim=(2, 3), keepdim=True) if target[l].dim() == 4 else target[l][:1])).requires_grad_(True)
            groups.append({"params": [u0[l]], "lr": a.lr * st.acts[l].lam.item()})
        opt = torch.optim.Adam(groups)
        for k in range(a.steps):
            idx = torch.randint(0, len(xc), (a.batch,))
            xi = [h[idx] for h in inp]
            if last:
                out = sum(st.current(l, h) for h in xi) / T
            else:
                out = sum(layer_spikes(st, l, xi, T, [u[...] for u in u0], a.signed, surrogate=True)) / T
            loss = F.mse_loss(out, target[l][idx]) / (target[l].pow(2).mean() + 1e-12)
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            if not last:
                u0[l] = u0[l].detach()
                for _ in range(a.lwc_pc):
                    r = sum(layer_spikes(st, l, inp, T, u0, a.signed)) / T
                    u0[l] = u0[l] + as_layer(channel_mean(target[l]) - channel_mean(r), u0[l]) * T
                outs = layer_spikes(st, l, inp, T, u0, a.signed)
                if st.pool_after[l]:
                    outs = [F.avg_pool2d(h, 2) for h in outs]
                inp = outs
        emit(tag="layer %d" % l, loss=round(loss.item(), 5), snn=snn_acc())


if __name__ == "__main__":
    main()

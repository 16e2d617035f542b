#!/usr/bin/python3
"""Write PyTorch reference values for privatesnn's ops to a safetensors file.

Usage: /usr/bin/python3 scripts/golden.py [OUT]
       (default OUT: testdata/torch/golden_ops.safetensors)

Every case stores its inputs, weights, upstream gradient, outputs and
gradients under "<case>.<name>" (see CASES in the metadata). All tensors are
float32 computed by PyTorch on the CPU with one thread; layouts are PyTorch's
(NCHW activations, [Cout, Cin, kh, kw] conv weights, [out, in] linear
weights). Scalars (losses, temperatures) are 1-element tensors; hard labels
are stored as float32 class indices.
"""

import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stfile  # noqa: E402

SEED = 0
TAU = 20.0
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata", "torch", "golden_ops.safetensors")


def grad_case(out, prefix, fn, inputs):
    """Run y = fn(*inputs) with a random upstream gradient dy.

    inputs is a list of (name, tensor); stores name, y, dy and d<name>.
    """
    leaves = [(name, t.clone().requires_grad_(True)) for name, t in inputs]
    y = fn(*[t for _, t in leaves])
    dy = torch.randn_like(y)
    y.backward(dy)
    for name, t in leaves:
        out[f"{prefix}.{name}"] = t.detach()
        out[f"{prefix}.d{name}"] = t.grad.detach()
    out[f"{prefix}.y"] = y.detach()
    out[f"{prefix}.dy"] = dy


def loss_case(out, prefix, loss_fn, logits_name, logits, extra):
    """Store the inputs, the 1-element loss and d loss / d logits."""
    z = logits.clone().requires_grad_(True)
    loss = loss_fn(z)
    loss.backward()
    out[f"{prefix}.{logits_name}"] = z.detach()
    for name, t in extra.items():
        out[f"{prefix}.{name}"] = t
    out[f"{prefix}.loss"] = loss.detach().reshape(1)
    out[f"{prefix}.d{logits_name}"] = z.grad.detach()


def build():
    torch.manual_seed(SEED)
    out = {}
    conv = lambda x, w: F.conv2d(x, w, bias=None, stride=1, padding=1)  # noqa: E731
    for prefix, (n, cin, cout, hw) in {
        "conv1": (2, 3, 4, 5),
        "conv2": (3, 8, 16, 7),
        "conv3": (2, 1, 8, 28),
    }.items():
        x = torch.randn(n, cin, hw, hw)
        w = torch.randn(cout, cin, 3, 3) * (2.0 / (9 * cin)) ** 0.5
        grad_case(out, prefix, conv, [("x", x), ("w", w)])

    x = torch.randn(4, 50)
    w = torch.randn(7, 50) * (2.0 / 50) ** 0.5
    grad_case(out, "linear", lambda x, w: F.linear(x, w), [("x", x), ("w", w)])

    pool = lambda x: F.avg_pool2d(x, kernel_size=2, stride=2)  # noqa: E731
    grad_case(out, "pool1", pool, [("x", torch.randn(2, 3, 6, 6))])
    grad_case(out, "pool2", pool, [("x", torch.randn(2, 3, 7, 7))])

    b, k = 5, 10
    z = torch.randn(b, k) * 3
    labels = torch.randint(0, k, (b,))
    loss_case(out, "ce", lambda z: F.cross_entropy(z, labels), "z", z, {"labels": labels.float()})

    z = torch.randn(b, k) * 30
    soft = torch.softmax(torch.randn(b, k) * 2, dim=1)
    tau = torch.tensor([TAU])
    loss_case(
        out, "cesoft",
        lambda z: -(soft * F.log_softmax(z / TAU, dim=1)).sum(dim=1).mean(),
        "z", z, {"y": soft, "tau": tau},
    )

    s = torch.randn(b, k) * 30
    t = torch.randn(b, k) * 30
    loss_case(
        out, "kd",
        lambda s: F.kl_div(F.log_softmax(s / TAU, dim=1), F.softmax(t / TAU, dim=1), reduction="batchmean") * TAU * TAU,
        "s", s, {"t": t, "tau": tau},
    )
    return out


CASES = (
    "conv1,conv2,conv3: F.conv2d(x,w,stride=1,padding=1,bias=None), x NCHW, w [Cout,Cin,3,3]; "
    "conv1 N=2 Cin=3 Cout=4 5x5, conv2 N=3 Cin=8 Cout=16 7x7, conv3 N=2 Cin=1 Cout=8 28x28; "
    "linear: F.linear(x,w) x[4,50] w[7,50]; "
    "pool1,pool2: F.avg_pool2d(x,2,2) on 6x6 and 7x7 (floor); "
    "each stores x,(w),y,dy (random upstream grad),dx,(dw); "
    "ce: F.cross_entropy(z,labels) mean over batch, labels stored as float class ids; "
    "cesoft: -mean_b sum_k y_bk log_softmax(z_b/tau)_k; "
    "kd: F.kl_div(log_softmax(s/tau),softmax(t/tau),batchmean)*tau^2; "
    "losses store loss [1] and the gradient of the loss w.r.t. z or s (dz, ds)"
)


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT
    torch.set_num_threads(1)
    tensors = build()
    stfile.save(path, tensors, {
        "script": "scripts/golden.py",
        "torch": torch.__version__,
        "seed": str(SEED),
        "dtype": "float32",
        "tau": str(TAU),
        "cases": CASES,
    })
    print(f"wrote {len(tensors)} tensors to {path}", file=sys.stderr)


if __name__ == "__main__":
    main()

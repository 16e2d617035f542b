#!/usr/bin/python3
"""Reference VGG for weight interchange between PyTorch and privatesnn.

Usage:
  vgg_interop.py export [--out-dir DIR]
      Build the narrow VGG16 (SPEC VGG16 topology, channels / 4) with seed 0 and
      write DIR/vgg16_narrow.safetensors (state_dict), DIR/vgg16_narrow_io.safetensors
      (input x [4,3,32,32] uniform in [-1,1] and eval-mode "logits") and the
      sidecar DIR/vgg16_narrow.json. DIR defaults to testdata/torch.
  vgg_interop.py export --full PATH
      Same for the full-width VGG16 (64..512, classifier 512->4096->10); writes
      PATH, PATH without .safetensors + "_io.safetensors", and + ".json".
  vgg_interop.py check PATH_WEIGHTS PATH_IO
      Load weights (e.g. written by the Go code), run the architecture described
      by the JSON sidecar next to PATH_WEIGHTS (same name, .json; the narrow
      default if absent) in eval mode on PATH_IO's "x", and compare with PATH_IO's
      "logits". Exits 1 if max|diff| > 1e-4 * max|logits|.

The model follows SPEC section 1.2: for an integer c append
Conv2d(cin, c, 3, padding=1, bias=False), ReLU(inplace), Dropout(p_conv); for "A"
pop that Dropout and append AvgPool2d(2, 2). classifier = Linear(flat, hidden,
bias=False), ReLU, Dropout(0.5), Linear(hidden, classes, bias=False). Hence the
state_dict names features.<i>.weight, classifier.0.weight, classifier.3.weight.
Conv and linear weights use Kaiming-normal init (fan_in, ReLU gain).
"""

import argparse
import json
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stfile  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DIR = os.path.normpath(os.path.join(HERE, "..", "testdata", "torch"))

VGG16_FULL = [64, 64, "A", 128, 128, "A", 256, 256, 256, "A", 512, 512, 512, "A", 512, 512, 512, "A"]
VGG16_NARROW = [c // 4 if c != "A" else c for c in VGG16_FULL]

NARROW = {
    "name": "vgg16_narrow", "cfg": VGG16_NARROW, "in_channels": 3, "input_size": [3, 32, 32],
    "hidden": 256, "classes": 10, "conv_dropout": 0.0, "classifier_dropout": 0.5,
}
FULL = dict(NARROW, name="vgg16", cfg=VGG16_FULL, hidden=4096)

SEED = 0
INPUT_SEED = 1
BATCH = 4


class VGG(nn.Module):
    """VGG without batch norm or biases, as in SPEC section 1.2."""

    def __init__(self, cfg, in_channels, input_hw, hidden, classes, conv_dropout=0.0, classifier_dropout=0.5):
        super().__init__()
        layers, c, hw = [], in_channels, input_hw
        for v in cfg:
            if v == "A":
                if not layers or not isinstance(layers[-1], nn.Dropout):
                    raise ValueError("cfg: 'A' must follow a conv layer")
                layers.pop()
                layers.append(nn.AvgPool2d(2, 2))
                hw //= 2
            else:
                layers += [nn.Conv2d(c, v, 3, padding=1, bias=False), nn.ReLU(inplace=True), nn.Dropout(conv_dropout)]
                c = v
        self.features = nn.Sequential(*layers)
        flat = c * hw * hw
        self.classifier = nn.Sequential(
            nn.Linear(flat, hidden, bias=False), nn.ReLU(inplace=True), nn.Dropout(classifier_dropout),
            nn.Linear(hidden, classes, bias=False),
        )
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


def build(conf):
    return VGG(conf["cfg"], conf["in_channels"], conf["input_size"][1], conf["hidden"], conf["classes"],
               conf.get("conv_dropout", 0.0), conf.get("classifier_dropout", 0.5))


def sidecar_path(weights_path):
    base = weights_path[: -len(".safetensors")] if weights_path.endswith(".safetensors") else weights_path
    return base + ".json"


def io_path(weights_path):
    base = weights_path[: -len(".safetensors")] if weights_path.endswith(".safetensors") else weights_path
    return base + "_io.safetensors"


def export(conf, weights_path):
    os.makedirs(os.path.dirname(os.path.abspath(weights_path)), exist_ok=True)
    torch.manual_seed(SEED)
    model = build(conf).eval()
    gen = torch.Generator().manual_seed(INPUT_SEED)
    x = torch.rand([BATCH] + conf["input_size"], generator=gen) * 2 - 1
    with torch.no_grad():
        logits = model(x)
    meta = {"script": "scripts/vgg_interop.py", "torch": torch.__version__, "arch": conf["name"],
            "seed": str(SEED), "init": "kaiming_normal fan_in relu"}
    state = model.state_dict()
    stfile.save(weights_path, state, meta)
    stfile.save(io_path(weights_path), {"x": x, "logits": logits},
                dict(meta, input_seed=str(INPUT_SEED), note="x ~ U[-1,1]; logits = model.eval()(x)"))
    side = dict(conf, seed=SEED, input_seed=INPUT_SEED, torch=torch.__version__,
                init="kaiming_normal fan_in relu", features_len=len(model.features),
                params={k: list(v.shape) for k, v in state.items()},
                weights=os.path.basename(weights_path), io=os.path.basename(io_path(weights_path)))
    with open(sidecar_path(weights_path), "w") as f:
        json.dump(side, f, indent=2)
        f.write("\n")
    print(f"wrote {weights_path} ({len(state)} tensors), {io_path(weights_path)}, {sidecar_path(weights_path)}",
          file=sys.stderr)


def check(weights_path, path_io):
    conf = NARROW
    side = sidecar_path(weights_path)
    if os.path.exists(side):
        with open(side) as f:
            conf = dict(NARROW, **json.load(f))
    model = build(conf).eval()
    weights, _ = stfile.load(weights_path)
    missing = set(model.state_dict()) ^ set(weights)
    if missing:
        print(f"check: tensor names differ from the model: {sorted(missing)}", file=sys.stderr)
        return 2
    model.load_state_dict(weights, strict=True)
    io, _ = stfile.load(path_io)
    with torch.no_grad():
        logits = model(io["x"])
    want = io["logits"]
    if logits.shape != want.shape:
        print(f"check: logits shape {tuple(logits.shape)}, stored {tuple(want.shape)}", file=sys.stderr)
        return 2
    diff = (logits - want).abs().max().item()
    scale = want.abs().max().item()
    tol = 1e-4 * scale
    ok = diff <= tol
    print(json.dumps({"max_abs_diff": diff, "max_abs_logit": scale, "tolerance": tol, "ok": ok,
                      "arch": conf.get("name"), "weights": weights_path, "io": path_io}))
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)
    e = sub.add_parser("export", help="export reference weights, input/logits and sidecar")
    e.add_argument("--out-dir", default=DEFAULT_DIR, help="directory for the narrow model files")
    e.add_argument("--full", metavar="PATH", help="export the full-width VGG16 weights to PATH instead")
    c = sub.add_parser("check", help="check weights against stored input/logits")
    c.add_argument("weights")
    c.add_argument("io")
    args = p.parse_args()
    torch.set_num_threads(1)
    if args.mode == "export":
        if args.full:
            export(FULL, args.full)
        else:
            export(NARROW, os.path.join(args.out_dir, "vgg16_narrow.safetensors"))
        return 0
    return check(args.weights, args.io)


if __name__ == "__main__":
    sys.exit(main())

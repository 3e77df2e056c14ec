#!/usr/bin/env python3
"""PyTorch reference for benchmarks/train-speed.bench.js: the same architectures as lib/src/models (same layers,
widths, BatchNorm settings, head), one Adam step (forward + backward + update) at batch 64 on 48x48x1 inputs.

    /usr/bin/python3 benchmarks/pytorch_train.py [--models vgg-compact,resnet18,resnet18:cifar] [--threads 2]
        [--batch 64] [--steps 5] [--warmup 2] [--json]

Needs torch (Debian: apt-get install python3-torch). Prints a table, or with --json one JSON line
{model: {imgPerSec, msPerStep, imgPerCpuSec, params}} (img/cpu-s: images per second of CPU time over all threads,
a load-independent measure on a shared machine) for the Node benchmark.
"""
import argparse
import json
import time

import torch
import torch.nn as nn

BN = dict(momentum=0.1, eps=1e-5)  # = TF.js momentum 0.9, epsilon 1e-5 (lib/src/models/build.ts)


def conv_bn_relu(cin, cout, k=3, stride=1):
    return [nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout, **BN), nn.ReLU(inplace=True)]


def vgg(widths, in_ch=1, classes=7, dropout=0.5):
    layers, c = [], in_ch
    for w in widths:
        layers += conv_bn_relu(c, w) + conv_bn_relu(w, w) + [nn.MaxPool2d(2)]
        c = w
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(c, classes)]
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Sequential(*conv_bn_relu(cin, cout, 3, stride))
        self.conv2 = nn.Sequential(nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout, **BN))
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout, **BN))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        shortcut = x if self.down is None else self.down(x)
        return self.relu(self.conv2(self.conv1(x)) + shortcut)


def resnet18(stem="imagenet", in_ch=1, classes=7, dropout=0.5):
    widths = [64, 128, 256, 512]
    if stem == "imagenet":
        layers = conv_bn_relu(in_ch, 64, 7, 2) + [nn.MaxPool2d(3, 2, 1)]
    else:
        layers = conv_bn_relu(in_ch, 64, 3, 1)
    c = 64
    for stage, w in enumerate(widths):
        for i in range(2):
            layers.append(BasicBlock(c, w, 2 if stage > 0 and i == 0 else 1))
            c = w
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 256), nn.BatchNorm1d(256, **BN),
               nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(256, classes)]
    return nn.Sequential(*layers)


class SepConv(nn.Sequential):
    """Keras SeparableConv2D: depthwise 3x3 (groups = channels) then pointwise 1x1, no bias."""

    def __init__(self, cin, cout):
        super().__init__(nn.Conv2d(cin, cin, 3, 1, 1, groups=cin, bias=False), nn.Conv2d(cin, cout, 1, bias=False))


class XceptionModule(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, 2, bias=False), nn.BatchNorm2d(cout, **BN))
        self.body = nn.Sequential(SepConv(cin, cout), nn.BatchNorm2d(cout, **BN), nn.ReLU(inplace=True),
                                  SepConv(cout, cout), nn.BatchNorm2d(cout, **BN), nn.MaxPool2d(3, 2, 1))

    def forward(self, x):
        return self.body(x) + self.shortcut(x)


def mini_xception(widths, in_ch=1, classes=7, dropout=0.5):
    stem = widths[0] // 2
    layers = conv_bn_relu(in_ch, stem) + conv_bn_relu(stem, stem)
    c = stem
    for w in widths:
        layers.append(XceptionModule(c, w))
        c = w
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(c, classes)]
    return nn.Sequential(*layers)


def build(spec):
    name, _, stem = spec.partition(":")
    if name == "vgg-compact":
        return vgg([32, 64, 128, 256])
    if name == "vgg-small":
        return vgg([16, 32, 64, 128])
    if name == "vgg-wide":
        return vgg([48, 96, 192, 384])
    if name == "vgg-large":
        return vgg([64, 128, 256, 512])
    if name == "resnet18":
        return resnet18(stem or "imagenet")
    if name == "mini-xception":
        return mini_xception([16, 32, 64, 128])
    if name == "mini-xception-wide":
        return mini_xception([64, 128, 256, 512])
    raise ValueError(f"unknown model {spec}")


def measure(spec, batch, steps, warmup):
    torch.manual_seed(0)
    model = build(spec)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(batch, 1, 48, 48)
    y = torch.randint(0, 7, (batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(warmup):
        step()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    ms = (time.perf_counter() - t0) * 1000 / steps
    cpu_ms = (time.process_time() - c0) * 1000 / steps
    # Count like Keras' countParams: weights + BatchNorm running statistics.
    params = sum(p.numel() for p in model.parameters()) + sum(
        b.numel() for n, b in model.named_buffers() if not n.endswith("num_batches_tracked"))
    return {"imgPerSec": batch * 1000 / ms, "msPerStep": ms, "imgPerCpuSec": batch * 1000 / cpu_ms, "params": params}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="vgg-compact,resnet18")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    out = {}
    for m in a.models.split(","):
        try:
            out[m] = measure(m, a.batch, a.steps, a.warmup)
        except (ValueError, RuntimeError) as err:  # unknown model, out of memory: report, go on with the others
            out[m] = {"error": str(err).splitlines()[0]}
    if a.json:
        print(json.dumps(out))
    else:
        print(f"PyTorch {torch.__version__}, {a.threads} threads, batch {a.batch}")
        for m, r in out.items():
            if "error" in r:
                print(f"{m:16s} error: {r['error']}")
                continue
            print(f"{m:16s} {r['imgPerSec']:8.1f} img/s {r['msPerStep']:8.0f} ms/step "
                  f"{r['imgPerCpuSec']:8.1f} img/cpu-s  {r['params']} params")


if __name__ == "__main__":
    main()

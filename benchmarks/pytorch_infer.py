#!/usr/bin/env python3
"""PyTorch CPU inference reference for `npm run bench` (benchmarks/inference.bench.js).

The same architectures as fer-lab's lib/src/models (vgg-compact, resnet18 with the ImageNet stem), written the way a
PyTorch user would write them: Conv2d(bias=False) + BatchNorm2d + ReLU units, MaxPool2d, AdaptiveAvgPool2d, Linear,
softmax. Eval mode, torch.inference_mode(), NCHW float32 input [N, 1, 48, 48].

  /usr/bin/python3 benchmarks/pytorch_infer.py [--models vgg-compact,resnet18] [--threads 2]
      [--iters1 50] [--iters64 8] [--warmup 3]

Prints one JSON line: {"torch": version, "threads": n, "models": {name: {"params": n, "latencyMs": {...},
"throughput": {...}}}}. Exit code 3 when torch cannot be imported (the runner prints a note and skips PyTorch).
"""
import argparse
import json
import statistics
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except Exception as exc:  # noqa: BLE001 - any import failure means "no PyTorch here"
    print(json.dumps({"error": f"cannot import torch: {exc}"}))
    sys.exit(3)

NUM_CLASSES = 7


def conv_bn_relu(cin, cout, k=3, stride=1):
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False),
        nn.BatchNorm2d(cout, eps=1e-5),
        nn.ReLU(inplace=True),
    )


class VGGCompact(nn.Module):
    """4 blocks of two 3x3 conv+BN+ReLU (32-64-128-256), 2x2 max-pool after each, GAP, dropout, dense softmax."""

    def __init__(self, widths=(32, 64, 128, 256), num_classes=NUM_CLASSES, dropout=0.5):
        super().__init__()
        layers, cin = [], 1
        for w in widths:
            layers += [conv_bn_relu(cin, w), conv_bn_relu(w, w), nn.MaxPool2d(2, 2)]
            cin = w
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), 1).flatten(1)
        return F.softmax(self.fc(self.dropout(x)), dim=1)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)), inplace=True)
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.down is None else self.down(x)), inplace=True)


class ResNet18(nn.Module):
    """ResNet-18 ([2,2,2,2] basic blocks, 64-512), ImageNet stem (7x7/2 conv + 3x3/2 max-pool),
    head GAP -> FC 256 -> BN -> ReLU -> dropout -> FC (softmax), as fer-lab's resnet18."""

    def __init__(self, num_classes=NUM_CLASSES, dropout=0.5):
        super().__init__()
        self.stem = nn.Sequential(conv_bn_relu(1, 64, k=7, stride=2), nn.MaxPool2d(3, 2, padding=1))
        blocks, cin = [], 64
        for stage, w in enumerate((64, 128, 256, 512)):
            for i in range(2):
                blocks.append(BasicBlock(cin, w, 2 if stage > 0 and i == 0 else 1))
                cin = w
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Linear(512, 256), nn.BatchNorm1d(256), nn.ReLU(inplace=True), nn.Dropout(dropout))
        self.fc = nn.Linear(256, num_classes)

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.blocks(self.stem(x)), 1).flatten(1)
        return F.softmax(self.fc(self.head(x)), dim=1)


MODELS = {"vgg-compact": VGGCompact, "resnet18": ResNet18}


def time_batch(model, batch, iters, warmup):
    x = torch.rand(batch, 1, 48, 48)
    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        times = []
        for _ in range(iters):
            t0 = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    med = statistics.median(times)
    return {"batch": batch, "iters": iters, "medianMs": med, "p90Ms": times[int(0.9 * (len(times) - 1))],
            "minMs": times[0], "imgPerSec": batch * 1000 / med}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="vgg-compact,resnet18")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters1", type=int, default=50)
    ap.add_argument("--iters64", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "models": {}}
    for name in args.models.split(","):
        if name not in MODELS:
            out["models"][name] = {"error": f"no PyTorch definition for {name}"}
            continue
        model = MODELS[name]().eval()
        out["models"][name] = {
            "params": sum(p.numel() for p in model.parameters()),
            "latency": time_batch(model, 1, args.iters1, args.warmup),
            "throughput": time_batch(model, 64, args.iters64, args.warmup),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()

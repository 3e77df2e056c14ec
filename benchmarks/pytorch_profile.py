#!/usr/bin/env python3
"""Where one PyTorch training step of a fer-lab architecture spends its time (torch.profiler, CPU), for comparison
with our engine's per-op profile (benchmarks/train-profile.js). Same model definitions as pytorch_train.py.

    /usr/bin/python3 benchmarks/pytorch_profile.py [--model vgg-large] [--batch 32] [--threads 1] [--steps 3] [--top 20]

Batch 32 on one thread is one of our workers' share of a batch-64 step. Not part of `npm run bench`.
"""
import argparse
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_train import build  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="vgg-large")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--top", type=int, default=20)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build(args.model)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(args.batch, 1, 48, 48)
    y = torch.randint(0, 7, (args.batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()

    for _ in range(2):
        step()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(args.steps):
            step()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events) / 1000 / args.steps
    print(f"{args.model}, batch {args.batch}, {args.threads} thread(s): {total:.1f} ms per step (self CPU time, profiled)")
    rows = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[: args.top]
    for e in rows:
        print(f"  {e.self_cpu_time_total / 1000 / args.steps:8.1f}  {e.key}")


if __name__ == "__main__":
    main()

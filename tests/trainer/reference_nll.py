#!/usr/bin/python3
"""Reference next-token NLL of a checkpoint on given windows, for the perplexity test,
and for an MoE checkpoint the experts each MoE layer chose (routing statistics).

Runs the independent decoder of tests/model/reference_llama.py (written from the Hugging
Face formulas; no code shared with the C++ model) in float64 and sums
-log softmax(logits)[target] over every target that is not -100.

Usage: reference_nll.py --checkpoint DIR --batches IN.json --out OUT.json [--threads N]
IN.json: {"batches": [{"ids": [[...], ...], "targets": [[...], ...]}, ...]}
OUT.json: {"sum": <float>, "count": <int>, "routing": {"<layer>": [assignments per expert]}}
(a token counts once per chosen expert; "routing" is empty for a dense model)
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "model"))
import reference_llama  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--batches", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    with open(os.path.join(a.checkpoint, "config.json")) as f:
        cfg = json.load(f)
    weights = reference_llama.read_checkpoint(a.checkpoint)
    with open(a.batches) as f:
        batches = json.load(f)["batches"]
    total, count = 0.0, 0
    routing = {}
    with torch.no_grad():
        for batch in batches:
            ids = torch.tensor(batch["ids"], dtype=torch.int64)
            targets = torch.tensor(batch["targets"], dtype=torch.int64)
            positions = torch.arange(ids.shape[1])[None].expand(ids.shape[0], -1)
            routers = {}
            logits, _ = reference_llama.forward(cfg, weights, ids, None, positions, torch.float64, set(), routers)
            for layer, (_, probs, top_i) in routers.items():
                n = torch.bincount(top_i.reshape(-1), minlength=probs.shape[-1]).tolist()
                old = routing.get(str(layer), [0] * len(n))
                routing[str(layer)] = [a + b for a, b in zip(old, n)]
            logp = torch.log_softmax(logits, dim=-1)
            keep = targets != -100
            picked = logp.gather(-1, targets.clamp_min(0)[..., None])[..., 0]
            total += float(-(picked[keep]).sum())
            count += int(keep.sum())
    with open(a.out, "w") as f:
        json.dump({"sum": total, "count": count, "routing": routing}, f)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Python peer of bench_profiler: the same profiling work done with forward hooks on a
plain torch.nn.Module Llama (bench/model/peer_llama.py, the project's independent Python
decoder), on the same checkpoint, batches and thread count.

  py_profiler.py --checkpoint DIR --batches BATCHES.json --threads 1 [--repeats 3]

Per batch (one language, right-padded, mask 1 = real token): a forward hook on every
q/k/v/o/gate/up/down projection stores the masked per-sentence mean of its output (AP)
and adds the count of real tokens with output > 0 (LAPE); a forward pre-hook on each
MLP adds the unit-normalised MLP inputs of real tokens (layer similarity). Right
padding never reaches real tokens under causal attention, so the unmasked decoder is
exact on real positions. The LM head is skipped, as in the C++ profiler.
Prints one JSON line: tokens_per_s (best of --repeats), seconds, tokens, and a checksum
(sum of all mean responses) to compare with the C++ run.
"""
import argparse
import json
import os
import struct
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "model"))
import peer_llama  # noqa: E402


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        assert meta["dtype"] == "F32", meta["dtype"]
        b, e = meta["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[b:e], dtype=np.float32).copy()).reshape(meta["shape"])
    return out


def load(checkpoint):
    with open(os.path.join(checkpoint, "config.json")) as f:
        c = json.load(f)
    model = peer_llama.Llama(c)
    weights = {}
    for name in sorted(os.listdir(checkpoint)):
        if name.endswith(".safetensors"):
            weights.update(read_safetensors(os.path.join(checkpoint, name)))
    state = {k[len("model."):] if k.startswith("model.") else k: v for k, v in weights.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not [m for m in missing if "inv_freq" not in m], missing
    return c, model.eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--batches", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    c, model = load(a.checkpoint)
    with open(a.batches) as f:
        spec = json.load(f)
    languages = spec["languages"]
    batches = [(b["language"], torch.tensor(b["ids"], dtype=torch.int64), torch.tensor(b["mask"], dtype=torch.float32))
               for b in spec["batches"]]
    L, D = c["num_hidden_layers"], c["hidden_size"]
    state = {}

    def proj_hook(layer, name):
        def hook(module, inputs, out):
            mask = state["mask"]
            m = mask[..., None]
            state["responses"].append(((out * m).sum(1) / mask.sum(1, keepdim=True)))
            counts = state["lape"][(state["lang"], layer, name)]
            counts += ((out > 0) & (m > 0)).sum((0, 1))
        return hook

    def mlp_pre_hook(layer):
        def hook(module, inputs):
            x = inputs[0]
            unit = x / x.norm(dim=-1, keepdim=True).clamp_min(1e-12)
            state["sim"][state["lang"]][layer] += (unit * state["mask"][..., None]).sum((0, 1)).double()
        return hook

    for i, layer in enumerate(model.layers):
        for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
            getattr(layer.self_attn, name).register_forward_hook(proj_hook(i, name))
        for name in ("gate_proj", "up_proj", "down_proj"):
            getattr(layer.mlp, name).register_forward_hook(proj_hook(i, name))
        layer.mlp.register_forward_pre_hook(mlp_pre_hook(i))

    def run():
        widths = {}
        state["lape"] = {}
        for lang in range(len(languages)):
            for i, layer in enumerate(model.layers):
                for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
                    w = getattr(layer.self_attn, name).out_features
                    state["lape"][(lang, i, name)] = torch.zeros(w, dtype=torch.int64)
                for name in ("gate_proj", "up_proj", "down_proj"):
                    w = getattr(layer.mlp, name).out_features
                    state["lape"][(lang, i, name)] = torch.zeros(w, dtype=torch.int64)
        state["sim"] = [[torch.zeros(D, dtype=torch.float64) for _ in range(L)] for _ in languages]
        rows = []
        with torch.no_grad():
            for lang, ids, mask in batches:
                state["lang"], state["mask"], state["responses"] = lang, mask, []
                B, T = ids.shape
                x = model.embed_tokens(ids)
                ang = torch.arange(T).float()[:, None] * model.inv_freq[None]
                ang = torch.cat((ang, ang), dim=-1)
                cos, sin = ang.cos(), ang.sin()
                causal = torch.ones(T, T, dtype=torch.bool).tril()
                for layer in model.layers:
                    x = layer(x, cos, sin, causal)
                model.norm(x)
                rows.append(torch.cat(state["responses"], dim=1))  # B x N, flat neuron order
        return rows

    tokens = int(sum(float(m.sum()) for _, _, m in batches))
    best, rows = None, None
    for _ in range(a.repeats):
        t = time.perf_counter()
        rows = run()
        s = time.perf_counter() - t
        best = s if best is None else min(best, s)
    checksum = float(sum(float(r.double().sum()) for r in rows))
    print(json.dumps({"impl": "python-hooks", "threads": torch.get_num_threads(), "tokens": tokens,
                      "seconds": best, "tokens_per_s": tokens / best, "checksum": checksum}))


if __name__ == "__main__":
    main()

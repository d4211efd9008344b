#!/usr/bin/python3
"""Python peer of bench_moe_train: the same MoE stage-1 training step written with
python3-torch 1.13, on the model and batch that bench_moe_train --write-model saved.

  peer_moe.py --model DIR --threads 2 --warmup 1 --iters 5 [--lr 1e-3 --balance 0.01]

The decoder is bench/model/peer_llama.py's (plain torch.nn, from the Hugging Face
formulas); in each layer with n_l >= 2 experts (config "nmoe_experts_per_layer") the
MLP is the MoE layer below, written from the formulas of METHOD.md step 3:
  router: logits = x W_r^T in fp32, softmax, top-k (k = min(num_experts_per_tok, n_l)),
  weights renormalised; dispatch grouped by expert: the N*k (token, slot) pairs are
  sorted by expert (stable), each expert runs once over its own tokens (index_select),
  and its weighted output is added back (index_add).
Trainable (stage 1): the routers and experts 1..n_l-1; everything else frozen.
Loss: mean next-token cross entropy + balance x mean over MoE layers of the Switch
balance loss E * sum_e f_e P_e. Step: zero_grad, forward, backward, global gradient
L2 norm, clipping to 1.0 (scale 1 / (norm + 1e-6)), AdamW (betas 0.9 / 0.95, eps 1e-8,
weight decay --weight-decay) at a constant learning rate; the same fixed batch every
step (DIR/batch.json).

Prints the parameter counts, one line per step in bench_moe_train's format and a JSON
line with the median step time (wall and process CPU) and tokens/s over the --iters steps after --warmup.
"""
import argparse
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "model"))
from peer_llama import Llama, Mlp  # noqa: E402


def read_safetensors(path):
    """F32 tensors of a safetensors file (8-byte header length, JSON header, data)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (name, info["dtype"])
        begin, end = info["data_offsets"]
        arr = np.frombuffer(data[8 + n + begin:8 + n + end], dtype=np.float32)
        out[name] = torch.from_numpy(arr.copy()).reshape(info["shape"])
    return out


class MoeMlp(nn.Module):
    def __init__(self, c, n_experts, top_k):
        super().__init__()
        self.k = min(top_k, n_experts)
        self.router = nn.Linear(c["hidden_size"], n_experts, bias=False)
        self.experts = nn.ModuleList([Mlp(c) for _ in range(n_experts)])
        self.last = None  # (probs_NE, experts_NK) of the last forward, for the balance loss

    def forward(self, x):
        B, T, D = x.shape
        x_nd = x.reshape(-1, D)
        n_exp = len(self.experts)
        probs = torch.softmax(x_nd.float() @ self.router.weight.float().t(), dim=-1)
        top, chosen = probs.topk(self.k, dim=-1)
        weights = top / top.sum(-1, keepdim=True)
        expert_s = chosen.reshape(-1)
        _, order = expert_s.sort(stable=True)
        token_s = torch.div(order, self.k, rounding_mode="floor")
        weight_s = weights.reshape(-1).index_select(0, order)
        counts = torch.bincount(expert_s, minlength=n_exp).tolist()
        out = torch.zeros_like(x_nd)
        offset = 0
        for e, count in enumerate(counts):
            if count == 0:
                continue
            tokens = token_s[offset:offset + count]
            w = weight_s[offset:offset + count].unsqueeze(1)
            offset += count
            y = self.experts[e](x_nd.index_select(0, tokens))
            out = out.index_add(0, tokens, (y.float() * w).to(out.dtype))
        self.last = (probs, chosen)
        return out.view(B, T, D)


def balance_loss(probs, chosen):
    n, e = probs.shape
    with torch.no_grad():
        f = torch.bincount(chosen.reshape(-1), minlength=e).float() / (n * chosen.shape[1])
    return e * (f * probs.mean(0)).sum()


def build(folder):
    with open(os.path.join(folder, "config.json")) as f:
        c = json.load(f)
    assert c.get("tie_word_embeddings", False), "peer_moe.py supports tied embeddings only"
    model = Llama(c)
    plan = c.get("nmoe_experts_per_layer") or [1] * c["num_hidden_layers"]
    for i, n in enumerate(plan):
        if n >= 2:
            model.layers[i].mlp = MoeMlp(c, n, c.get("num_experts_per_tok", 2))
    weights = {k[len("model."):] if k.startswith("model.") else k: v
               for k, v in read_safetensors(os.path.join(folder, "model.safetensors")).items()}
    missing, unexpected = model.load_state_dict(weights, strict=False)
    assert not missing and not unexpected, (missing, unexpected)
    for p in model.parameters():
        p.requires_grad_(False)
    moe_layers = [layer.mlp for layer in model.layers if isinstance(layer.mlp, MoeMlp)]
    for m in moe_layers:
        m.router.weight.requires_grad_(True)
        for expert in m.experts[1:]:
            for p in expert.parameters():
                p.requires_grad_(True)
    return c, model, moe_layers


def active_weights(c, model):
    """Matmul weights a token passes through (bench_moe_train's count), from the modules."""
    n = model.embed_tokens.weight.numel()  # the tied LM head
    for layer in model.layers:
        a = layer.self_attn
        n += sum(m.weight.numel() for m in (a.q_proj, a.k_proj, a.v_proj, a.o_proj))
        if isinstance(layer.mlp, MoeMlp):
            per_expert = sum(p.numel() for p in layer.mlp.experts[0].parameters())
            n += layer.mlp.k * per_expert + layer.mlp.router.weight.numel()
        else:
            n += sum(p.numel() for p in layer.mlp.parameters())
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, help="folder written by bench_moe_train --write-model")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--balance", type=float, default=0.01)
    ap.add_argument("--weight-decay", type=float, default=0.0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    c, model, moe_layers = build(a.model)
    with open(os.path.join(a.model, "batch.json")) as f:
        ids = torch.tensor(json.load(f)["ids"], dtype=torch.int64)
    inputs, targets = ids[:, :-1].contiguous(), ids[:, 1:].contiguous()
    tokens = targets.numel()
    params = [p for p in model.parameters() if p.requires_grad]
    total = sum(p.numel() for p in model.parameters())
    trained = sum(p.numel() for p in params)
    active = active_weights(c, model)
    print("parameters: total %d, trainable %d, active matmul weights per token %d" % (total, trained, active))
    opt = torch.optim.AdamW(params, lr=a.lr, betas=(0.9, 0.95), eps=1e-8, weight_decay=a.weight_decay)

    def step():
        opt.zero_grad()
        logits = model(inputs)
        lm = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="sum")
        aux = torch.zeros(())
        balances = [balance_loss(*m.last) for m in moe_layers]
        for b in balances:
            aux = aux + b * (a.balance / len(moe_layers))
        summed = lm + aux * tokens
        loss = summed.item() / tokens
        (summed / tokens).backward()
        norm = torch.stack([p.grad.norm() for p in params]).norm().item()
        if norm > 1.0:
            for p in params:
                p.grad.mul_(1.0 / (norm + 1e-6))
        opt.step()
        return loss, lm.item() / tokens, sum(b.item() for b in balances) / len(balances), norm

    times, cpu_times = [], []
    for i in range(a.warmup + a.iters):
        t, c0 = time.perf_counter(), time.process_time()
        loss, lm, bal, norm = step()
        seconds, cpu = time.perf_counter() - t, time.process_time() - c0
        print("step %d: loss %.6f (lm %.6f, balance %.6f), grad norm %.6f, %.3f s, %.3f CPU s" % (
            i + 1, loss, lm, bal, norm, seconds, cpu), flush=True)
        if i >= a.warmup:
            times.append(seconds)
            cpu_times.append(cpu)
    times.sort()
    cpu_times.sort()
    median = times[len(times) // 2]
    print("JSON " + json.dumps({"impl": "python", "threads": torch.get_num_threads(), "batch": ids.shape[0],
                                "seq": inputs.shape[1], "total_params": total, "trainable_params": trained,
                                "active_weights": active, "seconds_per_iter": median, "best": times[0],
                                "tokens_per_s": tokens / median,
                                "cpu_seconds_per_iter": cpu_times[len(cpu_times) // 2]}))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Python peer of bench_model: the same Llama decoder written as a plain torch.nn.Module
from the Hugging Face formulas (RMSNorm in fp32, RoPE, grouped-query attention with
matmul-softmax(fp32)-matmul, SwiGLU MLP, tied embeddings), timed the same way.

  peer_llama.py --config CONFIG.json --batch 16 --seq 256 --threads 2 --dtype fp32|bf16 \
                --mode train|forward --iters 10 --warmup 2

train: forward + next-token cross entropy (sum, fp32) + backward, no optimizer step.
bf16 = torch.autocast("cpu", torch.bfloat16) over the forward, fp32 weights.
Prints one JSON line: {"tokens_per_s": ..., "seconds_per_iter": ..., ...}.
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F
from torch import nn


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        x32 = x.float()
        normed = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * normed.to(x.dtype)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.h, self.k = c["num_attention_heads"], c.get("num_key_value_heads", c["num_attention_heads"])
        self.d = c.get("head_dim") or c["hidden_size"] // self.h
        D = c["hidden_size"]
        self.q_proj = nn.Linear(D, self.h * self.d, bias=False)
        self.k_proj = nn.Linear(D, self.k * self.d, bias=False)
        self.v_proj = nn.Linear(D, self.k * self.d, bias=False)
        self.o_proj = nn.Linear(self.h * self.d, D, bias=False)

    def forward(self, x, cos, sin, causal):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.h, self.d).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.k, self.d).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.k, self.d).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        g = self.h // self.k
        k = k[:, :, None].expand(B, self.k, g, T, self.d).reshape(B, self.h, T, self.d)
        v = v[:, :, None].expand(B, self.k, g, T, self.d).reshape(B, self.h, T, self.d)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.d)
        probs = torch.softmax(scores.float().masked_fill(~causal, torch.finfo(torch.float32).min), dim=-1)
        out = probs.to(q.dtype) @ v
        return self.o_proj(out.transpose(1, 2).reshape(B, T, self.h * self.d))


class Mlp(nn.Module):
    def __init__(self, c):
        super().__init__()
        D, Fi = c["hidden_size"], c["intermediate_size"]
        self.gate_proj = nn.Linear(D, Fi, bias=False)
        self.up_proj = nn.Linear(D, Fi, bias=False)
        self.down_proj = nn.Linear(Fi, D, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        eps = c.get("rms_norm_eps", 1e-6)
        self.input_layernorm = RMSNorm(c["hidden_size"], eps)
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], eps)
        self.mlp = Mlp(c)

    def forward(self, x, cos, sin, causal):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, causal)
        return x + self.mlp(self.post_attention_layernorm(x))


class Llama(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])
        self.norm = RMSNorm(c["hidden_size"], c.get("rms_norm_eps", 1e-6))
        h = c["num_attention_heads"]
        d = c.get("head_dim") or c["hidden_size"] // h
        theta = c.get("rope_theta", 10000.0)
        self.register_buffer("inv_freq", 1.0 / theta ** (torch.arange(0, d, 2).float() / d), persistent=False)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, ids):
        B, T = ids.shape
        x = self.embed_tokens(ids)
        ang = torch.arange(T).float()[:, None] * self.inv_freq[None]
        ang = torch.cat((ang, ang), dim=-1)
        cos, sin = ang.cos().to(x.dtype), ang.sin().to(x.dtype)
        causal = torch.ones(T, T, dtype=torch.bool).tril()
        for layer in self.layers:
            x = layer(x, cos, sin, causal)
        return self.norm(x) @ self.embed_tokens.weight.t()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"])
    ap.add_argument("--mode", default="train", choices=["train", "forward"])
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    with open(a.config) as f:
        c = json.load(f)
    model = Llama(c)
    ids = torch.randint(0, c["vocab_size"], (a.batch, a.seq + 1))
    inputs, targets = ids[:, :-1], ids[:, 1:]

    def step():
        if a.mode == "forward":
            with torch.no_grad(), torch.autocast("cpu", torch.bfloat16, enabled=a.dtype == "bf16"):
                model(inputs)
            return
        model.zero_grad(set_to_none=True)
        with torch.autocast("cpu", torch.bfloat16, enabled=a.dtype == "bf16"):
            logits = model(inputs)
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="sum")
        loss.backward()

    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.iters):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    times.sort()
    median = times[len(times) // 2]
    print(json.dumps({"impl": "python", "mode": a.mode, "dtype": a.dtype, "threads": torch.get_num_threads(),
                      "batch": a.batch, "seq": a.seq, "seconds_per_iter": median, "best": times[0],
                      "tokens_per_s": a.batch * a.seq / median}))


if __name__ == "__main__":
    main()

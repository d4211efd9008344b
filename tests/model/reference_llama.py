#!/usr/bin/python3
"""Independent reference of the Llama-3.x / Qwen2 decoder, for numerics tests.

Written from the published formulas (transformers' modeling_llama / modeling_qwen2 math),
without importing transformers and without sharing code with the C++ model. Reads a
Hugging Face checkpoint folder (config.json + model.safetensors or a sharded index) with
its own safetensors parser, runs a forward pass on the given token ids and writes the
logits and selected activations to a safetensors file.

Usage:
  reference_llama.py --checkpoint DIR --ids IDS.json --out OUT.safetensors
                     [--dtype float32|float64] [--threads N]
  reference_llama.py --jobs JOBS.json [--threads N]
JOBS.json: a list of {"checkpoint": DIR, "ids": IDS.json, "out": PATH, "dtype": D}, run
in one process (torch's import dominates a run).
IDS.json: {"ids": [[...], ...], "mask": [[1, 0, ...], ...] (optional),
           "positions": [[...], ...] (optional), "capture": ["1.gate_proj", ...],
           "old": [[0, 1, ...], ...] (optional: old-language tokens, for the LPR loss)}
Output tensors (F32 or F64): "logits" [B,T,V], and "<layer>.<component>" for each capture
(components: q_proj k_proj v_proj o_proj gate_proj up_proj down_proj mlp_input; in MoE
layers gate/up/down are each token's routing-weighted sum over its top-k experts of that
expert's projection output). For each MoE layer (config "nmoe_experts_per_layer", n_l >= 2):
"<layer>.experts" [B,T,K] chosen experts, "<layer>.balance", "<layer>.zloss" and, with
"old", "<layer>.lpr" (1-element tensors).
"""
import argparse
import json
import math
import os
import struct

import numpy as np
import torch

# ---- safetensors, read and write -------------------------------------------------

_NP_DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64,
              "I32": np.int32, "BF16": np.uint16}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = np.frombuffer(data[base + begin:base + end], dtype=_NP_DTYPES[info["dtype"]])
        if info["dtype"] == "BF16":  # bf16 = the high half of an fp32
            raw = (raw.astype(np.uint32) << 16).view(np.float32)
        out[name] = torch.from_numpy(raw.copy()).reshape(info["shape"])
    return out


def read_checkpoint(folder):
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    weights = {}
    for name in files:
        weights.update(read_safetensors(os.path.join(folder, name)))
    return weights


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        arr = t.detach().contiguous().numpy()
        code = {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64", np.dtype(np.int64): "I64"}[arr.dtype]
        blob = arr.tobytes()
        header[name] = {"dtype": code, "shape": list(arr.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


# ---- the model, from the formulas ------------------------------------------------

def rms_norm(x, weight, eps):
    # fp32 statistics, cast back, then the weight (transformers' LlamaRMSNorm).
    x32 = x.to(torch.float32) if x.dtype != torch.float64 else x
    normed = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps)
    return weight * normed.to(x.dtype)


def inverse_frequencies(cfg, head_dim):
    theta = float(cfg.get("rope_theta", 10000.0))
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    rs = cfg.get("rope_scaling")
    if not rs:
        return inv
    kind = rs.get("rope_type", rs.get("type"))
    if kind == "default":
        return inv
    assert kind == "llama3", kind
    factor, low, high = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
    old = rs["original_max_position_embeddings"]
    out = []
    for f in inv.tolist():  # one frequency at a time, straight from the rule
        wavelen = 2 * math.pi / f
        if wavelen < old / high:          # high frequency: unchanged
            out.append(f)
        elif wavelen > old / low:         # low frequency: divided by factor
            out.append(f / factor)
        else:                             # in between: linear blend in 1/wavelength
            s = (old / wavelen - low) / (high - low)
            out.append((1 - s) * f / factor + s * f)
    return torch.tensor(out, dtype=torch.float32)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def linear(x, w, b=None):
    y = x @ w.t()
    return y + b if b is not None else y


def moe_mlp(cfg, get, prefix, h, n_experts, dtype, routers, layer):
    """NeuronMoE's MoE MLP written densely: every token through every expert, then the
    top-k outputs combined with the renormalised router probabilities (fp32 routing,
    float64 when the whole reference runs in float64)."""
    k = min(cfg.get("num_experts_per_tok", 2), n_experts)
    rdtype = torch.float64 if dtype == torch.float64 else torch.float32
    logits = h.to(rdtype) @ get(prefix + "router.weight").to(rdtype).t()     # B,T,E
    probs = torch.softmax(logits, dim=-1)
    top_p, top_i = probs.topk(k, dim=-1)                                       # B,T,K
    weights = top_p / top_p.sum(dim=-1, keepdim=True)
    gates, ups, outs = [], [], []
    for e in range(n_experts):
        q = prefix + "experts.%d." % e
        gate = linear(h, get(q + "gate_proj.weight"), get(q + "gate_proj.bias"))
        up = linear(h, get(q + "up_proj.weight"), get(q + "up_proj.bias"))
        gates.append(gate)
        ups.append(up)
        outs.append(linear(gate * torch.sigmoid(gate) * up, get(q + "down_proj.weight"),
                           get(q + "down_proj.bias")))
    routers[layer] = (logits, probs, top_i)

    def mix(per_expert):
        """sum over the chosen experts of w_k * per_expert[e_k] (dense: B,T,E,C)."""
        stacked = torch.stack(per_expert, dim=-2)
        chosen = stacked.gather(-2, top_i[..., None].expand(*top_i.shape, stacked.shape[-1]))
        return (chosen.to(rdtype) * weights[..., None]).sum(dim=-2).to(dtype)

    return mix(outs), mix(gates), mix(ups)


def moe_losses(routers, mask, old, out):
    """Per MoE layer: Switch balance E * sum f_e P_e, router z-loss, and LPR (mean -log p_0
    over valid old-language tokens), padding excluded."""
    for layer, (logits, probs, top_i) in routers.items():
        E, K = probs.shape[-1], top_i.shape[-1]
        valid = torch.ones(probs.shape[:2], dtype=probs.dtype) if mask is None else mask.to(probs.dtype)
        n = valid.sum()
        f = torch.zeros(E, dtype=probs.dtype)
        for e in range(E):
            f[e] = ((top_i == e).to(probs.dtype).sum(-1) * valid).sum() / (n * K)
        p_mean = (probs * valid[..., None]).sum((0, 1)) / n
        out["%d.balance" % layer] = (E * (f * p_mean).sum()).reshape(1)
        z = torch.logsumexp(logits, dim=-1)
        out["%d.zloss" % layer] = ((z * z * valid).sum() / n).reshape(1)
        if old is not None:
            w = old.to(probs.dtype) * valid
            nll = -torch.log_softmax(logits, dim=-1)[..., 0]
            out["%d.lpr" % layer] = ((nll * w).sum() / w.sum()).reshape(1)


def forward(cfg, w, ids, mask, positions, dtype, capture, routers=None):
    n_layers = cfg["num_hidden_layers"]
    n_heads = cfg["num_attention_heads"]
    n_kv = cfg.get("num_key_value_heads", n_heads)
    hidden = cfg["hidden_size"]
    head_dim = cfg.get("head_dim") or hidden // n_heads
    eps = cfg.get("rms_norm_eps", 1e-6)
    B, T = ids.shape
    experts_per_layer = cfg.get("nmoe_experts_per_layer")
    routers = {} if routers is None else routers
    get = lambda name: w[name].to(dtype) if name in w else None  # noqa: E731
    captured = {}

    def emit(layer, comp, t):
        key = "%d.%s" % (layer, comp)
        if key in capture:
            captured[key] = t

    inv = inverse_frequencies(cfg, head_dim)
    ang = positions.to(torch.float32)[..., None] * inv[None, None, :]      # B,T,d/2
    ang = torch.cat((ang, ang), dim=-1)
    cos, sin = ang.cos().to(dtype)[:, None], ang.sin().to(dtype)[:, None]   # B,1,T,d

    allowed = torch.tril(torch.ones(T, T, dtype=torch.bool))[None, None]    # 1,1,T,T
    if mask is not None:
        allowed = allowed & mask.bool()[:, None, None, :]
    neg = torch.finfo(torch.float32).min

    x = get("model.embed_tokens.weight")[ids]
    for i in range(n_layers):
        p = "model.layers.%d." % i
        h = rms_norm(x, get(p + "input_layernorm.weight"), eps)
        q = linear(h, get(p + "self_attn.q_proj.weight"), get(p + "self_attn.q_proj.bias"))
        k = linear(h, get(p + "self_attn.k_proj.weight"), get(p + "self_attn.k_proj.bias"))
        v = linear(h, get(p + "self_attn.v_proj.weight"), get(p + "self_attn.v_proj.bias"))
        emit(i, "q_proj", q); emit(i, "k_proj", k); emit(i, "v_proj", v)  # noqa: E702
        q = q.view(B, T, n_heads, head_dim).transpose(1, 2)
        k = k.view(B, T, n_kv, head_dim).transpose(1, 2)
        v = v.view(B, T, n_kv, head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = n_heads // n_kv                      # repeat_kv: head j uses kv head j // rep
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(head_dim)
        sdtype = torch.float64 if dtype == torch.float64 else torch.float32
        scores = scores.to(sdtype).masked_fill(~allowed, neg)
        probs = torch.softmax(scores, dim=-1).to(dtype)
        attn = (probs @ v).transpose(1, 2).reshape(B, T, n_heads * head_dim)
        o = linear(attn, get(p + "self_attn.o_proj.weight"), get(p + "self_attn.o_proj.bias"))
        emit(i, "o_proj", o)
        x = x + o
        h = rms_norm(x, get(p + "post_attention_layernorm.weight"), eps)
        emit(i, "mlp_input", h)
        n_experts = experts_per_layer[i] if experts_per_layer else 1
        if n_experts >= 2:
            down, gate, up = moe_mlp(cfg, get, p + "mlp.", h, n_experts, dtype, routers, i)
            emit(i, "gate_proj", gate); emit(i, "up_proj", up); emit(i, "down_proj", down)  # noqa: E702
        else:
            gate = linear(h, get(p + "mlp.gate_proj.weight"), get(p + "mlp.gate_proj.bias"))
            up = linear(h, get(p + "mlp.up_proj.weight"), get(p + "mlp.up_proj.bias"))
            emit(i, "gate_proj", gate); emit(i, "up_proj", up)  # noqa: E702
            silu = gate * torch.sigmoid(gate)
            down = linear(silu * up, get(p + "mlp.down_proj.weight"), get(p + "mlp.down_proj.bias"))
            emit(i, "down_proj", down)
        x = x + down
    x = rms_norm(x, get("model.norm.weight"), eps)
    head = get("lm_head.weight")
    if cfg.get("tie_word_embeddings", False) or head is None:
        assert head is None or cfg.get("tie_word_embeddings") is False
        head = get("model.embed_tokens.weight")
    return x @ head.t(), captured


def run(checkpoint, ids_path, out_path, dtype_name):
    with open(os.path.join(checkpoint, "config.json")) as f:
        cfg = json.load(f)
    assert cfg["model_type"] in ("llama", "qwen2"), cfg["model_type"]
    assert cfg.get("hidden_act", "silu") == "silu"
    with open(ids_path) as f:
        req = json.load(f)
    ids = torch.tensor(req["ids"], dtype=torch.int64)
    mask = torch.tensor(req["mask"], dtype=torch.int64) if req.get("mask") else None
    if req.get("positions"):
        positions = torch.tensor(req["positions"], dtype=torch.int64)
    else:
        positions = torch.arange(ids.shape[1])[None].expand(ids.shape[0], -1)
    dtype = {"float32": torch.float32, "float64": torch.float64}[dtype_name]
    old = torch.tensor(req["old"], dtype=torch.int64) if req.get("old") else None
    routers = {}
    with torch.no_grad():
        logits, captured = forward(cfg, read_checkpoint(checkpoint), ids, mask, positions, dtype,
                                   set(req.get("capture", [])), routers)
    out = {"logits": logits}
    out.update(captured)
    moe_losses(routers, mask, old, out)
    for layer, (_, _, top_i) in routers.items():
        out["%d.experts" % layer] = top_i.to(torch.int64)
    write_safetensors(out_path, out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint")
    ap.add_argument("--ids")
    ap.add_argument("--out")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--jobs")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.jobs:
        with open(a.jobs) as f:
            for job in json.load(f):
                run(job["checkpoint"], job["ids"], job["out"], job.get("dtype", "float32"))
    else:
        if not (a.checkpoint and a.ids and a.out):
            ap.error("--checkpoint, --ids and --out are required without --jobs")
        run(a.checkpoint, a.ids, a.out, a.dtype)


if __name__ == "__main__":
    main()

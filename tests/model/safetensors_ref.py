#!/usr/bin/python3
"""An independent safetensors reader/writer, written from the format description only
(8-byte little-endian header length N, N bytes of JSON, then the data section; offsets
relative to the data section), used to cross-check nmoe's C++ implementation.

Run with Debian's /usr/bin/python3 (numpy + torch 1.13; the `safetensors` package is not
installed here). Arguments: one or more COMMAND PATH pairs (one process, so torch is
imported once). Each prints "== COMMAND PATH", its problems, then "OK" or
"N problem(s)"; the exit status is 1 when any command found a problem. Commands:

  verify FILE        read FILE (written by nmoe's C++ writer) and compare every tensor
                     with the values expected_tensors() defines; check the layout nmoe
                     promises (8-aligned data section, dtype-aligned tensors, no holes)
  verify-dir DIR     the same for a checkpoint folder written by WriteSharded: index and
                     shards as transformers loads them (metadata format "pt")
  write FILE         write expected_tensors() with this writer, in insertion order and
                     without alignment (a U8 tensor of odd length first), for the C++
                     reader to check

The values are exact in every dtype used (small multiples of 1/8), so both sides can
regenerate them independently: value_i = ((i * 37 + seed) % 255 - 127) / 8.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

# name -> (dtype string, numpy dtype of the raw elements, element size)
DTYPES = {
    "BOOL": (np.bool_, 1), "U8": (np.uint8, 1), "I8": (np.int8, 1), "I16": (np.int16, 2),
    "F16": (np.float16, 2), "BF16": (np.uint16, 2), "I32": (np.int32, 4),
    "F32": (np.float32, 4), "F64": (np.float64, 8), "I64": (np.int64, 8),
}

# BF16 bit patterns and the float32 each one denotes: zero, negative zero, one, minus
# one, 3.140625, +inf, -inf, a quiet NaN, the largest finite, the smallest subnormal,
# the smallest normal.
BF16_BITS = [0x0000, 0x8000, 0x3F80, 0xBF80, 0x4049, 0x7F80, 0xFF80, 0x7FC0, 0x7F7F,
             0x0001, 0x0080]


def pattern(n, seed):
    i = np.arange(n, dtype=np.int64)
    return ((i * 37 + seed) % 255 - 127).astype(np.float64) / 8.0


def expected_tensors():
    """The tensors both sides agree on: name -> (dtype, shape, raw numpy array)."""
    out = {}

    def add(name, dtype, shape, values):
        np_type = DTYPES[dtype][0]
        out[name] = (dtype, list(shape), np.asarray(values).astype(np_type).reshape(shape))

    add("f32", "F32", [3, 5], pattern(15, 1))
    add("f64", "F64", [2, 3], pattern(6, 2))
    add("f16", "F16", [7], pattern(7, 3))
    # BF16 values through torch (an independent conversion from numpy's): exact here.
    bf16 = torch.tensor(pattern(12, 4), dtype=torch.float32).to(torch.bfloat16)
    out["bf16"] = ("BF16", [4, 3], bf16.view(torch.int16).numpy().view(np.uint16).reshape(4, 3))
    out["bf16_bits"] = ("BF16", [len(BF16_BITS)], np.array(BF16_BITS, dtype=np.uint16))
    add("i64", "I64", [5], [-(2 ** 62), -1, 0, 1, 2 ** 62])
    add("i32", "I32", [2, 2], [-(2 ** 31), -7, 7, 2 ** 31 - 1])
    add("i16", "I16", [3], [-32768, 0, 32767])
    add("i8", "I8", [4], [-128, -1, 1, 127])
    add("u8", "U8", [3], [0, 128, 255])
    add("mask", "BOOL", [2, 2], [True, False, False, True])
    add("scalar", "F32", [], [2.5])
    add("empty", "F32", [0, 4], [])
    return out


def read_file(path):
    """Parses a safetensors file: (header dict, {name: (dtype, shape, raw array)}, data offset)."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError("shorter than 8 bytes")
    (n,) = struct.unpack("<Q", blob[:8])
    if 8 + n > len(blob):
        raise ValueError("header runs past the file")
    text = blob[8:8 + n].decode("utf-8")
    if not text.startswith("{"):
        raise ValueError("header does not start with '{'")
    pairs_seen = []
    header = json.loads(text, object_pairs_hook=lambda pairs: pairs_seen.append(pairs) or dict(pairs))
    for pairs in pairs_seen:
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            raise ValueError("duplicate keys")
    data = blob[8 + n:]
    tensors = {}
    spans = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype, shape = entry["dtype"], entry["shape"]
        begin, end = entry["data_offsets"]
        np_type, size = DTYPES[dtype]
        count = int(np.prod(shape)) if shape else 1
        if end - begin != count * size or end > len(data):
            raise ValueError(f"{name}: bad offsets")
        raw = np.frombuffer(data[begin:end], dtype=np_type).reshape(shape)
        tensors[name] = (dtype, shape, raw)
        spans.append((begin, end, name))
    spans.sort()
    cursor = 0
    for begin, end, name in spans:
        if begin != cursor:
            raise ValueError(f"{name}: hole or overlap at {cursor}")
        cursor = end
    if cursor != len(data):
        raise ValueError("trailing bytes")
    return header, tensors, 8 + n


def check_nmoe_layout(path, header, tensors, data_start):
    problems = []
    if data_start % 8 != 0:
        problems.append(f"{path}: data section starts at {data_start}, not 8-aligned")
    for name, (dtype, _, _) in tensors.items():
        begin = header[name]["data_offsets"][0]
        if (data_start + begin) % DTYPES[dtype][1] != 0:
            problems.append(f"{path}: {name} is not aligned to its element size")
    return problems


def compare(name, dtype, shape, raw, want):
    want_dtype, want_shape, want_raw = want
    if dtype != want_dtype or list(shape) != want_shape:
        return [f"{name}: {dtype} {shape}, expected {want_dtype} {want_shape}"]
    if raw.tobytes() != want_raw.tobytes():  # bit-exact, NaN and -0 included
        return [f"{name}: values differ: {raw.ravel()[:8]} vs {want_raw.ravel()[:8]}"]
    return []


def check_bf16_bits(raw):
    """The BF16 patterns read back as the float32 values they denote (via torch)."""
    floats = torch.from_numpy(raw.astype(np.int16)).view(torch.bfloat16).float().numpy()
    by_shift = (raw.astype(np.uint32) << 16).view(np.float32)
    if floats.tobytes() != by_shift.tobytes():
        return ["bf16_bits: torch's BF16->F32 differs from the bit shift"]
    want = [0.0, -0.0, 1.0, -1.0, 3.140625, np.inf, -np.inf, np.nan, 3.3895313892515355e38,
            9.183549615799121e-41, 1.1754943508222875e-38]
    for got, w, bits in zip(floats, want, BF16_BITS):
        if not (np.isnan(w) and np.isnan(got)) and (got != w or np.signbit(got) != np.signbit(w)):
            return [f"bf16_bits: {bits:#06x} reads as {got}, expected {w}"]
    return []


def verify(path):
    header, tensors, data_start = read_file(path)
    problems = check_nmoe_layout(path, header, tensors, data_start)
    want = expected_tensors()
    if set(tensors) != set(want):
        problems.append(f"{path}: tensors {sorted(tensors)}, expected {sorted(want)}")
    for name in sorted(set(tensors) & set(want)):
        problems += compare(name, *tensors[name], want[name])
    if "bf16_bits" in tensors:
        problems += check_bf16_bits(tensors["bf16_bits"][2])
    meta = header.get("__metadata__", {})
    if meta.get("writer") != "nmoe":
        problems.append(f"{path}: metadata {meta}, expected writer=nmoe")
    return problems


def verify_dir(folder):
    """Loads a checkpoint folder the way transformers does and compares its tensors."""
    problems = []
    index_path = os.path.join(folder, "model.safetensors.index.json")
    with open(index_path) as f:
        index = json.load(f)
    weight_map = index["weight_map"]
    shards = sorted(set(weight_map.values()))
    if len(shards) < 2:
        problems.append(f"{folder}: expected several shards, got {shards}")
    if os.path.exists(os.path.join(folder, "model.safetensors")):
        problems.append(f"{folder}: a stale model.safetensors sits beside the index")
    total = 0
    loaded = {}
    for i, shard in enumerate(shards):
        if shard != f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors":
            problems.append(f"{folder}: unexpected shard name {shard}")
        header, tensors, data_start = read_file(os.path.join(folder, shard))
        problems += check_nmoe_layout(shard, header, tensors, data_start)
        if header.get("__metadata__", {}).get("format") != "pt":
            problems.append(f"{shard}: no metadata format=pt (transformers refuses it)")
        for name, value in tensors.items():
            if weight_map.get(name) != shard:
                problems.append(f"{shard}: {name} not mapped to this shard in the index")
            loaded[name] = value
            total += value[2].nbytes
    if index["metadata"]["total_size"] != total:
        problems.append(f"total_size {index['metadata']['total_size']}, tensors hold {total}")
    want = expected_tensors()
    if set(loaded) != set(want) or set(weight_map) != set(want):
        problems.append(f"{folder}: tensors {sorted(loaded)}, expected {sorted(want)}")
    for name in sorted(set(loaded) & set(want)):
        problems += compare(name, *loaded[name], want[name])
    return problems


def write(path):
    """Writes expected_tensors() in insertion order, a 3-byte U8 tensor first, so most
    tensors are misaligned; header padded with spaces to a multiple of 8 bytes."""
    tensors = expected_tensors()
    order = ["u8"] + [name for name in tensors if name != "u8"]
    header = {"__metadata__": {"writer": "python-reference"}}
    chunks = []
    offset = 0
    for name in order:
        dtype, shape, raw = tensors[name]
        data = np.ascontiguousarray(raw).astype(raw.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for chunk in chunks:
            f.write(chunk)


def main(argv):
    args = argv[1:]
    commands = {"verify": verify, "verify-dir": verify_dir, "write": lambda p: write(p) or []}
    if not args or len(args) % 2 != 0 or any(c not in commands for c in args[::2]):
        print(__doc__)
        return 2
    failed = False
    for command, path in zip(args[::2], args[1::2]):
        print(f"== {command} {path}")
        try:
            problems = commands[command](path)
        except (OSError, ValueError, KeyError, TypeError) as e:
            problems = [f"{path}: {type(e).__name__}: {e}"]
        for p in problems:
            print(p)
        print("OK" if not problems else f"{len(problems)} problem(s)")
        failed = failed or bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

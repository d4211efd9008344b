// The JS reference side of nmoe's tokenizer parity tests: runs the independent
// @huggingface/tokenizers (pure JS) on a tokenizer.json.
//
//   node reference.cjs encode --npm DIR --tokenizer FILE --input FILE [--add-special-tokens]
//       one JSON array of ids per input line
//   node reference.cjs decode --npm DIR --tokenizer FILE --input FILE [--skip-special-tokens]
//       input lines are JSON arrays of ids; one JSON string per line
//
// Lines: the UTF-8 file (invalid bytes read as U+FFFD) split at "\n"; a final
// empty line after the last "\n" is not a line. DIR holds node_modules/
// (scripts/fetch-npm-refs.sh). Timing goes to stderr as one JSON object.
"use strict";
const fs = require("fs");
const path = require("path");

function parseArgs(argv) {
  const args = { mode: argv[0], addSpecial: false, skipSpecial: false };
  for (let i = 1; i < argv.length; ++i) {
    const a = argv[i];
    if (a === "--npm") args.npm = argv[++i];
    else if (a === "--tokenizer") args.tokenizer = argv[++i];
    else if (a === "--input") args.input = argv[++i];
    else if (a === "--add-special-tokens") args.addSpecial = true;
    else if (a === "--skip-special-tokens") args.skipSpecial = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!["encode", "decode"].includes(args.mode) || !args.npm || !args.tokenizer || !args.input) {
    throw new Error("usage: reference.cjs encode|decode --npm DIR --tokenizer FILE --input FILE");
  }
  return args;
}

function readLines(file) {
  const lines = fs.readFileSync(file, "utf8").split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const lib = path.join(args.npm, "node_modules/@huggingface/tokenizers/dist/tokenizers.cjs");
  const { Tokenizer } = require(lib);
  const t0 = process.hrtime.bigint();
  const json = JSON.parse(fs.readFileSync(args.tokenizer, "utf8"));
  const tokenizer = new Tokenizer(json, {});
  const t1 = process.hrtime.bigint();
  const lines = readLines(args.input);
  const out = new Array(lines.length);
  let bytes = 0;
  const t2 = process.hrtime.bigint();
  if (args.mode === "encode") {
    for (let i = 0; i < lines.length; ++i) {
      bytes += Buffer.byteLength(lines[i], "utf8");
      out[i] = JSON.stringify(tokenizer.encode(lines[i], { add_special_tokens: args.addSpecial }).ids);
    }
  } else {
    for (let i = 0; i < lines.length; ++i) {
      const ids = JSON.parse(lines[i]);
      out[i] = JSON.stringify(ids.length === 0 ? "" : tokenizer.decode(ids, {
        skip_special_tokens: args.skipSpecial, clean_up_tokenization_spaces: false }));
    }
  }
  const t3 = process.hrtime.bigint();
  process.stdout.write(out.join("\n") + (out.length ? "\n" : ""));
  process.stderr.write(JSON.stringify({ load_ms: Number(t1 - t0) / 1e6, run_ms: Number(t3 - t2) / 1e6,
                                        lines: lines.length, bytes }) + "\n");
}

main();

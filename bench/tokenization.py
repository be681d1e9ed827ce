"""Tokenization throughput: end to end (Parquet in -> shards out) against the raw encoder and datatrove.

On a generated Parquet corpus (multilingual prose from scripts.sample_text), with one tokenizer
(a 32k byte-level BPE trained here on a sample, or --tokenizer), this prints tokens/s of:
  raw encode_batch       tokenizers' `encode_batch` on the same texts already in memory
                         (and `encode_batch_fast`, the variant without offsets that we call)
  ours                   `llmcli tokenize --tokenizer ...` in a fresh process: read Parquet,
                         encode, split, write parts, pack shards + index
  datatrove              ParquetReader -> DocumentTokenizer (same tokenizer file, no shuffle)
the ratios (targets: ours >= 0.85x raw encode_batch, >= 1.5x datatrove), and the peak RSS of
`ours` at 1x and 10x the input (streaming: it should stay flat).

The generated prose repeats a small vocabulary, which flatters ours (its chunk cache, see
curate.tokenization.chunks.ChunkEncoder); `--input DIR` runs the same comparison on real Parquet text.

    .venv/bin/python bench/tokenization.py [--docs 10000] [--scale 10] [--workers 1]
    .venv/bin/python bench/tokenization.py --input DIR [--tokenizer FILE]
    .venv/bin/python bench/tokenization.py --input DIR --also /tmp/old   # + an earlier revision's run
"""

from __future__ import annotations

import sys

# Run as a script, this file's directory comes first on sys.path, and this file's name would
# shadow the standard library's `tokenize` (imported by numpy via inspect/linecache).
if sys.path and sys.path[0] == __import__("os").path.dirname(__file__):
    sys.path.pop(0)

import argparse
import json
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curate.tokenization.bpe import EOT, TrainingSample, train_tokenizer, training_texts  # noqa: E402
from scripts.sample_text import GRAMMAR, ProseGenerator, Topic  # noqa: E402

ROW_GROUP = 2000  # documents per row group, as the pipeline's shard writer uses


def paragraph_pool(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    gens = []
    for lang in GRAMMAR:
        nouns = [f"{w}s" for w in ("report", "garden", "station", "bridge", "library", "market", "river")]
        gens.append(ProseGenerator(Topic(lang, nouns, ["Lyon", "Graz", "Porto", "Leeds"]), rng))
    return ["\n\n".join(gens[i % len(gens)].paragraphs(rng.randint(40, 400))) for i in range(n)]


def write_corpus(out: Path, docs: int, files: int, seed: int) -> int:
    """`docs` documents of 1-4 pooled paragraphs plus numbers (so texts differ), in `files` files."""
    rng = random.Random(seed)
    pool = paragraph_pool(3000, seed)
    out.mkdir(parents=True, exist_ok=True)
    chars = 0
    per = -(-docs // files)
    for f in range(files):
        n = min(per, docs - f * per)
        texts = [
            "\n\n".join(rng.sample(pool, rng.randint(1, 4))) + f"\n\nPage {rng.randint(0, 10**6)}."
            for _ in range(n)
        ]
        chars += sum(len(t) for t in texts)
        ids = [f"{seed}-{f}-{i}" for i in range(n)]
        table = pa.table({"id": ids, "text": pa.array(texts, pa.large_string())})
        pq.write_table(table, out / f"part-{f:05d}.parquet", row_group_size=ROW_GROUP, compression="zstd")
    return chars


# Runs `-m module ...` or `-c code ...` and prints the process's own peak RSS (VmHWM) at exit. The
# wait4 rusage of a child is no good for this: on Linux its ru_maxrss counts the memory of the
# process it was forked from (this one, holding the corpus) until its exec.
PEAK_RSS = """
import atexit, os, runpy, sys
def peak():
    with open("/proc/self/status") as f:
        kib = [line.split()[1] for line in f if line.startswith("VmHWM:")]
    print(f"peak-rss-kib {kib[0]}", file=sys.stderr, flush=True)
atexit.register(peak)
quick_exit = os._exit  # `llmcli tokenize` ends with os._exit (curate.quick_exit): no atexit then
os._exit = lambda code: (peak(), quick_exit(code))
mode, target, *sys.argv = sys.argv[1:]
if mode == "-m":
    sys.argv.insert(0, target)
    runpy.run_module(target, run_name="__main__", alter_sys=True)
else:
    sys.argv.insert(0, "-c")
    exec(compile(target, "<string>", "exec"), {"__name__": "__main__"})
"""


def run_child(args: list[str], cwd: Path = ROOT) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB) and stdout of a fresh Python process (`args`: -m or -c first)."""
    t0 = time.perf_counter()
    cmd = [sys.executable, "-c", PEAK_RSS, *args] if sys.platform == "linux" else [sys.executable, *args]
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = (b.decode() for b in proc.communicate())
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"child failed: {' '.join(args)}\n{err[-3000:]}")
    peak = [line.split()[1] for line in err.splitlines() if line.startswith("peak-rss-kib ")]
    return wall, int(peak[-1]) / 1024 if peak else float("nan"), out


def raw_encode(tok_path: Path, in_dir: Path, repeat: int) -> dict:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tok_path))
    tok.encode_special_tokens = True
    texts = [
        t
        for p in sorted(in_dir.glob("*.parquet"))
        for t in pq.read_table(p, columns=["text"]).column(0).to_pylist()
    ]
    out = {}
    for name in ("encode_batch", "encode_batch_fast"):
        fn = getattr(tok, name)
        best = float("inf")
        for _ in range(repeat):  # best of `repeat`: the machine may be shared
            t0 = time.perf_counter()
            n = 0
            for lo in range(0, len(texts), ROW_GROUP):
                n += sum(len(e.ids) for e in fn(texts[lo : lo + ROW_GROUP], add_special_tokens=False))
            best = min(best, time.perf_counter() - t0)
        out[name] = (n + len(texts), best)  # + one EOT per document, as written
    return out


DATATROVE = """
import sys
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.readers import ParquetReader
from datatrove.pipeline.tokens import DocumentTokenizer
inp, out, tok, logs = sys.argv[1:5]
LocalPipelineExecutor(
    pipeline=[
        ParquetReader(inp, glob_pattern="*.parquet", id_key="id", text_key="text"),
        DocumentTokenizer(out, local_working_dir=None, tokenizer_name_or_path=tok, eos_token="<|endoftext|>",
                          shuffle_documents=False, save_filename="tok"),
    ],
    tasks=1, workers=1, logging_dir=logs, skip_completed=False,
).run()
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=10_000)
    ap.add_argument(
        "--input", type=Path, default=None, help="Parquet files (`text` column) instead of generated prose"
    )
    ap.add_argument("--files", type=int, default=4)
    ap.add_argument("--scale", type=int, default=10, help="the larger corpus is this many times the first")
    ap.add_argument(
        "--tokenizer", type=Path, default=None, help="a tokenizer.json (default: train a 32k BPE)"
    )
    ap.add_argument("--workers", type=int, default=1, help="workers of `llmcli tokenize`")
    ap.add_argument("--repeat", type=int, default=3, help="best of this many interleaved rounds")
    ap.add_argument("--skip-datatrove", action="store_true")
    ap.add_argument("--keep", type=Path, default=None, help="work here instead of a temp dir")
    ap.add_argument(
        "--also",
        type=Path,
        default=None,
        help="a source tree (e.g. a `git archive` of an earlier revision) whose `llmcli tokenize` runs too",
    )
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-tokenize-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        in1 = args.input.resolve() if args.input else work / "in1"  # absolute: --also runs elsewhere
        if args.input:
            texts = [
                t
                for p in sorted(in1.glob("*.parquet"))
                for t in pq.read_table(p, columns=["text"])["text"].to_pylist()
            ]
            print(f"corpus {in1}: {len(texts):,} docs, {sum(len(t or '') for t in texts) / 1e6:.1f} M chars")
            del texts
        else:
            t0 = time.perf_counter()
            chars = write_corpus(in1, args.docs, args.files, seed=1)
            print(
                f"corpus 1x: {args.docs:,} docs, {chars / 1e6:.1f} M chars ({time.perf_counter() - t0:.1f}s to generate)"
            )
        tok_path = args.tokenizer
        if tok_path is None:
            t0 = time.perf_counter()
            paths = sorted(str(p) for p in in1.glob("*.parquet"))
            tok = train_tokenizer(training_texts(paths, TrainingSample(5000, 1 << 30, 0)), 32000, 2, (EOT,))
            tok_path = work / "tokenizer.json"
            tok.save(str(tok_path))
            print(
                f"trained a {tok.get_vocab_size():,}-token BPE on 5,000 docs in {time.perf_counter() - t0:.1f}s"
            )

        def ours(inp: Path, out: Path, tree: Path = ROOT) -> tuple[float, float, dict]:
            shutil.rmtree(out, ignore_errors=True)  # from scratch: no resume state
            cmd = [
                "-m",
                "cli",
                "tokenize",
                "--input",
                str(inp),
                "--out",
                str(out),
                "--tokenizer",
                str(tok_path),
            ]
            wall, rss, _ = run_child(cmd + ["--workers", str(args.workers)], cwd=tree)
            return wall, rss, json.loads((out / "meta.json").read_text())

        def datatrove() -> tuple[float, float]:
            shutil.rmtree(work / "dt", ignore_errors=True)
            dt_args = [
                "-c",
                DATATROVE,
                str(in1),
                str(work / "dt"),
                str(tok_path),
                str(work / "dt-logs"),
            ]
            return run_child(dt_args)[:2]

        # Interleaved rounds, best of each: on a shared machine the load changes minute to minute.
        raw: dict[str, tuple[int, float]] = {}
        ours_runs, dt_runs, also_runs = [], [], []
        for _ in range(args.repeat):
            for name, (n, s) in raw_encode(tok_path, in1, 1).items():
                raw[name] = (n, min(s, raw.get(name, (0, float("inf")))[1]))
            ours_runs.append(ours(in1, work / "out1"))
            if args.also:
                also_runs.append(ours(in1, work / "out-also", args.also))
            if not args.skip_datatrove:
                dt_runs.append(datatrove())
        for name, (n, s) in raw.items():
            print(f"raw {name:<18} {n:>12,} tokens {s:7.2f}s {n / s:>12,.0f} tok/s")
        raw_tokens = raw["encode_batch"][0]
        wall = min(r[0] for r in ours_runs)
        rss1, meta = max(r[1] for r in ours_runs), ours_runs[-1][2]
        assert meta["tokens"] == raw_tokens, (meta["tokens"], raw_tokens)  # the same tokens, all written
        ours_tps = meta["tokens"] / wall
        print(
            f"ours (end to end)      {meta['tokens']:>12,} tokens {wall:7.2f}s {ours_tps:>12,.0f} tok/s"
            f"  peak RSS {rss1:,.0f} MiB"
        )
        for name, (n, s) in raw.items():
            print(f"  ratio ours / raw {name:<18} {ours_tps / (n / s):.2f}x  (target >= 0.85x encode_batch)")
        if also_runs:
            wall_also, meta_also = min(r[0] for r in also_runs), also_runs[-1][2]
            assert meta_also["tokens"] == raw_tokens, (meta_also["tokens"], raw_tokens)
            print(
                f"{args.also} (end to end) {wall_also:.2f}s: {raw['encode_batch'][1] / wall_also:.2f}x raw encode_batch;"
                f" ours / it {wall_also / wall:.2f}x  (rounds: ours {' '.join(f'{r[0]:.2f}' for r in ours_runs)},"
                f" it {' '.join(f'{r[0]:.2f}' for r in also_runs)})"
            )
        if dt_runs:
            wall_dt, rss_dt = min(r[0] for r in dt_runs), max(r[1] for r in dt_runs)
            dt_tps = raw_tokens / wall_dt
            print(
                f"datatrove              {raw_tokens:>12,} tokens {wall_dt:7.2f}s {dt_tps:>12,.0f} tok/s"
                f"  peak RSS {rss_dt:,.0f} MiB"
            )
            print(f"  ratio ours / datatrove {ours_tps / dt_tps:.2f}x  (target >= 1.5x)")

        if args.scale > 1 and not args.input:
            n10 = args.docs * args.scale
            chars10 = write_corpus(work / "in10", n10, args.files * args.scale, seed=2)
            wall10, rss10, meta10 = ours(work / "in10", work / "out10")
            print(
                f"ours at {args.scale}x: {n10:,} docs, {chars10 / 1e6:.0f} M chars, {meta10['tokens']:,} tokens "
                f"{wall10:.1f}s {meta10['tokens'] / wall10:,.0f} tok/s  peak RSS {rss10:,.0f} MiB "
                f"(1x: {rss1:,.0f} MiB, ratio {rss10 / rss1:.2f})"
            )
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

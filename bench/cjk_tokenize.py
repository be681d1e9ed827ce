"""The chunk cache (curate.tokenization.bpe.ChunkEncoder) on Chinese and Japanese text, in process.

CJK text rarely has whitespace: cut only there, chunks are whole clauses, mostly new to the
cache; ChunkEncoder also cuts where letters, numbers and punctuation meet (chunk_pattern). On the
translated man pages of bench/cjk_corpus.py, with a 32k byte-level BPE trained on them, this
prints how many chunks each cut gives and how much of the text is new to the cache, then characters/s of
tokenizers' `encode_batch_fast`, of a cold ChunkEncoder (a fresh cache per round: every chunk is
new the first time) and of a warm one (the same texts again), best of 5 interleaved rounds, and
checks the ids are tokenizers' own. bench/tokenization.py --input gives the end-to-end figure.

    .venv/bin/python bench/cjk_corpus.py --parquet runs/bench-cjk/parquet
    .venv/bin/python bench/cjk_tokenize.py [--input runs/bench-cjk/parquet]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curate.tokenization.bpe import WHITESPACE, ChunkEncoder, chunk_pattern, train_tokenizer  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", type=Path, default=ROOT / "runs" / "bench-cjk" / "parquet")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    texts = []
    for part in sorted(args.input.glob("*.parquet")):
        texts += pq.read_table(part, columns=["text"]).column(0).to_pylist()
    chars = sum(map(len, texts))
    tok = train_tokenizer(iter(texts), 32000)
    batches = [texts[i : i + 64] for i in range(0, len(texts), 64)]
    print(f"{len(texts)} texts, {chars / 1e6:.1f} M chars")
    space_cut = re.compile(f"[{WHITESPACE}]*[^{WHITESPACE}]+|[{WHITESPACE}]+")  # the cut before issue 15
    for name, cut in (("whitespace cut", space_cut), ("chunk_pattern", chunk_pattern())):
        chunks = [c for t in texts for c in cut.findall(t)]
        first = sum(map(len, dict.fromkeys(chunks)))  # characters in first occurrences: BPE's work
        print(
            f"  {name}: {len(chunks)} chunks, {len(set(chunks)) / len(chunks):.0%} distinct, "
            f"{sum(map(len, chunks)) / len(chunks):.1f} chars each, {first / chars:.0%} of the text new"
        )
    check = ChunkEncoder(tok, np.uint16)
    assert [x for b in batches for x in check.encode(b)] == [
        x for b in batches for x in check.encode_whole(b)
    ]
    best = {"raw encode_batch_fast": 9e9, "ChunkEncoder cold": 9e9, "ChunkEncoder warm": 9e9}
    for _ in range(args.rounds):
        t = time.perf_counter()
        for b in batches:
            tok.encode_batch_fast(b, add_special_tokens=False)
        best["raw encode_batch_fast"] = min(best["raw encode_batch_fast"], time.perf_counter() - t)
        enc = ChunkEncoder(tok, np.uint16)
        for key in ("ChunkEncoder cold", "ChunkEncoder warm"):
            t = time.perf_counter()
            for b in batches:
                enc.encode(b)
            best[key] = min(best[key], time.perf_counter() - t)
    raw = best["raw encode_batch_fast"]
    for key, secs in best.items():
        print(f"{key:22s} {chars / secs / 1e6:6.2f} M chars/s  {raw / secs:5.2f}x raw")


if __name__ == "__main__":
    main()

"""The chunk cache (curate.tokenization.chunks.ChunkEncoder) on Chinese and Japanese text, in process.

CJK text rarely has whitespace: cut only there, chunks are whole clauses, mostly new to the
cache; ChunkEncoder also cuts where letters, numbers and punctuation meet (chunk_pattern). On the
translated man pages of bench/cjk_corpus.py, with a 32k byte-level BPE trained on them, this
prints how many chunks each cut gives and how much of the text is new to the cache, then characters/s of
tokenizers' `encode_batch_fast`, of a cold ChunkEncoder (a fresh cache per round: every chunk is
new the first time) and of a warm one (the same texts again), fed as `llmcli tokenize` feeds it
(`encode_stream` over batches of 512 documents), best of 5 interleaved rounds, and
checks the ids are tokenizers' own. bench/tokenization.py --input gives the end-to-end figure.
It also prints how many places inside runs of Han/Kana (non-ASCII) letters no merge of the BPE
can join across (letter_cut_stats: a cut tried there did not pay, see bench/RESULTS.md).

    .venv/bin/python bench/cjk_corpus.py --parquet runs/bench-cjk/parquet
    .venv/bin/python bench/cjk_tokenize.py [--input runs/bench-cjk/parquet]
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curate.tokenization.bpe import train_tokenizer  # noqa: E402
from curate.tokenization.chunks import ChunkEncoder, chunk_pattern  # noqa: E402
from curate.tokenization.pieces import WHITESPACE  # noqa: E402


def byte_chars() -> dict[int, str]:
    """GPT-2's byte-level alphabet (tokenizers' ByteLevel): byte -> the character its merges use."""
    bs = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:  # the others: 256, 257, ... in byte order
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def letter_cut_stats(tok, texts: list[str]) -> str:
    """Places between two letters of the basic plane outside ASCII, inside chunk_pattern's letter
    runs, where no merge (A, B) of `tok` has A ending with the bytes of the letter before (or A a
    suffix of them) and B starting with those of the letter after (or B a prefix of them): BPE
    never joins the two sides there, so a cut there keeps the ids. With how much of the text the
    distinct non-ASCII letter runs hold, whole and cut at those places (what BPE has to encode)."""
    meets: dict[str, set[str]] = {}
    for m in json.loads(tok.to_str())["model"]["merges"]:
        a, b = m.split(" ", 1) if isinstance(m, str) else m
        right = {b[:2], b[:3]} if len(b) >= 2 else set()
        right |= {"\0" + b} if len(b) < 3 else set()
        for key in ({a[-2:], a[-3:]} if len(a) >= 2 else set()) | ({"\0" + a} if len(a) < 3 else set()):
            meets.setdefault(key, set()).update(right)
    bc = byte_chars()

    @functools.cache
    def safe(c1: str, c2: str) -> bool:
        b1, b2 = ("".join(bc[x] for x in c.encode()) for c in (c1, c2))
        ends = [b1, *("\0" + b1[-k:] for k in range(1, len(b1)))]
        starts = {b2, *("\0" + b2[:k] for k in range(1, len(b2)))}
        return all(starts.isdisjoint(meets.get(k, ())) for k in ends)

    places = cuts = 0
    runs, pieces = set(), set()
    for text in texts:
        for chunk in chunk_pattern().findall(text):
            run = chunk.lstrip()
            if chunk.isascii() or len(run) < 2 or not run.isalpha() or max(run) > "\uffff":
                continue
            runs.add(chunk)
            at = [i for i in range(1, len(run)) if run[i - 1] > "\x7f" < run[i] and safe(run[i - 1], run[i])]
            places += sum(run[i - 1] > "\x7f" < run[i] for i in range(1, len(run)))
            cuts += len(at)
            lead = len(chunk) - len(run)
            ends = [lead + i for i in at]
            pieces.update(chunk[a:b] for a, b in zip([0, *ends], [*ends, len(chunk)]))
    chars = sum(map(len, texts))
    return (
        f"  letter runs: {cuts / max(places, 1):.0%} of {places / 1e6:.2f} M places between non-ASCII letters "
        f"no merge joins; distinct runs {sum(map(len, runs)) / chars:.0%} of the text, "
        f"cut there {sum(map(len, pieces)) / chars:.0%}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", type=Path, default=ROOT / "runs" / "bench-cjk" / "parquet")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--batch", type=int, default=512, help="texts per batch (as llmcli tokenize reads them)")
    args = ap.parse_args()
    texts = []
    for part in sorted(args.input.glob("*.parquet")):
        texts += pq.read_table(part, columns=["text"]).column(0).to_pylist()
    chars = sum(map(len, texts))
    tok = train_tokenizer(iter(texts), 32000)
    batches = [texts[i : i + args.batch] for i in range(0, len(texts), args.batch)]
    print(f"{len(texts)} texts, {chars / 1e6:.1f} M chars")
    space_cut = re.compile(f"[{WHITESPACE}]*[^{WHITESPACE}]+|[{WHITESPACE}]+")  # the cut before issue 15
    for name, cut in (("whitespace cut", space_cut), ("chunk_pattern", chunk_pattern())):
        chunks = [c for t in texts for c in cut.findall(t)]
        first = sum(map(len, dict.fromkeys(chunks)))  # characters in first occurrences: BPE's work
        print(
            f"  {name}: {len(chunks)} chunks, {len(set(chunks)) / len(chunks):.0%} distinct, "
            f"{sum(map(len, chunks)) / len(chunks):.1f} chars each, {first / chars:.0%} of the text new"
        )
    print(letter_cut_stats(tok, texts))
    check = ChunkEncoder(tok, np.uint16)
    assert [x for b in batches for x in check.encode(b)] == [
        x for b in batches for x in check.encode_whole(b)
    ]
    best = {
        "raw encode_batch": 9e9,
        "raw encode_batch_fast": 9e9,
        "ChunkEncoder cold": 9e9,
        "ChunkEncoder warm": 9e9,
    }
    for _ in range(args.rounds):
        t = time.perf_counter()
        for b in batches:
            tok.encode_batch(b, add_special_tokens=False)
        best["raw encode_batch"] = min(best["raw encode_batch"], time.perf_counter() - t)
        t = time.perf_counter()
        for b in batches:
            tok.encode_batch_fast(b, add_special_tokens=False)
        best["raw encode_batch_fast"] = min(best["raw encode_batch_fast"], time.perf_counter() - t)
        enc = ChunkEncoder(tok, np.uint16)
        for key in ("ChunkEncoder cold", "ChunkEncoder warm"):
            t = time.perf_counter()
            for _ in enc.encode_stream(iter(batches)):
                pass
            best[key] = min(best[key], time.perf_counter() - t)
    raw, fast = best["raw encode_batch"], best["raw encode_batch_fast"]
    for key, secs in best.items():
        print(
            f"{key:22s} {chars / secs / 1e6:6.2f} M chars/s  {raw / secs:5.2f}x encode_batch  {fast / secs:5.2f}x _fast"
        )


if __name__ == "__main__":
    main()

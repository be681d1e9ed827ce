"""PII redaction speed vs datatrove's PIIFormatter, and detection quality on the gold set.

    .venv/bin/python bench/pii.py [--input 'runs/web/01_ingest/*.parquet'] [--gold-docs 2400] [--repeat 3]

Corpora, each timed in one process (so MB/s is per core; MB are UTF-8 bytes of text):
  web    the sample crawl's pages, extracted with resiliparse as the ingest stage does (built under
         a temporary directory), or the `text` column of the Parquet files given with --input
  readme real text: the METADATA (README, authors' addresses) of every installed Python package
  zh-man real Chinese text: Debian's translated man pages (/usr/share/man/zh_CN), when installed
  gold   the seeded zh/en gold set (scripts.pii_gold, seed 0): PII-dense text (~4 items per 600 bytes)
Ours is `curate.pii.Redactor` with every type on (email, phone, ID, card, IP, key); datatrove's
`PIIFormatter` replaces emails and IPv4 only. Best of --repeat rounds, the two interleaved.
Then recall per type, precision and the hard-negative hit rate on the full gold set.
Targets (issue 16): >= 15 MB/s per core on web text, >= 3x datatrove; recall >= 0.99 (ID, card),
>= 0.98 (email, phone, IP, key); precision >= 0.98.
"""

from __future__ import annotations

import argparse
import glob
import gzip
import importlib.metadata
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # bench/ would shadow standard modules (see bench/filter.py)

import pyarrow.parquet as pq  # noqa: E402

from curate.extract import decode_html, extract_text  # noqa: E402
from curate.pii import Redactor  # noqa: E402
from curate.readers import read_warc  # noqa: E402
from curate.stats import ShardStats  # noqa: E402
from scripts.pii_gold import build_gold, score  # noqa: E402
from scripts.sample_crawl import build_sample_crawl  # noqa: E402

ZH_MAN = "/usr/share/man/zh_CN"


def web_texts(inputs: list[str]) -> list[str]:
    if inputs:
        return [t for p in inputs for t in pq.read_table(p, columns=["text"]).column("text").to_pylist() if t]
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in build_sample_crawl(Path(tmp)):
            for r in read_warc(str(path), ShardStats(), 1 << 30):
                if r.status == 200 and (r.content_type or "").startswith("text/html"):
                    html, _ = decode_html(r.payload, r.charset)
                    text = extract_text(html)
                    if text:
                        out.append(text)
    return out


def time_ours(texts: list[str]) -> tuple[float, Counter]:
    r = Redactor({})
    counts: Counter = Counter()
    start = time.perf_counter()
    for t in texts:
        counts.update(r.redact(t)[1])
    return time.perf_counter() - start, counts


def time_datatrove(texts: list[str]) -> tuple[float, Counter]:
    from datatrove.pipeline.formatters.pii import PIIFormatter

    f = PIIFormatter()
    start = time.perf_counter()
    outs = [f.format(t) for t in texts]
    elapsed = time.perf_counter() - start
    # what it replaced: its replacement strings, counted in the output beyond the input
    counts: Counter = Counter()
    for kind, reps in (("email", f.emails_replacer.replacements), ("ip", f.ip_replacer.replacements)):
        for t, o in zip(texts, outs):
            counts[kind] += sum(o.count(x) - t.count(x) for x in reps)
    return elapsed, counts


def bench(name: str, texts: list[str], repeat: int) -> dict:
    mb = sum(len(t.encode()) for t in texts) / 1e6
    ours = dt = float("inf")
    for _ in range(repeat):
        s, ours_counts = time_ours(texts)
        ours = min(ours, s)
        s, dt_counts = time_datatrove(texts)
        dt = min(dt, s)
    print(f"{name}: {len(texts)} documents, {mb:.2f} MB")
    print(f"  ours       {ours:7.3f} s  {mb / ours:7.1f} MB/s  replaced {dict(sorted(ours_counts.items()))}")
    print(f"  datatrove  {dt:7.3f} s  {mb / dt:7.1f} MB/s  replaced {dict(sorted(dt_counts.items()))}")
    print(f"  ours is {dt / ours:.1f}x faster")
    return {"mb": mb, "ours_mb_s": mb / ours, "datatrove_mb_s": mb / dt, "ratio": dt / ours}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--input", default="", help="glob of Parquet files with a text column (default: the sample crawl)"
    )
    ap.add_argument("--gold-docs", type=int, default=2400)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    web = web_texts(sorted(glob.glob(args.input)) if args.input else [])
    gold = build_gold(args.gold_docs, seed=0)
    readme = [d.read_text("METADATA") or "" for d in importlib.metadata.distributions()]
    zh_man = [gzip.open(p, "rt", errors="replace").read() for p in sorted(Path(ZH_MAN).glob("man*/*.gz"))]
    results = {
        "web": bench("web", web, args.repeat),
        "readme": bench("readme", [t for t in readme if t], args.repeat),
        **({"zh-man": bench("zh-man", zh_man, args.repeat)} if zh_man else {}),
        "gold": bench("gold", [d["text"] for d in gold], args.repeat),
    }
    res = score(gold, Redactor({}).spans)
    print(
        f"gold set: {len(gold)} documents, {sum(res['spans'].values())} PII spans, {res['hard_negatives']} hard negatives"
    )
    for t, r in res["recall"].items():
        print(f"  recall {t:10s} {r:.4f}  ({res['spans'][t]} spans)")
    print(f"  precision {res['precision']:.4f} ({res['false_positives']} false positives)")
    print(f"  hard negatives hit {res['hard_negative_hit_rate']:.4f}")
    results["gold_scores"] = res
    print(json.dumps({k: v for k, v in results.items() if k != "gold_scores"}))


if __name__ == "__main__":
    main()

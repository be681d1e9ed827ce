"""Report benchmark: the report's two scans against the obvious way of doing them.

    .venv/bin/python bench/report_scans.py [--docs 100000] [--chars 500]

Generates one stage directory (kept and removed shards, 2,000-row row groups). Removal
examples: `removed_examples` (reason column first, text only for matching row groups) against
reading every removed document and picking. Corpus mix: `corpus_mix` (lang/domain/text columns
in Arrow) against streaming every document as a dict. Prints docs/s of each and the ratio.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from curate.document import iter_documents  # noqa: E402
from curate.report import corpus_mix, removed_examples, snippet  # noqa: E402

WORDS = "the of and to in is that for data model web page crawl river city music garden".split()


def make_stage(stage_dir: Path, docs: int, chars: int, shards: int = 4) -> list[str]:
    rng = random.Random(0)
    (stage_dir / "removed").mkdir(parents=True)
    reasons = ["gopher_short_doc"] * 8 + ["c4_lorem"] + ["fineweb_line_punct"]
    per = docs // shards
    for s in range(shards):
        words = [rng.choice(WORDS) for _ in range(chars // 4)]
        text = " ".join(words)
        kept = pa.table(
            {
                "id": [f"k{s}-{i}" for i in range(per)],
                "text": pa.array([text] * per, pa.large_string()),
                "domain": [f"site{rng.randrange(300)}.com" for _ in range(per)],
                "lang": [rng.choice(["en", "de", "fr", "es"]) for _ in range(per)],
            }
        )
        pq.write_table(kept, stage_dir / f"part-{s:05d}.parquet", row_group_size=2000, compression="zstd")
        rs = [rng.choice(reasons) for _ in range(per)]
        if s == shards - 1:
            rs[-3:] = ["rare_reason"] * 3  # found only at the very end
        removed = kept.drop_columns(["domain", "lang"]).append_column("reason", pa.array(rs))
        removed = removed.append_column("url", pa.array([f"https://x/{i}" for i in range(per)]))
        pq.write_table(removed, stage_dir / "removed" / f"part-{s:05d}.parquet", row_group_size=2000)
    return sorted(set(reasons)) + ["rare_reason"]


def naive_examples(stage_dir: Path, reasons: list[str]) -> dict:
    out: dict[str, list] = {r: [] for r in reasons}
    for path in sorted((stage_dir / "removed").glob("part-*.parquet")):
        for d in pq.read_table(path).to_pylist():
            if len(out[d["reason"]]) < 3:
                out[d["reason"]].append({"id": d["id"], "url": d["url"], "snippet": snippet(d["text"])})
    return out


def naive_mix(stage_dir: Path) -> tuple[Counter, Counter, int]:
    langs, domains, chars = Counter(), Counter(), 0
    for path in sorted(stage_dir.glob("part-*.parquet")):
        for d in iter_documents(path):
            langs[d["lang"]] += 1
            domains[d["domain"]] += 1
            chars += len(d["text"])
    return langs, domains, chars


def timed(fn, *args) -> tuple[float, object]:
    t0 = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - t0, result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=100_000, help="documents kept and documents removed")
    ap.add_argument("--chars", type=int, default=500)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="llmcli-bench-report-"))
    try:
        stage_dir = tmp / "01_filter"
        reasons = make_stage(stage_dir, args.docs, args.chars)
        n = args.docs
        t_ours, ours = timed(removed_examples, stage_dir, reasons)
        t_naive, naive = timed(naive_examples, stage_dir, reasons)
        assert {r: [e["id"] for e in v] for r, v in ours.items()} == {
            r: [e["id"] for e in v] for r, v in naive.items()
        }
        print(
            f"removal examples  ours {n / t_ours:>12,.0f} removed docs/s   anchor (read all) "
            f"{n / t_naive:>12,.0f} docs/s   ratio {t_naive / t_ours:.1f}x"
        )
        t_ours, mix = timed(corpus_mix, stage_dir)
        t_naive, (langs, _, chars) = timed(naive_mix, stage_dir)
        assert mix["lang"] == dict(langs) and mix["chars"] == chars
        print(
            f"corpus mix        ours {n / t_ours:>12,.0f} kept docs/s      anchor (dicts)   "
            f"{n / t_naive:>12,.0f} docs/s   ratio {t_naive / t_ours:.1f}x"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

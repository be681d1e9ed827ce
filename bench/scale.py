"""Scaling benchmark: the curation pipeline on generated documents, 1 vs 2 workers, local vs Ray.

    .venv/bin/python bench/scale.py                      # 10^4 and 10^5 documents
    .venv/bin/python bench/scale.py --docs 100000 1000000 --ray

Prints docs/s, peak RSS (of the driver and its workers) and scaling efficiency
(docs/s with 2 workers / (2 x docs/s with 1 worker)). Every stage that is registered and
listed in STAGES below runs, so the figure covers ingest .. tokenize once they exist.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

WORDS = (
    "the of and to in is that for it with as was on be by at this from have or an are not but which "
    "data model training corpus language text web page crawl filter quality token shard document river "
    "mountain city history science music garden kitchen recipe market energy water school health travel"
).split()

STAGES = """
          - ingest: {}
          - filter: {min_chars: 200}
          - dedup: {exact: true, minhash: {ngram: 5, bands: 14, rows: 8}}
          - decontaminate: {benchmarks: [humaneval], ngram: 13, mode: drop}
          - resample: {key: domain, weights: {"*": 1.0}, seed: 0}
          - tokenize: {vocab_size: 4096, shard_tokens: 10000000, val_fraction: 0.005}
"""


def generate(path: Path, n_docs: int, files: int, seed: int = 0) -> None:
    """~1 KB documents with 5% near-duplicates, spread over `files` JSONL files."""
    rng = random.Random(seed)
    path.mkdir(parents=True, exist_ok=True)
    outs = [open(path / f"docs-{i:03d}.jsonl", "w") for i in range(files)]
    previous: list[str] = []
    for i in range(n_docs):
        if previous and rng.random() < 0.05:
            words = rng.choice(previous).split()
            words[rng.randrange(len(words))] = rng.choice(WORDS)
            text = " ".join(words)
        else:
            sentences = []
            for _ in range(12):
                sent = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 16)))
                sentences.append(sent.capitalize() + ".")
            text = " ".join(sentences)
            if len(previous) < 1000:
                previous.append(text)
        rec = {"text": text, "url": f"https://site{i % 50}.example.com/{i}"}
        outs[i % files].write(json.dumps(rec) + "\n")
    for f in outs:
        f.close()


def available_stages() -> str:
    from curate.stage import STAGES as REGISTRY
    from curate.stage import load_stage_modules

    load_stage_modules()
    lines = [ln for ln in STAGES.strip("\n").splitlines() if ln.split(":")[0].strip(" -") in REGISTRY]
    return "\n".join(lines)


def run_once(data: Path, work: Path, workers: int, executor: str) -> dict:
    cfg = work / "p.yaml"
    cfg.write_text(
        textwrap.dedent(f"""
        name: scale
        workdir: {work / "run"}
        input: {{paths: ["{data}/*.jsonl"], format: jsonl}}
        executor: {{type: {executor}, workers: {workers}}}
        stages:
""")
        + available_stages()
        + "\n"
    )
    code = (
        "import resource, sys, time\n"
        "from curate.pipeline import load_pipeline\nfrom curate.runner import Pipeline\n"
        "t = time.perf_counter(); Pipeline(load_pipeline(sys.argv[1]), verbose=False).run()\n"
        "print('SECONDS', time.perf_counter() - t)\n"
        "print('RSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,"
        " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(cfg)], cwd=REPO, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"pipeline failed:\n{out.stderr[-3000:]}")
    seconds = float(out.stdout.split("SECONDS")[1].split()[0])
    rss_self, rss_children = (int(x) for x in out.stdout.split("RSS")[1].split()[:2])
    return {"seconds": seconds, "peak_rss_mb": max(rss_self, rss_children) / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--files", type=int, default=8, help="input files (= shards)")
    ap.add_argument("--ray", action="store_true", help="also run the Ray executor with 2 workers")
    args = ap.parse_args()
    print(f"stages: {', '.join(ln.split(':')[0].strip(' -') for ln in available_stages().splitlines())}")
    print(
        f"{'docs':>9} {'executor':>8} {'workers':>7} {'seconds':>8} {'docs/s':>9} {'peak RSS MB':>11} {'eff.':>5}"
    )
    for n in args.docs:
        tmp = Path(tempfile.mkdtemp(prefix="llmcli-scale-"))
        try:
            generate(tmp / "data", n, args.files)
            base = None
            runs = [("local", 1), ("local", 2)] + ([("ray", 2)] if args.ray else [])
            for executor, workers in runs:
                work = tmp / f"{executor}{workers}"
                work.mkdir()
                r = run_once(tmp / "data", work, workers, executor)
                rate = n / r["seconds"]
                base = rate if workers == 1 else base
                eff = f"{rate / (workers * base):.2f}" if base else "-"
                print(
                    f"{n:>9} {executor:>8} {workers:>7} {r['seconds']:>8.1f} {rate:>9.0f} "
                    f"{r['peak_rss_mb']:>11.0f} {eff:>5}",
                    flush=True,
                )
                shutil.rmtree(work)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"(driver max RSS of this script: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB;"
        f" {time.strftime('%Y-%m-%d')})"
    )


if __name__ == "__main__":
    main()

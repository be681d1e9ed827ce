"""Quality-filter throughput on Chinese vs English, in CPU seconds, this tree against another revision.

bench/cjk.py's speed section times wall clock; on a shared machine other processes' load moves
its ratios by +-0.1 from run to run. This times each run with process CPU time (what the filters
cost, not how long the scheduler made them wait), best of `--repeats`, in separate processes for
each tree, alternating their order every round. Same pages and families as bench/cjk.py: the
Chinese translations of manpages-zh and their English originals, the web cascade and every family
on every page.

    git archive HEAD~3 curate bench | tar -x -C /tmp/base && mkdir -p /tmp/base/runs && \\
      ln -s "$PWD/runs/bench-cjk" /tmp/base/runs/bench-cjk
    .venv/bin/python bench/cjk_filter_speed.py --base /tmp/base --rounds 3
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_ONE = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from bench.cjk import WEB, mb, ours, translated
from bench.cjk_corpus import build
from curate.filters import QUALITY_FAMILIES, DocView
import curate.filters as cf
assert cf.__file__.startswith(sys.argv[1]), cf.__file__
sub = translated(build(), "zh")
zh, en = [r["text"] for r in sub], [r["en"] for r in sub]
web, every = ours(WEB), [QUALITY_FAMILIES[f][0]() for f in WEB]
def all_families(texts, lang):
    for t in texts:
        view = DocView({"text": t, "lang": lang})
        for f in every:
            f.check(view)
runs = {
    "web zh": (lambda: [web(t, "zh") for t in zh], zh), "web en": (lambda: [web(t, "en") for t in en], en),
    "every zh": (lambda: all_families(zh, "zh"), zh), "every en": (lambda: all_families(en, "en"), en),
}
best = dict.fromkeys(runs, float("inf"))
for _ in range(int(sys.argv[2])):
    for k, (fn, _) in runs.items():
        t = time.process_time()
        fn()
        best[k] = min(best[k], time.process_time() - t)
print(json.dumps({k: mb(texts) / best[k] for k, (_, texts) in runs.items()}))
"""


def measure(root: Path, repeats: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _ONE, str(root), str(repeats)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=Path, help="another revision's tree (curate/, bench/, runs/bench-cjk)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    trees = {"this tree": ROOT} | ({"base": args.base.resolve()} if args.base else {})
    results: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    for r in range(args.rounds):
        for name in list(trees)[:: 1 if r % 2 == 0 else -1]:
            results[name].append(measure(trees[name], args.repeats))
    for name, rs in results.items():
        best = {k: max(x[k] for x in rs) for k in rs[0]}
        web = [round(x["web zh"] / x["web en"], 2) for x in rs]
        every = [round(x["every zh"] / x["every en"], 2) for x in rs]
        print(
            f"{name:9s}: "
            + ", ".join(f"{k} {v:.2f}" for k, v in best.items())
            + " MB/s per CPU second (best); "
            f"zh/en web cascade {best['web zh'] / best['web en']:.2f} (rounds {web}), "
            f"every family {best['every zh'] / best['every en']:.2f} (rounds {every})"
        )


if __name__ == "__main__":
    main()

"""Every quality-filter decision on the CJK bench corpus, to check that a speed-up changes none.

Pages: Debian's manpages-zh / manpages-ja translations and their English originals
(bench/cjk_corpus.py), each with its own `lang`, with none, labelled `en` (the mixed-page path),
the English originals as `en` and as `zh`, and bench/cjk.py's keyword-stuffed spam. For each: the
reason of the web cascade and of FineWeb-2's, each family's reason alone, C4's rewritten text (a
digest) and lines dropped, and every family's reason in turn on the text C4 leaves.

    .venv/bin/python bench/cjk_decisions.py dump /tmp/before.json    # on the old revision
    .venv/bin/python bench/cjk_decisions.py dump /tmp/after.json     # on the new one
    .venv/bin/python bench/cjk_decisions.py compare /tmp/before.json /tmp/after.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.cjk import FW2, WEB, ours, spam_pages  # noqa: E402
from bench.cjk_corpus import build  # noqa: E402
from curate.filters import QUALITY_FAMILIES, DocView  # noqa: E402


def pages() -> list[tuple[str, str, str | None]]:
    rows = build()
    out = []
    for r in rows:
        key = r["name"] + r["lang"]
        out += [
            (key, r["text"], r["lang"]),
            (key + "/none", r["text"], None),
            (key + "/en-label", r["text"], "en"),
        ]
        if r.get("en"):
            out += [(key + "/en", r["en"], "en"), (key + "/en-as-zh", r["en"], "zh")]
    for lang in ("zh", "ja"):
        out += [(f"spam{lang}{i}", t, lang) for i, t in enumerate(spam_pages(rows, lang, 200, seed=1))]
    return out


def dump(path: str) -> None:
    web, fw2 = ours(WEB), ours(FW2)
    single = {f: QUALITY_FAMILIES[f][0]() for f in WEB}
    out = {}
    for key, text, lang in pages():
        rec = {"web": web(text, lang), "fw2": fw2(text, lang)}
        for name, flt in single.items():
            view = DocView({"text": text, "lang": lang})
            rec[name] = flt.check(view)
            if name == "c4":
                rec["c4_text"] = hashlib.md5(view.text.encode()).hexdigest()
                rec["c4_counters"] = dict(flt.counters)
            flt.counters.clear()
        view = DocView({"text": text, "lang": lang})
        rec["chain"] = [single[f].check(view) for f in WEB]
        for flt in single.values():
            flt.counters.clear()
        out[key] = rec
    Path(path).write_text(json.dumps(out, sort_keys=True))
    print(f"{len(out)} pages; web cascade: {Counter(r['web'] for r in out.values()).most_common(8)}")


def compare(a: str, b: str) -> int:
    before, after = json.loads(Path(a).read_text()), json.loads(Path(b).read_text())
    if before.keys() != after.keys():
        print("the page sets differ")
        return 1
    diff = [
        (k, f, before[k][f], after[k][f])
        for k in before
        for f in before[k]
        if before[k][f] != after[k].get(f)
    ]
    print(f"{len(before)} pages x {len(next(iter(before.values())))} fields; differences: {len(diff)}")
    for d in diff[:20]:
        print("  ", d)
    return 1 if diff else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("dump").add_argument("out")
    cmp = sub.add_parser("compare")
    cmp.add_argument("before")
    cmp.add_argument("after")
    args = ap.parse_args()
    if args.cmd == "dump":
        dump(args.out)
    else:
        sys.exit(compare(args.before, args.after))


if __name__ == "__main__":
    main()

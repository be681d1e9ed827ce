"""A bench corpus of real Chinese and Japanese text: Debian's translated man pages.

Debian's `manpages-zh` (simplified Chinese, zh_CN) and `manpages-ja` ship translated man pages;
the English originals come with the packages themselves plus `manpages` / `manpages-dev`. Each
page is rendered with `man -l` (groff, UTF-8, unwrapped lines), its header and footer lines
dropped and indentation stripped: plain text as a web extractor would give a documentation page.
A pair is a translated page whose English original is installed (same section and name).

    apt-get install manpages-zh manpages-ja manpages manpages-dev
    .venv/bin/python bench/cjk_corpus.py      # writes runs/bench-cjk/corpus.jsonl (cached)
    .venv/bin/python bench/cjk_corpus.py --parquet runs/bench-cjk/parquet   # + Parquet of the pages
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "runs" / "bench-cjk" / "corpus.jsonl"
MAN = Path("/usr/share/man")
LANGS = {"zh": "zh_CN", "ja": "ja"}
MAX_CHARS = 60_000  # a few man pages (bash, gcc) are books; their opening is enough
_OVERSTRIKE = re.compile(".\x08")
_BLANKS = re.compile(r"\n{3,}")


def render(path: Path) -> str:
    env = {
        **os.environ,
        "LANG": "C.UTF-8",
        "MANWIDTH": "5000",
        "MAN_KEEP_FORMATTING": "",
        "GROFF_NO_SGR": "1",
    }
    out = subprocess.run(["man", "-l", str(path)], env=env, capture_output=True, text=True, errors="replace")
    lines = [re.sub(r"\s+", " ", line).strip() for line in _OVERSTRIKE.sub("", out.stdout).splitlines()]
    body = [i for i, line in enumerate(lines) if line]
    if len(body) < 3:
        return ""
    lines = lines[body[0] + 1 : body[-1]]  # the header and footer lines
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()[:MAX_CHARS]


def build(cache: Path = CACHE) -> list[dict]:
    """[{lang, name, text, en}] for every translated page with an installed English original."""
    if cache.exists():
        return [json.loads(line) for line in cache.open(encoding="utf-8")]
    missing = [d for d in LANGS.values() if not (MAN / d).is_dir()]
    if missing:
        sys.exit(
            f"no {', '.join(missing)} man pages: apt-get install manpages-zh manpages-ja manpages manpages-dev"
        )
    jobs = []
    for lang, d in LANGS.items():
        for page in sorted((MAN / d).glob("man*/*")):
            original = MAN / page.parent.name / page.name
            if original.exists():
                jobs.append((lang, page, original))
    with ThreadPoolExecutor(4) as pool:
        texts = list(pool.map(lambda j: (render(j[1]), render(j[2])), jobs))
    rows = [
        {"lang": lang, "name": f"{page.parent.name}/{page.name}", "text": t, "en": e}
        for (lang, page, _), (t, e) in zip(jobs, texts)
        if t and e
    ]
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    tmp.replace(cache)
    return rows


def write_parquet(rows: list[dict], out: Path, langs: tuple[str, ...] = ("zh", "ja")) -> Path:
    """The translated pages as one Parquet file (id, text, lang): input for bench/tokenization.py."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sel = [r for r in rows if r["lang"] in langs]
    out.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "id": [f"{r['lang']}/{r['name']}" for r in sel],
            "text": [r["text"] for r in sel],
            "lang": [r["lang"] for r in sel],
        }
    )
    pq.write_table(table, out / "part-00000.parquet")
    return out


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="Build (and cache) the CJK bench corpus.")
    ap.add_argument("--parquet", type=Path, help="also write the zh + ja pages as Parquet here")
    args = ap.parse_args()
    rows = build()
    if args.parquet:
        print(f"wrote {write_parquet(rows, args.parquet)}")
    for lang in LANGS:
        sub = [r for r in rows if r["lang"] == lang]
        mb = sum(len(r["text"].encode()) for r in sub) / 1e6
        print(f"{lang}: {len(sub)} pages with English originals, {mb:.1f} MB; {CACHE}")

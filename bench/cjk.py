"""Chinese and Japanese through filter, dedup and decontamination, against datatrove, on real text.

Text: Debian's translated man pages (manpages-zh zh_CN, manpages-ja) and their installed English
originals (bench/cjk_corpus.py builds and caches the corpus). Every figure below is computed here:
  lid        fastText lid.176 labels of the translated pages (the language filter's model)
  parity     the web quality defaults (gopher_repetition, gopher_quality, c4, fineweb) on the English
             originals, and on their translations with `lang` from lid; kept translations among the
             pages whose original is kept. "before": the translations through the English rules.
  spam       keyword-stuffed pages made from the real pages (a few spam keywords repeated around two
             real lines, the recipe of tests/curate/test_cjk.py); share removed
  datatrove  FineWeb-2's recipe (its per-language configs, GopherRepetition -> FineWebQuality ->
             GopherQuality, no C4) with its cmn_Hani / jpn_Jpan word tokenizers (spaCy + jieba,
             spaCy + SudachiPy) vs ours with the same families: clean pages kept, spam removed
  near-dups  copies of every page >= 500 characters with 1% / 3% of its Han/Kana characters replaced
             by others of the page and a new header and footer line; recall = copy shares an LSH band
             (14 x 8) with its original ("verified": and its true character 5-gram Jaccard is >= 0.5,
             what `verify: true, threshold: 0.5` keeps); false removals = distinct pages sharing a
             band whose true character 5-gram Jaccard is < 0.5. Ours (character 5-grams in Han/Kana)
             vs datatrove's signature with its word tokenizer (word 5-grams), same bands
  decontam   20 Chinese items (a question sentence found on no clean page + 4 choices, clauses of other
             sentences) from held-out pages, pasted into 20 clean pages with full-width punctuation
             turned half-width and spaces inserted; found, and false flags among all the other pages
  speed      MB/s per core (one process), runs interleaved: our filters (the 4 families) on Chinese vs
             on the English originals; our dedup signatures (normalise, shingle, minhash, bands) on
             Chinese vs English; datatrove's FineWeb-2 filters and signature with cmn_Hani on the same
             Chinese pages

    .venv/bin/pip install -e '.[dev]'   # jieba, sudachipy, sudachidict_core: datatrove's segmenters
    .venv/bin/python bench/cjk.py                 # everything (~5 min on 2 cores)
    .venv/bin/python bench/cjk.py --only speed    # one section
    .venv/bin/python bench/cjk.py --segmenter-stats   # characters per segmenter word (profiles.py)
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.cjk_corpus import build  # noqa: E402
from curate.decontam.benchmarks import BenchmarkItem  # noqa: E402
from curate.decontam.index import build_index  # noqa: E402
from curate.decontam.scan import scan_texts  # noqa: E402
from curate.dedup.minhash import band_hashes, batch_shingles, jaccard_estimate, minhash, normalise_batch  # noqa: E402
from curate.filters import QUALITY_FAMILIES, DocView  # noqa: E402
from curate.filters.language import LanguageConfig, LanguageFilter  # noqa: E402
from curate.filters.profiles import FINEWEB2  # noqa: E402
from curate.stages.dedup import MinhashConfig  # noqa: E402
from curate.text.normalize import normalize_text  # noqa: E402
from curate.text.normalize import words as norm_words  # noqa: E402
from curate.text.words import CJK_CHAR, cjk_fraction  # noqa: E402

WEB = ["gopher_repetition", "gopher_quality", "c4", "fineweb"]
FW2 = ["gopher_repetition", "fineweb", "gopher_quality"]  # FineWeb-2's order, no C4
DT_LANG = {"zh": "cmn_Hani", "ja": "jpn_Jpan"}
BANDS, ROWS, NGRAM = 14, 8, 5
SPAM_KEYWORDS = {
    "zh": ["澳门赌场", "在线赌场", "网上赌博", "百家乐", "真人娱乐", "体育投注", "彩票开奖", "老虎机",
           "免费下载", "代开发票", "减肥药", "快速贷款"],
    "ja": ["オンラインカジノ", "無料ダウンロード", "副業", "稼げる", "出会い系", "激安", "即日融資", "ダイエット"],
}  # fmt: skip


def timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def mb(texts: list[str]) -> float:
    return sum(len(t.encode()) for t in texts) / 1e6


# --------------------------------------------------------------------------- filters


def ours(families: list[str]):
    filters = [QUALITY_FAMILIES[f][0]() for f in families]

    def run(text: str, lang: str | None) -> str | None:
        view = DocView({"text": text, "lang": lang})
        for f in filters:
            reason = f.check(view)
            if reason:
                return reason
        return None

    return run


def datatrove_fw2(lang: str):
    """FineWeb-2's filter step for one language (fineweb-2-pipeline.py), its own word tokenizer."""
    from datatrove.data import Document
    from datatrove.pipeline.filters import FineWebQualityFilter, GopherQualityFilter, GopherRepetitionFilter

    cfg, code = FINEWEB2[lang], DT_LANG[lang]
    filters = [
        GopherRepetitionFilter(
            language=code, dup_para_frac=0, dup_line_char_frac=0, dup_para_char_frac=0,
            dup_line_frac=cfg["dup_line_frac"], top_n_grams=cfg["top_n_grams"], dup_n_grams=cfg["dup_n_grams"],
        ),
        FineWebQualityFilter(
            language=code, short_line_thr=999, char_duplicates_ratio=0.1,
            line_punct_thr=cfg["line_punct_thr"], new_line_ratio=cfg["new_line_ratio"],
        ),
        GopherQualityFilter(
            language=code, max_avg_word_length=cfg["max_avg_word_length"],
            min_avg_word_length=cfg["min_avg_word_length"], stop_words=cfg["stopwords"],
            max_non_alpha_words_ratio=cfg["max_non_alpha_words_ratio"], min_stop_words=2,
        ),
    ]  # fmt: skip

    def run(text: str, _lang=None) -> str | None:
        doc = Document(text=text, id="x")
        for f in filters:
            r = f.filter(doc)
            if r is not True:
                return r[1] if isinstance(r, tuple) else f.name
        return None

    return run


def spam_pages(rows: list[dict], lang: str, n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    pool = translated(rows, lang)
    out = []
    for _ in range(n):
        lines = [ln for ln in rng.choice(pool)["text"].splitlines() if len(ln) > 20] or ["。"]
        start = rng.randrange(len(lines))
        page = lines[start : start + 2]
        targets = rng.sample(SPAM_KEYWORDS[lang], 3)
        sep = rng.choice(["，", "、", " ", "|"])
        for _ in range(rng.randint(6, 14)):
            page.append(
                sep.join(rng.choice(targets) for _ in range(rng.randint(4, 9))) + rng.choice(["。", "！", ""])
            )
        out.append("\n".join(page))
    return out


def translated(rows: list[dict], lang: str) -> list[dict]:
    """The pages of `lang` that are translated: some pages of manpages-zh (shadow's) are English
    text with a Chinese title; >= 10% Han/Kana characters (the others have 0-9%)."""
    return [r for r in rows if r["lang"] == lang and cjk_fraction(r["text"]) >= 0.1]


def section_lid(rows):
    lid = LanguageFilter(LanguageConfig())
    for lang in ("zh", "ja"):
        every = [r for r in rows if r["lang"] == lang]
        sub = translated(rows, lang)
        right = sum(lid.predict(r["text"])[0] == lang for r in sub)
        print(
            f"lid     {lang}: {right}/{len(sub)} translated pages labelled {lang} ({right / len(sub):.1%}); "
            f"{len(every) - len(sub)} untranslated pages left out"
        )
    return {r["name"] + r["lang"]: lid.predict(r["text"])[0] for r in rows}


def section_parity(rows, labels):
    web = ours(WEB)
    for lang in ("zh", "ja"):
        sub = translated(rows, lang)
        en_kept = [r for r in sub if web(r["en"], "en") is None]
        kept = [r for r in en_kept if web(r["text"], labels[r["name"] + lang]) is None]
        before = [r for r in en_kept if web(r["text"], None) is None]
        print(
            f"parity  {lang}: English originals kept {len(en_kept)}/{len(sub)}; of their translations kept "
            f"{len(kept)}/{len(en_kept)} ({len(kept) / max(len(en_kept), 1):.1%}); "
            f"with the English rules (before) {len(before)}/{len(en_kept)}"
        )
        spam = spam_pages(rows, lang, 200, seed=1)
        removed = sum(web(t, lang) is not None for t in spam)
        print(
            f"spam    {lang}: web defaults remove {removed}/{len(spam)} keyword-stuffed pages ({removed / len(spam):.1%})"
        )


def section_datatrove(rows):
    ours_fw2 = ours(FW2)
    for lang in ("zh", "ja"):
        clean = [r["text"] for r in translated(rows, lang)]
        spam = spam_pages(rows, lang, 200, seed=1)
        theirs = datatrove_fw2(lang)
        for name, fn in (("ours", ours_fw2), ("datatrove", theirs)):
            kept = sum(fn(t, lang) is None for t in clean)
            removed = sum(fn(t, lang) is not None for t in spam)
            print(
                f"fw2     {lang} {name:9s}: clean pages kept {kept}/{len(clean)}, "
                f"spam removed {removed}/{len(spam)} ({removed / len(spam):.1%})"
            )


# --------------------------------------------------------------------------- near duplicates


def edit(text: str, fraction: float, rng: random.Random) -> str:
    """`fraction` of the page's Han/Kana characters replaced by others of the page, a new header
    and footer line (the copy of a Chinese page on another site)."""
    chars = list(text)
    cjk = [i for i, c in enumerate(chars) if CJK_CHAR.match(c)]
    for i in rng.sample(cjk, max(1, round(fraction * len(cjk)))):
        old = chars[i]
        while chars[i] == old:
            chars[i] = chars[rng.choice(cjk)]
    header = f"首页 » 手册 » 第{rng.randint(1, 99)}页"
    return header + "\n" + "".join(chars) + f"\n© {rng.randint(2000, 2025)} 版权所有"


def our_bands(texts: list[str], seed: int = 1) -> np.ndarray:
    hashes, counts = batch_shingles(normalise_batch(texts), NGRAM)
    return band_hashes(minhash(hashes, counts, BANDS * ROWS, seed), BANDS, ROWS).T  # (n, bands)


def our_candidates(texts: list[str], seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(band keys (n, bands), signatures): the dedup stage's candidates are pairs sharing a band
    whose signatures agree on at least MinhashConfig().estimate_floor of their values."""
    hashes, counts = batch_shingles(normalise_batch(texts), NGRAM)
    sig = minhash(hashes, counts, BANDS * ROWS, seed)
    return band_hashes(sig, BANDS, ROWS).T, sig


def datatrove_bands(texts: list[str], lang: str) -> np.ndarray:
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature
    from datatrove.utils.hashing import HashConfig

    cfg = MinhashConfig(
        hash_config=HashConfig(precision=64), num_buckets=BANDS, hashes_per_bucket=ROWS, n_grams=NGRAM
    )
    sig = MinhashDedupSignature(output_folder="/tmp/unused-minhash", config=cfg, language=DT_LANG[lang])
    out = []
    for t in texts:
        sh = sig.get_shingles(t)
        out.append([hash(tuple(b)) for b in sig.get_signature(sh)] if len(sh) else list(range(-BANDS, 0)))
    return np.array(out)


def char_jaccard(a: str, b: str) -> float:
    def grams(t):
        w = norm_words(t)
        return {" ".join(w[i : i + NGRAM]) for i in range(max(1, len(w) - NGRAM + 1))}

    x, y = grams(a), grams(b)
    return len(x & y) / max(len(x | y), 1)


def shared_band_pairs(bands: np.ndarray) -> set[tuple[int, int]]:
    """Pairs (i < j) of rows sharing at least one band key."""
    pairs = set()
    for b in range(bands.shape[1]):
        seen: dict = {}
        for i, key in enumerate(bands[:, b].tolist()):
            if key in seen:
                pairs.add((seen[key], i))
            else:
                seen[key] = i
    return pairs


def dedup_figures(pages, texts, bands, keep_pair) -> tuple[list[float], list[float], set[int]]:
    """Recall at 1% / 3% changed (raw and verified at 0.5) and the falsely removed originals."""
    n = len(pages)
    recall, verified = [], []
    for k in (1, 2):
        c = bands[n * k : n * (k + 1)]
        found = [j for j in np.flatnonzero((c == bands[:n]).any(axis=1)) if keep_pair(j, n * k + j)]
        recall.append(len(found) / n)
        # with `verify: true, threshold: 0.5`: a candidate stays if its true Jaccard is >= 0.5
        verified.append(sum(char_jaccard(pages[j], texts[n * k + j]) >= 0.5 for j in found) / n)
    # distinct pages sharing a band: false unless they really are near duplicates
    pairs = [(i, j) for i, j in shared_band_pairs(bands[:n]) if keep_pair(i, j)]
    return recall, verified, {j for i, j in pairs if char_jaccard(pages[i], pages[j]) < 0.5}


def section_dedup(rows, verbose: bool = False, seeds: int = 8):
    floor = MinhashConfig(bands=BANDS, rows=ROWS).estimate_floor
    for lang in ("zh", "ja"):
        chosen = [r for r in translated(rows, lang) if len(r["text"]) >= 500]
        pages, names = [r["text"] for r in chosen], [r["name"] for r in chosen]
        rng = random.Random(3)
        copies = {f: [edit(p, f, rng) for p in pages] for f in (0.01, 0.03)}
        texts = pages + copies[0.01] + copies[0.03]
        n = len(pages)
        for name in ("ours", "ours, no floor", "datatrove"):
            if name == "datatrove":
                bands, secs = timed(datatrove_bands, texts, lang)
                keep = lambda i, j: True  # noqa: E731
            else:
                (bands, sig), secs = timed(our_candidates, texts)
                cut = floor if name == "ours" else 0.0
                keep = lambda i, j, sig=sig, cut=cut: jaccard_estimate(sig[i], sig[j]) >= cut  # noqa: E731
            recall, verified, false = dedup_figures(pages, texts, bands, keep)
            if verbose:
                print("  false pairs:", sorted(names[j] for j in false))
            res = [
                f"{f:.0%} changed recall {r:.3f} (verified {v:.3f})"
                for f, r, v in zip((0.01, 0.03), recall, verified)
            ]
            print(
                f"dedup   {lang} {name:14s}: {n} pages, {'; '.join(res)}; false removals {len(false)}/{n} "
                f"({len(false) / n:.2%}); {mb(texts) / secs:.2f} MB/s"
            )
        # One seed is one draw of the hash functions: the spread over seeds, ours with the floor
        # and without it.
        for cut, label in ((floor, f"floor {floor:.3f}"), (0.0, "no floor")):
            r3, fr = [], []
            for seed in range(1, seeds + 1):
                bands, sig = our_candidates(texts, seed)
                keep = lambda i, j, sig=sig, cut=cut: jaccard_estimate(sig[i], sig[j]) >= cut  # noqa: E731
                recall, _, false = dedup_figures(pages, texts, bands, keep)
                r3.append(recall[1])
                fr.append(len(false))
            print(
                f"dedup   {lang} ours, seeds 1-{seeds}, {label}: 3% changed recall mean {np.mean(r3):.3f} "
                f"(min {min(r3):.3f}); false removals mean {np.mean(fr) / n:.2%} (max {max(fr)}/{n})"
            )


# --------------------------------------------------------------------------- decontamination

_HALF = str.maketrans("，。？！：；（）「」、", ',.?!:;()"",')


def section_decontam(rows):
    """Items are original text: a question sentence and four choices (clauses of other sentences of
    its held-out page) that no clean page contains."""
    zh = [r["text"] for r in translated(rows, "zh")]
    rng = random.Random(5)
    held, clean = zh[:80], zh[80:]
    corpus = "\n".join(normalize_text(t) for t in clean)
    items, n_items = [], 20
    for text in held:
        pieces = [s.strip() for line in text.splitlines() for s in line.split("。")]
        sents = [s + "。" for s in pieces if 30 <= len(CJK_CHAR.findall(s)) <= 120]
        sents = [s for s in sents if normalize_text(s) not in corpus]
        clauses = [c.strip() for s in pieces for c in s.split("，") if 6 <= len(CJK_CHAR.findall(c)) <= 20]
        if sents and len(clauses) >= 4:
            question = rng.choice(sents)
            choices = [c for c in clauses if c not in question and normalize_text(c) not in corpus]
            if len(choices) < 4:
                continue
            choices = rng.sample(choices, 4)
            items.append(BenchmarkItem("zh-bench", f"q{len(items)}", "\n".join([question, *choices])))
        if len(items) == n_items:
            break
    index = build_index(items, 13, 8, cjk_ngram=20)
    hosts = rng.sample(range(len(clean)), len(items))
    docs = list(clean)
    for it, h in zip(items, hosts):
        chars = list(it.text.translate(_HALF))
        for _ in range(5):
            chars.insert(rng.randrange(1, len(chars)), " ")
        lines = docs[h].splitlines()
        at = rng.randrange(len(lines) + 1)
        docs[h] = "\n".join(lines[:at] + ["".join(chars)] + lines[at:])
    _, matches = scan_texts(index, docs)
    found = sum(
        matches[h] is not None and any(index.items[i][1] == it.item_id for i in matches[h].keys)
        for it, h in zip(items, hosts)
    )
    false = sum(m is not None for i, m in enumerate(matches) if i not in set(hosts))
    print(
        f"decont  zh: {len(items)} items (cjk_ngram 20); found {found}/{len(items)} pasted with half-width "
        f"punctuation and spaces inserted; false flags {false}/{len(docs) - len(hosts)} clean pages"
    )


# --------------------------------------------------------------------------- speed


def section_speed(rows, repeats: int = 3):
    zh = [r["text"] for r in translated(rows, "zh")]
    en = [r["en"] for r in translated(rows, "zh")]
    web = ours(WEB)
    dt = datatrove_fw2("zh")
    ours_fw2 = ours(FW2)
    every = [QUALITY_FAMILIES[f][0]() for f in WEB]

    def all_families(texts: list[str], lang: str) -> None:
        """The work of a page that every family keeps (the cascade stops at the first removal,
        and the two languages are not removed at the same rate or the same stage)."""
        for t in texts:
            view = DocView({"text": t, "lang": lang})
            for f in every:
                f.check(view)

    runs = {
        "filter zh (ours, web families)": lambda: [web(t, "zh") for t in zh],
        "filter en (ours, web families)": lambda: [web(t, "en") for t in en],
        "filter zh (ours, every family, no cascade)": lambda: all_families(zh, "zh"),
        "filter en (ours, every family, no cascade)": lambda: all_families(en, "en"),
        "filter zh (ours, FineWeb-2 families)": lambda: [ours_fw2(t, "zh") for t in zh],
        "filter zh (datatrove, cmn_Hani)": lambda: [dt(t) for t in zh],
        "dedup sig zh (ours)": lambda: our_bands(zh),
        "dedup sig en (ours)": lambda: our_bands(en),
        "dedup sig zh (datatrove, cmn_Hani)": lambda: datatrove_bands(zh, "zh"),
    }
    size = {k: mb(en if " en " in k else zh) for k in runs}
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeats):  # interleaved: load from other processes hits every method alike
        for k, fn in runs.items():
            best[k] = min(best[k], timed(fn)[1])
    rate = {k: size[k] / best[k] for k in runs}
    for k in runs:
        print(f"speed   {k:44s} {rate[k]:6.2f} MB/s ({size[k]:.1f} MB, best of {repeats})")
    print(
        f"speed   ratios: filter zh/en {rate['filter zh (ours, web families)'] / rate['filter en (ours, web families)']:.2f} "
        f"(every family, no cascade: {rate['filter zh (ours, every family, no cascade)'] / rate['filter en (ours, every family, no cascade)']:.2f}), "
        f"dedup zh/en {rate['dedup sig zh (ours)'] / rate['dedup sig en (ours)']:.2f}, "
        f"filter ours/datatrove (FineWeb-2 families, zh) "
        f"{rate['filter zh (ours, FineWeb-2 families)'] / rate['filter zh (datatrove, cmn_Hani)']:.1f}x, "
        f"dedup ours/datatrove (zh) {rate['dedup sig zh (ours)'] / rate['dedup sig zh (datatrove, cmn_Hani)']:.1f}x"
    )


def segmenter_stats(rows):
    from datatrove.utils.word_tokenizers import load_word_tokenizer

    from curate.text.words import split_words_cjk

    for lang in ("zh", "ja"):
        text = "\n".join(r["text"] for r in rows if r["lang"] == lang)[:1_000_000]
        tok = load_word_tokenizer(DT_LANG[lang])
        tok.word_tokenize("warm up")
        words, secs = timed(tok.word_tokenize, text)
        cjk = [w for w in words if all(CJK_CHAR.match(c) for c in w)]
        _, ours_secs = timed(split_words_cjk, text)
        alone = ""
        if lang == "zh":  # jieba without spaCy around it
            import jieba

            jieba.initialize()
            alone = f", jieba alone {mb([text]) / timed(jieba.lcut, text)[1]:.2f} MB/s"
        print(
            f"words   {lang}: datatrove {DT_LANG[lang]} {sum(map(len, cjk)) / len(cjk):.2f} characters per Han/Kana "
            f"word, {mb([text]) / secs:.2f} MB/s{alone}; our character split {mb([text]) / ours_secs:.1f} MB/s"
        )


SECTIONS = ("lid", "parity", "datatrove", "dedup", "decontam", "speed")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=SECTIONS, action="append")
    ap.add_argument("--segmenter-stats", action="store_true")
    args = ap.parse_args()
    rows = build()
    if args.segmenter_stats:
        segmenter_stats(rows)
        return
    only = args.only or SECTIONS
    labels = section_lid(rows) if ("lid" in only or "parity" in only) else {}
    if "parity" in only:
        section_parity(rows, labels)
    if "datatrove" in only:
        section_datatrove(rows)
    if "dedup" in only:
        section_dedup(rows)
    if "decontam" in only:
        section_decontam(rows)
    if "speed" in only:
        section_speed(rows)


if __name__ == "__main__":
    main()

"""The sample crawl's Chinese and Japanese pages (called from scripts/sample_crawl.py's plan).

Documentation pages on two Chinese sites and one Japanese site, assembled from real sentences of
translated man pages (scripts/sample_cjk_text.py), plus what the stages must catch:
  near_duplicate  a page copied to the other Chinese site (or a second Japanese path) with 1% of its
                  Han/Kana characters replaced, under that site's own header and footer
  spam            Chinese keyword stuffing: three gambling / pharmacy keywords repeated in any order
                  around two real sentences
  zh_benchmark    a page that quotes an item of ZH_BENCHMARK (question + choices) with its
                  full-width punctuation turned half-width and spaces inserted; the benchmark itself
                  is written beside the WARC files as zh-bench.jsonl
"""

from __future__ import annotations

import html
import json
import random
from pathlib import Path

from scripts.sample_cjk_text import JA_SENTENCES, ZH_SENTENCES
from scripts.sample_crawl import Builder, Page, Site

CJK_SITES = [
    Site("docs.kaiyuan-shouce.cn", "docs", "docs", 24, "/zh/{slug}-{id}.html"),
    Site("www.linux-zhinan.com.cn", "docs", "docs", 16, "/man/{id}.html"),
    Site("manual.oss-techmemo.jp", "docs", "docs", 20, "/ja/{id}/{slug}"),
]
SITE_LANG = {CJK_SITES[0].host: "zh", CJK_SITES[1].host: "zh", CJK_SITES[2].host: "ja"}
FURNITURE = {
    "zh": {"nav": ["首页", "文档", "下载", "社区", "关于我们"], "footer": ["隐私政策", "使用条款", "联系我们"],
           "rights": "版权所有", "brand": {"docs.kaiyuan-shouce.cn": "开源手册", "www.linux-zhinan.com.cn": "Linux 指南"}},
    "ja": {"nav": ["ホーム", "ドキュメント", "ダウンロード", "お問い合わせ"], "footer": ["プライバシーポリシー", "利用規約"],
           "rights": "無断転載を禁じます", "brand": {"manual.oss-techmemo.jp": "OSS 技術メモ"}},
}  # fmt: skip
N_BENCHMARK = 4
# The first 2 * N_BENCHMARK Chinese sentences are the benchmark's questions; no page uses them.
ZH_POOL = ZH_SENTENCES[2 * N_BENCHMARK :]
ZH_BENCHMARK = [
    {
        "id": f"zh-{k}",
        "question": ZH_SENTENCES[2 * k] + ZH_SENTENCES[2 * k + 1],
        "choices": ["以上说法正确", "以上说法错误", "取决于系统配置", "无法确定"],
    }
    for k in range(N_BENCHMARK)
]
BENCHMARK_NAME = "zh-bench.jsonl"
SPAM_KEYWORDS = [
    "澳门赌场",
    "在线赌场",
    "网上赌博",
    "百家乐",
    "真人娱乐",
    "体育投注",
    "彩票开奖",
    "代开发票",
    "减肥药",
]
_HALF_WIDTH = str.maketrans("，。？！：；（）", ",.?!:;()")


def _render(site: Site, lang: str, title: str, paras: list[str]) -> bytes:
    f = FURNITURE[lang]
    brand = f["brand"][site.host]
    nav = "".join(f'<li><a href="/{k}">{html.escape(t)}</a></li>' for k, t in enumerate(f["nav"]))
    foot = "".join(f'<li><a href="/legal/{k}">{html.escape(t)}</a></li>' for k, t in enumerate(f["footer"]))
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paras)
    return (
        f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "ja"}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)} | {brand}</title>\n</head>\n<body>\n"
        f'<header><a class="logo" href="/">{brand}</a><nav><ul>{nav}</ul></nav></header>\n'
        f"<main>\n<article>\n<h1>{html.escape(title)}</h1>\n{body}\n</article>\n</main>\n"
        f"<footer><ul>{foot}</ul><p>&copy; 2024 {brand} {f['rights']}</p></footer>\n</body>\n</html>\n"
    ).encode()


def _page(b: Builder, site: Site, kind: str, title: str, paras: list[str], **kw) -> Page:
    lang = SITE_LANG[site.host]
    p = Page(b.url(site, title), site, lang, kind, title=title, paras=paras, **kw)
    p.body = _render(site, lang, title, paras)
    return p


def _article(rng: random.Random, pool: list[str]) -> tuple[str, list[str]]:
    sents = rng.sample(pool, rng.randint(9, 16))
    title = sents[0].split("，")[0].split("、")[0].rstrip("。")[:24]
    paras, i = [], 0
    while i < len(sents):
        k = rng.randint(2, 4)
        paras.append("".join(sents[i : i + k]))
        i += k
    return title, paras


def _edit(text: str, fraction: float, rng: random.Random) -> str:
    cjk = [i for i, c in enumerate(text) if "\u3040" <= c <= "\u9fff"]
    chars = list(text)
    for i in rng.sample(cjk, max(1, round(fraction * len(cjk)))):
        chars[i] = chars[rng.choice(cjk)]
    return "".join(chars)


def _quote(item: dict, rng: random.Random) -> list[str]:
    """The item as a page quotes it: the question (half-width punctuation, a few spaces inserted),
    then its choices on one line."""
    chars = list(item["question"].translate(_HALF_WIDTH))
    for _ in range(4):
        chars.insert(rng.randrange(1, len(chars)), " ")
    return ["".join(chars), " ".join(f"{'ABCD'[k]}. {c}" for k, c in enumerate(item["choices"]))]


def cjk_pages(b: Builder) -> list[Page]:
    rng = random.Random(f"sample-cjk/{b.seed}")
    pages: list[Page] = []
    goods: dict[str, list[Page]] = {"zh": [], "ja": []}
    for site in CJK_SITES:
        lang = SITE_LANG[site.host]
        for _ in range(site.n_good):
            title, paras = _article(rng, ZH_POOL if lang == "zh" else JA_SENTENCES)
            goods[lang].append(_page(b, site, "good", title, paras))
    pages += goods["zh"] + goods["ja"]
    for lang, n in (("zh", 6), ("ja", 3)):
        for src in rng.sample(goods[lang], n):
            site = CJK_SITES[1] if src.site is CJK_SITES[0] else CJK_SITES[0] if lang == "zh" else src.site
            paras = [_edit(p, 0.01, rng) for p in src.paras]
            pages.append(
                _page(
                    b,
                    site,
                    "near_duplicate",
                    src.title,
                    paras,
                    source=src.url,
                    notes="1% of Han/Kana changed",
                )
            )
    for k in range(6):
        targets = rng.sample(SPAM_KEYWORDS, 3)
        lines = rng.sample(ZH_POOL, 2)
        lines += ["，".join(rng.choice(targets) for _ in range(rng.randint(4, 9))) + "。" for _ in range(10)]
        pages.append(_page(b, CJK_SITES[k % 2], "spam", targets[0] + "官网", lines, notes="keyword stuffing"))
    for item in ZH_BENCHMARK:
        title, paras = _article(rng, ZH_POOL)
        at = rng.randrange(len(paras) + 1)
        paras[at:at] = _quote(item, rng)
        pages.append(
            _page(b, CJK_SITES[0], "zh_benchmark", title, paras, source=item["id"], notes=BENCHMARK_NAME)
        )
    return pages


def write_benchmark(out_dir: Path) -> Path:
    """zh-bench.jsonl: the Chinese benchmark that the zh_benchmark pages quote."""
    path = Path(out_dir) / BENCHMARK_NAME
    text = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in ZH_BENCHMARK)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path

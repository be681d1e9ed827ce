"""Gopher quality and repetition rules (Rae et al. 2021, table A1), datatrove's reasons and defaults.

Same statistics as `datatrove.pipeline.filters.GopherQualityFilter` / `GopherRepetitionFilter`,
computed from the document's shared word tokens (`DocView.words`, one tokenisation per
document) with C-level set/Counter work instead of per-n-gram string joins.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from datatrove.utils.text import PUNCTUATION_SET

from curate.filters.base import DocView, Filter
from curate.filters.profiles import LanguageParams
from curate.text.words import is_cjk_lang

STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")
_HAS_ALPHA = re.compile(r"[^\W\d_]")  # a letter: what str.isalpha() accepts, per character


@dataclass
class GopherQualityParams:
    min_doc_words: int | None = 50
    max_doc_words: int | None = 100_000
    min_avg_word_length: float | None = 3
    max_avg_word_length: float | None = 10
    max_symbol_word_ratio: float | None = 0.1  # '#' and '...' per word
    max_bullet_lines_ratio: float | None = 0.9
    max_ellipsis_lines_ratio: float | None = 0.3
    min_alpha_words_ratio: float | None = 0.8  # datatrove calls it max_non_alpha_words_ratio
    min_stop_words: int | None = 2
    stop_words: list[str] = field(default_factory=lambda: list(STOP_WORDS))


class GopherQuality(Filter):
    name = "gopher_quality"

    def __init__(self, params: GopherQualityParams | None = None, languages: dict | None = None) -> None:
        super().__init__()
        self.p = params or GopherQualityParams()
        self.params = LanguageParams(self.name, self.p, languages)
        self._stop_words: dict[int, frozenset[str]] = {}

    def stop_words(self, p: GopherQualityParams) -> frozenset[str]:
        key = id(p)  # one frozenset per parameter set (they live as long as the filter)
        if key not in self._stop_words:
            self._stop_words[key] = frozenset(p.stop_words)
        return self._stop_words[key]

    def check(self, doc: DocView) -> str | None:
        p, text = self.params.get(doc.lang), doc.text
        words = doc.words
        n_words = len(words) or 1  # a wordless text fails min_doc_words first; no division by zero
        # Per-token tests run once per distinct token (a page repeats most of its words).
        counts = Counter(words)
        # A token made only of punctuation is a "symbol", not a word.
        symbols = [w for w in counts if PUNCTUATION_SET.issuperset(w)]
        n_content = len(words) - sum(counts[w] for w in symbols)
        if p.min_doc_words and n_content < p.min_doc_words:
            return "gopher_short_doc"
        if p.max_doc_words and n_content > p.max_doc_words:
            return "gopher_long_doc"
        content_chars = sum(len(w) * c for w, c in counts.items()) - sum(len(w) * counts[w] for w in symbols)
        avg = content_chars / n_content if n_content else float("nan")
        if p.min_avg_word_length and avg < p.min_avg_word_length:
            return "gopher_below_avg_threshold"
        if p.max_avg_word_length and avg > p.max_avg_word_length:
            return "gopher_above_avg_threshold"
        if p.max_symbol_word_ratio:
            if text.count("#") / n_words > p.max_symbol_word_ratio:
                return "gopher_too_many_hashes"
            if (text.count("...") + text.count("…")) / n_words > p.max_symbol_word_ratio:
                return "gopher_too_many_ellipsis"
        lines = doc.lines
        if p.max_bullet_lines_ratio and lines:
            bullets = sum(1 for s in lines if s.lstrip().startswith(("•", "-")))
            if bullets / len(lines) > p.max_bullet_lines_ratio:
                return "gopher_too_many_bullets"
        if p.max_ellipsis_lines_ratio and lines:
            ends = sum(1 for s in lines if s.rstrip().endswith(("...", "…")))
            if ends / len(lines) > p.max_ellipsis_lines_ratio:
                return "gopher_too_many_end_ellipsis"
        if p.min_alpha_words_ratio:
            # str.isalpha() settles most words; only mixed tokens ('3rd', 'a1') need the regex.
            alpha = sum(c for w, c in counts.items() if w.isalpha() or _HAS_ALPHA.search(w))
            if alpha / n_words < p.min_alpha_words_ratio:
                return "gopher_below_alpha_threshold"
        if p.min_stop_words and len(self.stop_words(p).intersection(counts)) < p.min_stop_words:
            return "gopher_enough_stop_words"  # datatrove's name for "too few stop words"
        return None


@dataclass
class GopherRepetitionParams:
    dup_line_frac: float | None = 0.3
    dup_para_frac: float | None = 0.3
    dup_line_char_frac: float | None = 0.2
    dup_para_char_frac: float | None = 0.2
    # [n, max fraction of characters in the most frequent n-gram]
    top_n_grams: list[list[float]] = field(default_factory=lambda: [[2, 0.2], [3, 0.18], [4, 0.16]])
    # [n, max fraction of characters in repeated n-grams]
    dup_n_grams: list[list[float]] = field(
        default_factory=lambda: [[5, 0.15], [6, 0.14], [7, 0.13], [8, 0.12], [9, 0.11], [10, 0.10]]
    )

    def __post_init__(self) -> None:
        for key in ("top_n_grams", "dup_n_grams"):
            for pair in getattr(self, key):
                if len(pair) != 2 or pair[0] < 1 or pair[0] != int(pair[0]):
                    raise ValueError(f"{key}: each entry is [n, fraction] with n a positive integer")


_PARAGRAPHS = re.compile(r"\n{2,}")
_LINES = re.compile(r"\n+")


def duplicates(items: list[str]) -> tuple[int, int]:
    """(number of repeated elements, their characters): every occurrence after the first counts."""
    seen: set[str] = set()
    n = chars = 0
    for x in items:
        if x in seen:
            n += 1
            chars += len(x)
        else:
            seen.add(x)
    return n, chars


_PRIME = np.uint64(1_000_003)


class _NGrams:
    """Every n-gram of a word list as one 64-bit rolling hash, so counting and lookups run in numpy.

    Word ids are Python's string hashes; an n-gram hash is h(n-1) * P + id(last word), with
    uint64 wrap-around. A collision needs two different n-grams of one document to share 64
    bits: negligible next to datatrove's own "".join ambiguity ('ab c' == 'a bc').
    """

    def __init__(self, words: list[str]) -> None:
        self.ids = np.fromiter(map(hash, words), dtype=np.int64, count=len(words)).view(np.uint64)
        self.cum = np.zeros(len(words) + 1, dtype=np.int64)  # cum[i] = characters in words[:i]
        np.cumsum(np.fromiter(map(len, words), dtype=np.int64, count=len(words)), out=self.cum[1:])
        self._hashes = {1: self.ids}

    def hashes(self, n: int) -> np.ndarray:
        if n not in self._hashes:
            prev = self.hashes(n - 1)
            self._hashes[n] = prev[:-1] * _PRIME + self.ids[n - 1 :]
        return self._hashes[n]

    def chars(self, start: int, n: int) -> int:
        return int(self.cum[start + n] - self.cum[start])

    def top_chars(self, n: int, spaced: bool = True) -> int:
        """Characters of the most frequent n-gram (joined by spaces when `spaced`) times its count.

        Ties go to the n-gram seen first, like Counter.most_common in datatrove.
        """
        _, first, counts = np.unique(self.hashes(n), return_index=True, return_counts=True)
        top = counts.max()
        start = int(first[counts == top].min())
        return (self.chars(start, n) + (n - 1 if spaced else 0)) * int(top)

    def top_exceeds(self, n: int, limit: float) -> bool:
        """Whether `top_chars(n, spaced=False) > limit`. The highest count times the widest n-gram
        bounds it: a sort without the stable argsort that ties need settles most documents."""
        h = np.sort(self.hashes(n))
        runs = np.flatnonzero(np.concatenate([[True], h[1:] != h[:-1], [True]]))
        widest = int((self.cum[n:] - self.cum[:-n]).max())
        if int(np.diff(runs).max()) * widest <= limit:
            return False
        return self.top_chars(n, spaced=False) > limit

    def repeats(self, n: int) -> np.ndarray:
        """Positions whose n-gram occurred earlier in the document."""
        h = self.hashes(n)
        _, first, inverse = np.unique(h, return_index=True, return_inverse=True)
        return np.flatnonzero(first[inverse] < np.arange(len(h)))

    def covered_chars(self, starts: np.ndarray, n: int) -> int:
        """Characters of the words inside the union of the windows [start, start + n)."""
        size = len(self.ids) + 1
        ends = np.minimum(starts + n, size - 1)
        depth = np.cumsum(np.bincount(starts, minlength=size) - np.bincount(ends, minlength=size))
        lens = np.diff(self.cum)
        return int(lens[depth[:-1] > 0].sum())

    def dup_chars(self, n: int) -> int:
        """datatrove's find_all_duplicate: scan left to right; an n-gram already seen at a visited
        position counts its characters and the scan jumps n words ahead (the positions it jumps
        over are never added to the seen set).

        Only positions whose n-gram occurred earlier can be repeats; the Python loop visits just
        those, and an earlier occurrence counts as seen unless a jump skipped it.
        """
        h = self.hashes(n)
        _, first, inverse = np.unique(h, return_index=True, return_inverse=True)
        first_of = first[inverse]  # first position of each position's n-gram
        candidates = np.flatnonzero(first_of < np.arange(len(h)))
        if not len(candidates):
            return 0
        skipped: set[int] = set()
        repeated = idx = 0
        for i, f in zip(candidates.tolist(), first_of[candidates].tolist()):
            if i < idx:
                continue  # jumped over
            if f in skipped and all(j in skipped for j in np.flatnonzero(inverse[:i] == inverse[i]).tolist()):
                idx = i + 1  # every earlier occurrence was jumped over: this one is new
                continue
            repeated += self.chars(i, n)
            skipped.update(range(i + 1, i + n))
            idx = i + n
        return repeated


class GopherRepetition(Filter):
    name = "gopher_repetition"

    def __init__(self, params: GopherRepetitionParams | None = None, languages: dict | None = None) -> None:
        super().__init__()
        self.p = params or GopherRepetitionParams()
        self.params = LanguageParams(self.name, self.p, languages)

    def check(self, doc: DocView) -> str | None:
        p, text = self.params.get(doc.lang), doc.text
        if not text:
            return "empty"
        size = len(text)
        paragraphs = _PARAGRAPHS.split(text.strip())
        n_dup, dup_chars = duplicates(paragraphs)
        if p.dup_para_frac and n_dup / len(paragraphs) > p.dup_para_frac:
            return "dup_para_frac"
        if p.dup_para_char_frac and dup_chars / size > p.dup_para_char_frac:
            return "dup_para_char_frac"
        lines = _LINES.split(text)
        n_dup, dup_chars = duplicates(lines)
        if p.dup_line_frac and n_dup / len(lines) > p.dup_line_frac:
            return "dup_line_frac"
        if p.dup_line_char_frac and dup_chars / size > p.dup_line_char_frac:
            return "dup_line_char_frac"

        if not p.top_n_grams and not p.dup_n_grams:
            return None
        grams = _NGrams(doc.words)
        n_words = len(doc.words)
        # Han/Kana words are adjacent characters: their n-grams have no separating spaces.
        spaced = not is_cjk_lang(doc.lang)
        for n, frac in p.top_n_grams:
            n = int(n)
            if n_words < n:
                continue
            if grams.top_chars(n) / size > frac if spaced else grams.top_exceeds(n, frac * size):
                return f"top_{n}_gram"
        # A repeated n-gram starts at a position where the shortest configured n-gram repeats too,
        # and the characters the greedy scan counts lie inside the union of those windows. When
        # that bound passes the threshold, the exact scan (a Python loop) is not needed.
        dup_ns = [int(n) for n, _ in p.dup_n_grams]
        if not dup_ns or n_words < min(dup_ns):
            return None
        starts = grams.repeats(min(dup_ns))
        if not len(starts):
            return None
        for n, frac in p.dup_n_grams:
            n = int(n)
            if n_words < n or grams.covered_chars(starts, n) / size <= frac:
                continue
            if grams.dup_chars(n) / size > frac:
                return f"duplicated_{n}_n_grams"
        return None

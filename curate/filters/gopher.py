"""Gopher quality and repetition rules (Rae et al. 2021, table A1), datatrove's reasons and defaults.

Same statistics as `datatrove.pipeline.filters.GopherQualityFilter` / `GopherRepetitionFilter`,
computed from the document's shared word tokens (`DocView.words`, one tokenisation per
document) with C-level set/Counter work instead of per-n-gram string joins. The n-gram rules
first test an upper bound (the top count times the widest n-gram; the union of the windows at
repeated positions) with the same comparison as the exact value, so the exact scan runs only when
the bound crosses the threshold; tests/curate/test_filters_fast_paths.py checks every statistic
against datatrove's functions.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import filterfalse, repeat
from operator import mul

import numpy as np
from datatrove.utils.text import PUNCTUATION_SET

from curate.filters.base import DocView, Filter
from curate.filters.profiles import LanguageParams
from curate.text.words import is_cjk_lang

STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")
_HAS_ALPHA = re.compile(r"[^\W\d_]")  # a letter: what str.isalpha() accepts, per character
assert not any(map(str.isalpha, PUNCTUATION_SET))  # a symbol token is never a word of letters


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
        # Per-token tests run once per distinct token (a page repeats most of its words), and the
        # costlier ones only on the tokens str.isalpha() does not settle (a Han character is a letter).
        counts = Counter(words)
        unlettered = list(filterfalse(str.isalpha, counts))
        # A token made only of punctuation is a "symbol", not a word (PUNCTUATION_SET has no letter).
        symbols = list(filter(PUNCTUATION_SET.issuperset, unlettered))
        n_content = len(words) - sum(map(counts.__getitem__, symbols))
        if p.min_doc_words and n_content < p.min_doc_words:
            return "gopher_short_doc"
        if p.max_doc_words and n_content > p.max_doc_words:
            return "gopher_long_doc"
        content_chars = sum(map(mul, map(len, counts), counts.values())) - sum(
            len(w) * counts[w] for w in symbols
        )
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
            bullets = sum(map(str.startswith, map(str.lstrip, lines), repeat(("•", "-"))))
            if bullets / len(lines) > p.max_bullet_lines_ratio:
                return "gopher_too_many_bullets"
        if p.max_ellipsis_lines_ratio and lines:
            ends = sum(map(str.endswith, map(str.rstrip, lines), repeat(("...", "…"))))
            if ends / len(lines) > p.max_ellipsis_lines_ratio:
                return "gopher_too_many_end_ellipsis"
        if p.min_alpha_words_ratio:
            # str.isalpha() settles most words; only mixed tokens ('3rd', 'a1') need the regex.
            alpha = len(words) - sum(map(counts.__getitem__, filterfalse(_HAS_ALPHA.search, unlettered)))
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
    """(number of repeated elements, their characters): every occurrence after the first counts,
    so all of them less the distinct ones (set and sums in C, no loop per item)."""
    distinct = set(items)
    return len(items) - len(distinct), sum(map(len, items)) - sum(map(len, distinct))


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
        """h(a + b)[i] = h(a)[i] * P**b + h(b)[i + a] (exact in uint64 arithmetic): from the longest
        n-grams already hashed, two array operations for any n, not two per word added."""
        found = self._hashes.get(n)
        if found is None:
            a = max(k for k in self._hashes if k < n)
            b = n - a
            tail = self.hashes(b)
            found = self._hashes[n] = self._hashes[a][:-b] * np.uint64(pow(1_000_003, b, 1 << 64)) + tail[a:]
        return found

    def chars(self, start: int, n: int) -> int:
        return int(self.cum[start + n] - self.cum[start])

    def top_chars(self, n: int, spaced: bool = True, small=None) -> int | None:
        """Characters of the most frequent n-gram (joined by spaces when `spaced`) times its count.

        Ties go to the n-gram seen first, like Counter.most_common in datatrove: from a plain sort,
        the first position is one vectorised search (no stable argsort). `small`, a test on an
        upper bound (the count times the widest n-gram with its spaces): None when it passes,
        which settles most documents without the search.
        """
        h = self.hashes(n)
        s = np.sort(h)
        edges = np.ones(len(s) + 1, dtype=bool)  # where a run of equal n-grams starts or ends
        np.not_equal(s[1:], s[:-1], out=edges[1:-1])
        bounds = edges.nonzero()[0]
        counts = bounds[1:] - bounds[:-1]
        top = int(counts.max())
        pad = n - 1 if spaced else 0
        if small is not None and small(top * (int((self.cum[n:] - self.cum[:-n]).max()) + pad)):
            return None
        if top == 1:
            start = 0  # every n-gram once: the first one
        else:
            values = s[bounds[:-1][counts == top]]  # ascending
            if len(values) == 1:
                start = int((h == values[0]).argmax())
            else:  # membership by binary search (np.isin costs several times more on small arrays)
                at = np.minimum(np.searchsorted(values, h), len(values) - 1)
                start = int((values[at] == h).argmax())
        return (self.chars(start, n) + pad) * top

    def _sorted(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(positions by n-gram, stable: equal n-grams by position; whether each of those after
        the first equals the one before)."""
        h = self.hashes(n)
        order = np.argsort(h, kind="stable")
        s = h[order]
        return order, s[1:] == s[:-1]

    def repeats(self, n: int, sorted_: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """Positions whose n-gram occurred earlier in the document, in order."""
        order, same = sorted_ if sorted_ is not None else self._sorted(n)
        return np.sort(order[1:][same])

    def groups(
        self, n: int, sorted_: tuple[np.ndarray, np.ndarray] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(first position of each position's n-gram, an id per distinct n-gram), what
        np.unique(return_index, return_inverse) gives, from the one stable argsort."""
        order, same = sorted_ if sorted_ is not None else self._sorted(n)
        new = np.ones(len(order), dtype=bool)
        np.logical_not(same, out=new[1:])
        inverse = np.empty(len(order), dtype=np.intp)
        inverse[order] = np.cumsum(new) - 1
        return order[new][inverse], inverse

    def covered_chars(self, starts: np.ndarray, ns: list[int]) -> list[int]:
        """For each n of `ns`: characters of the words inside the union of the windows
        [start, start + n). `starts` ascending: window i contributes up to the next start."""
        gaps = np.empty_like(starts)
        np.subtract(starts[1:], starts[:-1], out=gaps[:-1])
        gaps[-1] = len(self.ids) - starts[-1]
        stops = starts + np.minimum(gaps, np.array(ns, dtype=starts.dtype)[:, None])
        return (self.cum[stops] - self.cum[starts]).sum(axis=1).tolist()

    def dup_chars(self, n: int, small=None) -> int | None:
        """datatrove's find_all_duplicate: scan left to right; an n-gram already seen at a visited
        position counts its characters and the scan jumps n words ahead (the positions it jumps
        over are never added to the seen set).

        Only positions whose n-gram occurred earlier can be repeats; the Python loop visits just
        those, and an earlier occurrence counts as seen unless a jump skipped it. The counted
        windows lie inside the union of the windows at those positions: `small`, a test on that
        bound, returns None without the loop when it passes.
        """
        sorted_ = self._sorted(n)
        candidates = self.repeats(n, sorted_)
        if not len(candidates):
            return 0
        if small is not None and small(self.covered_chars(candidates, [n])[0]):
            return None
        first_of, inverse = self.groups(n, sorted_)
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
        if p.dup_para_frac or p.dup_para_char_frac:  # both off in the Chinese and Japanese profiles
            paragraphs = _PARAGRAPHS.split(text.strip())
            n_dup, dup_chars = duplicates(paragraphs)
            if p.dup_para_frac and n_dup / len(paragraphs) > p.dup_para_frac:
                return "dup_para_frac"
            if p.dup_para_char_frac and dup_chars / size > p.dup_para_char_frac:
                return "dup_para_char_frac"
        if p.dup_line_frac or p.dup_line_char_frac:
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
            # The same comparison on the bound as on the value: no rounding can tell them apart.
            if spaced:
                top = grams.top_chars(n, True, lambda bound, frac=frac: bound / size <= frac)
                if top is not None and top / size > frac:
                    return f"top_{n}_gram"
            else:
                limit = frac * size
                top = grams.top_chars(n, False, lambda bound, limit=limit: bound <= limit)
                if top is not None and top > limit:
                    return f"top_{n}_gram"
        # A repeated n-gram starts at a position where the shortest configured n-gram repeats too,
        # and the characters the greedy scan counts lie inside the union of those windows. While
        # that bound (then the tighter one of the n-gram's own repeats) stays within the threshold,
        # the exact scan (a Python loop) is not needed.
        dup_ns = [int(n) for n, _ in p.dup_n_grams]
        if not dup_ns or n_words < min(dup_ns):
            return None
        starts = grams.repeats(min(dup_ns))
        if not len(starts):
            return None
        for (n, frac), covered in zip(p.dup_n_grams, grams.covered_chars(starts, dup_ns)):
            n = int(n)
            if n_words < n or covered / size <= frac:
                continue
            # the bound of this n's own repeats, then (rarely) the exact scan
            repeated = grams.dup_chars(n, lambda bound, frac=frac: bound / size <= frac)
            if repeated is not None and repeated / size > frac:
                return f"duplicated_{n}_n_grams"
        return None

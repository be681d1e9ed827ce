"""C4's rules (Raffel et al. 2020) as datatrove's `C4QualityFilter` applies them, with its defaults.

Line level: a line is dropped when it lacks terminal punctuation, has fewer than 3 words, a word
over 1000 characters, mentions javascript or a cookie/terms-of-use phrase. Document level: the
document is dropped for `lorem_ipsum`, `curly_bracket`, or `too_few_sentences` (fewer than 5
sentences in the kept lines). A kept document's text becomes its kept lines.

Chinese and Japanese documents (by `lang`): words are counted in characters (curate.text.words),
a line may also end with CJK sentence-final punctuation (。！？ and a closing quote or bracket after
it), and the policy phrases include their Chinese and Japanese forms; thresholds per language come
from curate.filters.profiles.
"""

from __future__ import annotations

import functools
import math
import operator
import re
import unicodedata
from dataclasses import dataclass
from itertools import compress, repeat

from datatrove.utils.text import TERMINAL_PUNCTUATION

from curate.filters.base import DocView, Filter
from curate.filters.profiles import LanguageParams
from curate.text.words import CJK_CLASS, is_cjk_lang, split_words, split_words_cjk

CITATION = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
END_PUNCTUATION = (".", "?", "!", '"', "'")
POLICY_SUBSTRINGS = (
    "terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies",
)  # fmt: skip
# Full-width forms and the closing quotes / brackets that follow a sentence end in CJK text.
CJK_END_PUNCTUATION = (*END_PUNCTUATION, "。", "！", "？", "．", "」", "』", "”", "’", "）", "】")
CJK_POLICY_SUBSTRINGS = (
    *POLICY_SUBSTRINGS, "使用条款", "服务条款", "隐私政策", "隱私權政策", "隐私声明", "cookie政策",
    "使用cookie", "使用 cookie", "利用規約", "プライバシーポリシー", "クッキー", "個人情報保護方針",
)  # fmt: skip
# `any(s in line for s in phrases)` as one regex search, and `line.endswith(marks)` as one set
# lookup of the last character (every mark is one character).
_POLICY = re.compile("|".join(map(re.escape, POLICY_SUBSTRINGS)))
_CJK_POLICY = re.compile("|".join(map(re.escape, CJK_POLICY_SUBSTRINGS)))
_END = frozenset(END_PUNCTUATION)
_CJK_END = frozenset(CJK_END_PUNCTUATION)
_LAST_CHAR = operator.itemgetter(slice(-1, None))
assert all(len(c) == 1 for c in _CJK_END)


@functools.lru_cache(maxsize=16)
def _cjk_at_least(n: int) -> re.Pattern:
    """Matches a line with at least `n` Han/Kana characters: each is one word of its own
    (curate.text.words), so the line has at least `n` words without tokenising it."""
    return re.compile(f"(?:[^{CJK_CLASS}]*[{CJK_CLASS}]){{{n}}}")


@dataclass
class C4Params:
    remove_citations: bool = True
    filter_no_terminal_punct: bool = True
    min_num_sentences: int = 5  # -1 disables
    min_words_per_line: int = 3  # -1 disables
    max_word_length: int = 1000  # -1 disables
    filter_lorem_ipsum: bool = True
    filter_javascript: bool = True
    filter_curly_bracket: bool = True
    filter_policy: bool = True


def _is_punct(token: str) -> bool:
    """spaCy's `is_punct`: every character is Unicode punctuation (category P*)."""
    return all(unicodedata.category(c)[0] == "P" for c in token)


def count_sentences(line: str, cjk: bool = False, tokens: list[str] | None = None) -> int:
    """Sentences as spaCy's Sentencizer splits them (datatrove's `split_into_sentences`).

    A new sentence starts at the first token that is not punctuation after a sentence-final
    token ('.', '!', '?' and the other scripts' terminal marks, 。！？ included).
    """
    if tokens is None:
        tokens = split_words_cjk(line) if cjk else split_words(line)
    if not tokens:
        return 0
    n, seen_end = 1, False
    for tok in tokens:
        if tok in TERMINAL_PUNCTUATION:
            seen_end = True
        elif seen_end and not _is_punct(tok):
            n += 1
            seen_end = False
    return n


class C4(Filter):
    name = "c4"

    def __init__(self, params: C4Params | None = None, languages: dict | None = None) -> None:
        super().__init__()
        self.p = params or C4Params()
        self.params = LanguageParams(self.name, self.p, languages)

    def check(self, doc: DocView) -> str | None:
        p = self.params.get(doc.lang)
        cjk = is_cjk_lang(doc.lang)
        end_punct = _CJK_END if cjk else _END
        policy = _CJK_POLICY if cjk else _POLICY
        min_words = p.min_words_per_line
        enough_cjk = _cjk_at_least(math.ceil(min_words)).match if cjk and min_words > 0 else None
        kept: list[str] = []
        sentences = 0
        dropped = 0
        lines = list(map(str.strip, doc.lines))
        if p.filter_no_terminal_punct:
            # A line without a terminal mark at its end is dropped whichever rule drops it first, and
            # only a citation mark removed ("[1]") can change its end: the loop visits the others.
            ends = map(end_punct.__contains__, map(_LAST_CHAR, lines))
            candidates = list(
                compress(lines, map(operator.or_, ends, map(operator.contains, lines, repeat("["))))
            )
            dropped = len(lines) - len(candidates)
            lines = candidates
        for line in lines:
            # Whitespace separates words except in Han/Kana runs, where a "word" is a whole clause:
            # there, tokens only for the lines that get past the punctuation rule (most do not).
            words = None if cjk else line.split()
            # no word is longer than its line
            if (
                p.max_word_length != -1
                and len(line) > p.max_word_length
                and (
                    any(len(w) > p.max_word_length for w in words)
                    if words is not None
                    else any(len(w) > p.max_word_length for w in split_words_cjk(line))
                )
            ):
                dropped += 1
                continue
            if p.remove_citations and "[" in line:
                line = CITATION.sub("", line)
            if p.filter_no_terminal_punct and (line[-1:] not in end_punct or line.endswith("...")):
                dropped += 1
                continue
            # Enough Han/Kana characters alone make enough words: no tokens needed for the count.
            if words is None and not (enough_cjk is not None and enough_cjk(line)):
                words = split_words_cjk(line)
            if words is not None and len(words) < min_words:
                dropped += 1
                continue
            lower = line.lower()
            if p.filter_lorem_ipsum and "lorem ipsum" in lower:
                return "lorem_ipsum"
            if p.filter_javascript and "javascript" in lower:
                dropped += 1
                continue
            if p.filter_curly_bracket and "{" in line:
                return "curly_bracket"
            if p.filter_policy and policy.search(lower):
                dropped += 1
                continue
            # Only whether the total reaches the minimum matters: stop tokenising once it does.
            if p.min_num_sentences != -1 and sentences < p.min_num_sentences:
                sentences += count_sentences(line, cjk, words if cjk else None)
            kept.append(line)
        if sentences < p.min_num_sentences:
            return "too_few_sentences"
        if dropped:
            self.count("lines_dropped", dropped)
        text = "\n".join(kept).strip()
        if text != doc.text:  # also when lines were only stripped or lost a citation mark
            doc.text = text
        return None

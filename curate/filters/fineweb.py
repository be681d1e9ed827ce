"""FineWeb's own quality rules (Penedo et al. 2024) as datatrove's `FineWebQualityFilter`, same defaults.

Drops documents whose non-empty lines mostly lack terminal punctuation (`line_punct_ratio`), are
mostly short (`short_line_ratio`), repeat each other (`char_dup_ratio`), or that are lists: many
newlines per word (`list_ratio`). Thresholds per document language: curate.filters.profiles
(Chinese and Japanese sentence ends 。！？ are in datatrove's TERMINAL_PUNCTUATION already).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from operator import itemgetter

from datatrove.utils.text import TERMINAL_PUNCTUATION

from curate.filters.base import DocView, Filter
from curate.filters.gopher import duplicates
from curate.filters.profiles import LanguageParams
from curate.text.words import CJK_CLASS, is_cjk_lang

# datatrove's line.endswith(tuple(TERMINAL_PUNCTUATION)): 159 single characters, so one set lookup
# of the last character (the lines are not empty) instead of up to 159 comparisons per line.
_STOP_CHARS = frozenset(TERMINAL_PUNCTUATION)
assert all(len(c) == 1 for c in _STOP_CHARS)
_LAST = itemgetter(-1)
_CJK_RUN = re.compile(f"[{CJK_CLASS}]+")


@dataclass
class FineWebParams:
    line_punct_thr: float = 0.12
    line_punct_exclude_zero: bool = False
    short_line_thr: float = 0.67
    short_line_length: int = 30
    char_duplicates_ratio: float = 0.01
    new_line_ratio: float = 0.3


class FineWeb(Filter):
    name = "fineweb"

    def __init__(self, params: FineWebParams | None = None, languages: dict | None = None) -> None:
        super().__init__()
        self.p = params or FineWebParams()
        self.params = LanguageParams(self.name, self.p, languages)

    def check(self, doc: DocView) -> str | None:
        p, text = self.params.get(doc.lang), doc.text
        lines = list(filter(str.strip, text.split("\n")))  # the non-blank lines
        if not lines:
            return "empty"
        ratio = sum(map(_STOP_CHARS.__contains__, map(_LAST, lines))) / len(lines)
        if ratio < p.line_punct_thr and not (ratio == 0 and p.line_punct_exclude_zero):
            return "line_punct_ratio"
        # A share is at most 1: a threshold of 1 or more (999 in the CJK profiles) never removes.
        if not p.short_line_thr >= 1:
            short = sum(1 for n in map(len, lines) if n <= p.short_line_length)
            if short / len(lines) > p.short_line_thr:
                return "short_line_ratio"
        if duplicates(lines)[1] / (len(text) - text.count("\n")) > p.char_duplicates_ratio:
            return "char_dup_ratio"
        newlines = text.count("\n")
        # Every whitespace-separated chunk holds at least one word token, and in Chinese and Japanese
        # every Han/Kana character is one: when the ratio passes with the larger of those counts it
        # passes with tokens. Tokenise (costly after C4 rewrote the text) only if not.
        if newlines / max(len(text.split()), 1) > p.new_line_ratio:
            if (
                is_cjk_lang(doc.lang)
                and newlines / max(sum(map(len, _CJK_RUN.findall(text))), 1) <= p.new_line_ratio
            ):
                return None
            if newlines / max(len(doc.words), 1) > p.new_line_ratio:
                return "list_ratio"
        return None

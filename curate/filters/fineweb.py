"""FineWeb's own quality rules (Penedo et al. 2024) as datatrove's `FineWebQualityFilter`, same defaults.

Drops documents whose non-empty lines mostly lack terminal punctuation (`line_punct_ratio`), are
mostly short (`short_line_ratio`), repeat each other (`char_dup_ratio`), or that are lists: many
newlines per word (`list_ratio`). Thresholds per document language: curate.filters.profiles
(Chinese and Japanese sentence ends 。！？ are in datatrove's TERMINAL_PUNCTUATION already).
"""

from __future__ import annotations

from dataclasses import dataclass

from datatrove.utils.text import TERMINAL_PUNCTUATION

from curate.filters.base import DocView, Filter
from curate.filters.gopher import duplicates
from curate.filters.profiles import LanguageParams

_STOP_CHARS = tuple(TERMINAL_PUNCTUATION)


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
        lines = [line for line in text.split("\n") if line.strip()]
        if not lines:
            return "empty"
        ratio = sum(1 for line in lines if line.endswith(_STOP_CHARS)) / len(lines)
        if ratio < p.line_punct_thr and not (ratio == 0 and p.line_punct_exclude_zero):
            return "line_punct_ratio"
        if sum(1 for line in lines if len(line) <= p.short_line_length) / len(lines) > p.short_line_thr:
            return "short_line_ratio"
        if duplicates(lines)[1] / (len(text) - text.count("\n")) > p.char_duplicates_ratio:
            return "char_dup_ratio"
        newlines = text.count("\n")
        # Every whitespace-separated chunk holds at least one word token, so when the ratio passes
        # with chunks it passes with tokens: tokenise (costly after C4 rewrote the text) only if not.
        if newlines / max(len(text.split()), 1) > p.new_line_ratio:
            if newlines / max(len(doc.words), 1) > p.new_line_ratio:
                return "list_ratio"
        return None

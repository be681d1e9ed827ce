"""The filter interface shared by every family of the `filter` stage.

A filter looks at one document through a `DocView` and returns `None` (keep) or a snake_case
reason (drop). The view computes the expensive things (word tokens, lines) once per document
and shares them between filters; a filter that rewrites the text (C4 drops lines, `regex` drops
lines) assigns `view.text`, which invalidates the cached tokens. Words follow the document's
`lang` (written by the language filter, which runs first): Han and Kana characters one by one for
Chinese and Japanese, the English rules otherwise (curate.text.words).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import ClassVar

from curate.text.words import CJK_LANGS, cjk_fraction, words_for

_UNSET = object()
# A share of Han/Kana among the first MIXED_SAMPLE non-space characters from which a page is
# measured as Chinese / Japanese whatever its label: ~1 in 5 characters is already about half of
# its words (an English word is ~5 characters, a Han character ~0.6 of a word).
MIXED_CJK_FRACTION = 0.2
MIXED_SAMPLE = 2000
_KANA = re.compile("[\u3041-\u309f\u30a1-\u30fa]")


class DocView:
    """One document (the record dict) plus lazily computed, cached text features."""

    __slots__ = ("record", "_text", "_words", "_lines", "_lang")

    def __init__(self, record: dict) -> None:
        self.record = record
        self._text: str = record.get("text") or ""
        self._words: list[str] | None = None
        self._lines: list[str] | None = None
        self._lang: str | None | object = _UNSET

    @property
    def text(self) -> str:
        return self._text

    @text.setter
    def text(self, value: str) -> None:
        self._text = value
        self.record["text"] = value
        self._words = self._lines = None  # the language stays: decided on the page as it came

    @property
    def lang(self) -> str | None:
        """The language whose words and thresholds apply: the record's `lang`, except that a page
        labelled with a spaced language but written largely in Han/Kana (a Chinese manual page
        whose options and code make the language ID say `en`) is measured as Chinese or Japanese.
        Documents without a `lang` keep the English rules."""
        if self._lang is _UNSET:
            lang = self.record.get("lang")
            if lang is not None and lang not in CJK_LANGS and cjk_fraction(self._text) >= MIXED_CJK_FRACTION:
                lang = "ja" if _KANA.search(self._text[:MIXED_SAMPLE]) else "zh"
            self._lang = lang
        return self._lang

    @property
    def words(self) -> list[str]:
        """Word tokens of the document's language (curate.text.words): for English and documents
        without a `lang`, as datatrove's English tokenizer would give them."""
        if self._words is None:
            self._words = words_for(self.lang)(self._text)
        return self._words

    @property
    def lines(self) -> list[str]:
        """`text.splitlines()` (the line notion of Gopher and C4)."""
        if self._lines is None:
            self._lines = self._text.splitlines()
        return self._lines


class Filter:
    """Base class: `check` returns None to keep the document or a snake_case reason to drop it.

    `counters` collects per-filter statistics beyond the verdict (e.g. lines dropped); the
    stage drains them into the shard's `ShardStats` under the filter's name.
    """

    name: ClassVar[str]

    def __init__(self) -> None:
        self.counters: Counter = Counter()

    def check(self, doc: DocView) -> str | None:
        raise NotImplementedError

    def count(self, key: str, n: int = 1) -> None:
        self.counters[key] += n

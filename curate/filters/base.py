"""The filter interface shared by every family of the `filter` stage.

A filter looks at one document through a `DocView` and returns `None` (keep) or a snake_case
reason (drop). The view computes the expensive things (word tokens, lines) once per document
and shares them between filters; a filter that rewrites the text (C4 drops lines, `regex` drops
lines) assigns `view.text`, which invalidates the cached tokens. Words follow the document's
`lang` (written by the language filter, which runs first): Han and Kana characters one by one for
Chinese and Japanese, the English rules otherwise (curate.text.words).
"""

from __future__ import annotations

from collections import Counter
from typing import ClassVar

from curate.text.words import words_for


class DocView:
    """One document (the record dict) plus lazily computed, cached text features."""

    __slots__ = ("record", "_text", "_words", "_lines")

    def __init__(self, record: dict) -> None:
        self.record = record
        self._text: str = record.get("text") or ""
        self._words: list[str] | None = None
        self._lines: list[str] | None = None

    @property
    def text(self) -> str:
        return self._text

    @text.setter
    def text(self, value: str) -> None:
        self._text = value
        self.record["text"] = value
        self._words = self._lines = None

    @property
    def lang(self) -> str | None:
        return self.record.get("lang")

    @property
    def words(self) -> list[str]:
        """Word tokens of the document's language (curate.text.words): for English and documents
        without a `lang`, as datatrove's English tokenizer would give them."""
        if self._words is None:
            self._words = words_for(self.record.get("lang"))(self._text)
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

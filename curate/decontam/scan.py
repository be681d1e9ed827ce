"""Scanning documents against the index, and cutting matched spans out of a document.

A batch of documents is hashed at once (`TextBatch`); only the n-grams that hit the index are
looked at in Python, so a clean batch costs a few numpy passes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from curate.decontam.index import NgramIndex
from curate.decontam.ngrams import TextBatch
from curate.text.words import CJK_CLASS

# A normalised word is a Han/Kana character or a maximal run of the other word characters
# (normalize_text turns every other character into a space), so the i-th match of this pattern
# in a text is its i-th word.
_WORD = re.compile(f"[{CJK_CLASS}]|[^\\W_{CJK_CLASS}]+")


@dataclass
class DocMatch:
    """The index hits of one document."""

    keys: dict[int, int] = field(default_factory=dict)  # item index -> number of matched keys
    spans: list[tuple[int, int]] = field(default_factory=list)  # matched word ranges [first, end)
    examples: dict[int, str] = field(default_factory=dict)  # item index -> one matched n-gram

    def benchmarks(self, index: NgramIndex) -> dict[str, int]:
        """{benchmark: matched keys}, most matched first (ties: the order of the items)."""
        out: dict[str, int] = {}
        for item, k in self.keys.items():
            b = index.benchmark_of(item)
            out[b] = out.get(b, 0) + k
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def scan_texts(index: NgramIndex, texts: list[str]) -> tuple[TextBatch, list[DocMatch | None]]:
    """Hash every n-gram of `texts` (and the m-grams for short items) and collect the hits."""
    batch = TextBatch.from_texts(texts, bool(index.info.get("t2s")))
    matches: list[DocMatch | None] = [None] * len(texts)
    for m in index.lengths:
        hashes, first = batch.ngrams(m)
        q, lo, hi = index.lookup(hashes)
        for qi, a, b in zip(q.tolist(), lo.tolist(), hi.tolist()):
            g = int(first[qi])
            d = int(batch.word_doc[g])
            match = matches[d] or DocMatch()
            matches[d] = match
            local = g - int(batch.doc_first_word[d])
            match.spans.append((local, local + m))
            for item in index.item[a:b].tolist():
                match.keys[item] = match.keys.get(item, 0) + 1
                if item not in match.examples:
                    match.examples[item] = batch.text_of(g, m)
    return batch, matches


def word_char_spans(text: str, expected_words: int) -> list[tuple[int, int]] | None:
    """Character span of each normalised word in `text`; None when they cannot be lined up
    (NFKC or lowercasing split a word, so the counts differ): the caller then drops the document."""
    spans = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    return spans if len(spans) == expected_words else None


def mask_text(
    text: str, word_spans: list[tuple[int, int]], matched: list[tuple[int, int]], margin: int
) -> tuple[str, int]:
    """Cut every matched word range plus `margin` characters each side; (rest, ranges cut)."""
    cuts: list[list[int]] = []
    for first, end in sorted(matched):
        a = max(0, word_spans[first][0] - margin)
        b = min(len(text), word_spans[end - 1][1] + margin)
        if cuts and a <= cuts[-1][1]:
            cuts[-1][1] = max(cuts[-1][1], b)
        else:
            cuts.append([a, b])
    pieces, pos = [], 0
    for a, b in cuts:
        pieces.append(text[pos:a])
        pos = b
    pieces.append(text[pos:])
    rest = "\n".join(p.strip() for p in pieces if p.strip())
    return rest, len(cuts)


def doc_word_count(batch: TextBatch, d: int) -> int:
    return int(np.diff(batch.doc_first_word[d : d + 2])[0])

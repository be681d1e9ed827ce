"""Text normalisation shared by dedup and decontamination: the same text gives the same words.

Lowercase, punctuation removed, every digit folded to 0, whitespace collapsed. Unicode letters
are kept (so German, French, CJK text still has words).
"""

from __future__ import annotations

import re
import unicodedata

_PUNCT = re.compile(r"[^\w\s]|_", re.UNICODE)
_DIGIT = re.compile(r"\d", re.UNICODE)
_SPACE = re.compile(r"\s+", re.UNICODE)


def normalize_text(text: str) -> str:
    """'Hello, World! 2024' -> 'hello world 0000'."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _PUNCT.sub(" ", text)
    text = _DIGIT.sub("0", text)
    return _SPACE.sub(" ", text).strip()


def words(text: str) -> list[str]:
    """The normalised words of `text`."""
    norm = normalize_text(text)
    return norm.split(" ") if norm else []


def word_ngrams(tokens: list[str], n: int) -> list[str]:
    """Space-joined word n-grams; a text shorter than n words gives itself as one n-gram."""
    if len(tokens) < n:
        return [" ".join(tokens)] if tokens else []
    return [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]

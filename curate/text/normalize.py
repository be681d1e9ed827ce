"""Text normalisation shared by dedup and decontamination: the same text gives the same words.

NFKC (full-width and half-width forms fold together: `ＡＢＣ，１２３` is `ABC,123`), lowercase,
punctuation removed, every digit folded to 0, whitespace collapsed. Unicode letters are kept.
Han and Kana characters become words of their own (curate.text.words), so word n-gram shingles
and decontamination n-grams are character n-grams inside Chinese and Japanese runs and word
n-grams elsewhere, run by run in mixed text; spaces inserted into Chinese text change nothing.
Text without Han or Kana normalises exactly as before they were handled.

`t2s=True` also maps traditional Chinese characters to simplified ones (one character each, the
table in curate/text/data/t2s.tsv), so a traditional copy of a simplified page is a duplicate.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path

from curate.text.words import CJK_CLASS

_PUNCT = re.compile(r"[^\w\s]|_", re.UNICODE)
_DIGIT = re.compile(r"\d", re.UNICODE)
_SPACE = re.compile(r"\s+", re.UNICODE)
_CJK_RUN = re.compile(f"[{CJK_CLASS}]+")
_T2S_TABLE = Path(__file__).with_name("data") / "t2s.tsv"


@functools.lru_cache(maxsize=1)
def t2s_table() -> dict[int, str]:
    """str.translate table: traditional -> simplified Chinese characters."""
    table = {}
    for line in _T2S_TABLE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            trad, simp = line.split("\t")
            table[ord(trad)] = simp
    return table


def _spaced(m: re.Match) -> str:
    return " " + " ".join(m.group()) + " "


def normalize_text(text: str, t2s: bool = False) -> str:
    """'Hello, World! 2024' -> 'hello world 0000'; '你好，世界' -> '你 好 世 界'."""
    text = unicodedata.normalize("NFKC", text).lower()
    if t2s:
        text = text.translate(t2s_table())
    text = _PUNCT.sub(" ", text)
    text = _DIGIT.sub("0", text)
    text = _CJK_RUN.sub(_spaced, text)
    return _SPACE.sub(" ", text).strip()


def words(text: str, t2s: bool = False) -> list[str]:
    """The normalised words of `text`."""
    norm = normalize_text(text, t2s)
    return norm.split(" ") if norm else []


def word_ngrams(tokens: list[str], n: int) -> list[str]:
    """Space-joined word n-grams; a text shorter than n words gives itself as one n-gram."""
    if len(tokens) < n:
        return [" ".join(tokens)] if tokens else []
    return [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]

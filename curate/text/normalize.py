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
# The punctuation of CJK text: CJK symbols and punctuation (U+3001-303F less the iteration marks
# and numerals that are words), the full-width and half-width forms' punctuation, and the
# general punctuation block (quotes, dashes, ellipsis). All of category P*, checked by tests.
CJK_PUNCT_CHARS = (
    "\u3001-\u3003\u3008-\u3011\u3014-\u301f\u3030\u303d\u30fb"
    "\uff01-\uff03\uff05-\uff0a\uff0c-\uff0f\uff1a\uff1b\uff1f\uff20\uff3b-\uff3d\uff3f\uff5b\uff5d"
    "\uff5f-\uff65\u2010-\u2027\u2030-\u2043\u2045-\u2051\u2053-\u205e"
)
_CJK_PUNCT = re.compile(f"[{CJK_PUNCT_CHARS}]")
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


def has_cjk(text: str) -> bool:
    return _CJK_RUN.search(text) is not None


def nfkc_lower_cjk(text: str, t2s: bool = False) -> str:
    """NFKC, lowercase (and t2s) of Chinese / Japanese text, its CJK punctuation turned to spaces.

    CJK punctuation is usually all that NFKC would change in such text. Punctuation (P*)
    normalises to punctuation or spaces (tests check every code point), so taking it out first
    gives the same words, and the rest is then usually NFKC already: a quick check, not a rewrite.
    """
    text = _CJK_PUNCT.sub(" ", text)
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    text = text.lower()
    return text.translate(t2s_table()) if t2s else text


def collapse(text: str) -> str:
    """The last steps of `normalize_text` (Han/Kana left unspaced): punctuation to spaces, digits
    to 0, whitespace runs to one space (str.split's whitespace is \\s's, at twice the speed)."""
    return " ".join(_DIGIT.sub("0", _PUNCT.sub(" ", text)).split())


def _spaced(m: re.Match) -> str:
    return " " + " ".join(m.group()) + " "


def normalize_text(text: str, t2s: bool = False, split_cjk: bool = True) -> str:
    """'Hello, World! 2024' -> 'hello world 0000'; '你好，世界' -> '你 好 世 界'.

    `split_cjk=False` leaves Han/Kana characters unspaced (dedup's normalise_batch splits them in
    numpy instead); the words are the same.
    """
    if not split_cjk and has_cjk(text):
        text = nfkc_lower_cjk(text, t2s)
    else:
        text = unicodedata.normalize("NFKC", text).lower()
        if t2s:
            text = text.translate(t2s_table())
    if not split_cjk:
        return collapse(text)
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

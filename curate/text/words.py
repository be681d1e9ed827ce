"""Word tokens as datatrove's filters see them, without spaCy.

datatrove's Gopher and FineWeb filters count words with `split_into_words`, which for English
runs spaCy's rule-based tokenizer (whitespace split, then prefix/suffix/infix punctuation rules
and contraction exceptions). That costs tens of microseconds per word. The single regex below
reproduces the parts that move the filters' statistics (punctuation as separate tokens,
`don't` -> `do n't`, `It's` -> `It 's`, `e.g.`/`3.5`/`10:30` kept whole, URLs whole, `...` as
one token) in one C-level `findall`; tests/curate/test_filters_agreement.py checks that the
filters' decisions agree with datatrove's on >= 99% of the sample crawl.

Chinese and Japanese (`split_words_cjk`): whitespace does not separate their words, a
whitespace "word" is a clause or a line. Every Han or Kana character is a token of its own; the
runs between them (Latin identifiers, numbers, punctuation) are split by the English rules above,
so mixed text (Chinese prose with English code names) is handled run by run. Why characters and
not a segmenter, measured by `bench/cjk.py --segmenter-stats` on real text (Debian's manpages-zh
and manpages-ja, 1 MB each, a loaded 2-core machine): datatrove's spaCy + jieba (`cmn_Hani`)
splits 0.13 MB/s, jieba alone 0.86 MB/s, spaCy + SudachiPy (`jpn_Jpan`) 0.22 MB/s; this module's
one-regex split 8-9 MB/s, 10-60x faster. A segmenter would make a Chinese page several times
slower to filter than an English one. What word-based rules need from a segmenter is its word
count and word length, and those are nearly proportional to characters: datatrove's tokenizers
give 1.75 (zh) and 1.85 (ja) characters per Han/Kana word on that text, so
`curate.filters.profiles` states FineWeb-2's word-based thresholds in characters (word counts and
word n-gram lengths times that factor). Stop words need no segmenter at all: FineWeb-2's Chinese
and Japanese stop words are single characters.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_PATTERN = r"""
      (?:https?://|www\.)\S+?(?=[.,;:!?)\]"']*(?:\s|$))   # a URL stays one token
    {contractions}
    | ['’](?:[sdmSDM]|re|ll|ve|RE|LL|VE)(?!\w)          # It|'s, we|'re
    | (?:[^\W\d_]\.){2,}                                # e.g.  U.S.A.
    | (?<![\w.:])(?:1[0-2]|[1-9])(?=[ap]m(?!\w))          # 10|am
    | \w+(?:[.:]\w+|(?<=\d),(?=\d)\w+|['’](?!(?:[sdmSDM]|re|ll|ve|RE|LL|VE)(?!\w))\w+)*  # words, 3.5, d'abord
    | \.{2,}|-{2,}                                      # ... and -- are single tokens
    | [^\w\s]                                           # any other symbol on its own
"""
# do|n't: the lazy scan costs a third of the tokenizer's time, so only texts containing "n't" pay it.
_CONTRACTIONS = r"""| \w+?(?=n['’]t(?!\w)) | n['’]t(?!\w)"""
_TOKEN = re.compile(_PATTERN.replace("{contractions}", ""), re.VERBOSE)
_TOKEN_NT = re.compile(_PATTERN.replace("{contractions}", _CONTRACTIONS), re.VERBOSE)


# spaCy's English exceptions for apostrophe-less contractions ("dont" -> "do nt", German "im" ->
# "i m"): whole tokens only, lower case here, the capitalised forms derived below.
_SPLITS = """ai|nt are|nt can|not ca|nt ca|nt|ve could|nt could|nt|ve could|ve dare|nt did|nt did|nt|ve
does|nt does|nt|ve do|nt do|nt|ve gon|na got|ta had|nt had|nt|ve has|nt have|nt he|d he|d|ve he|ll|ve he|s
how|d how|d|ve how|ll how|ll|ve how|re how|s how|ve i|d i|d|ve i|ll|ve i|m i|m|a is|nt it|d it|d|ve it|ll
it|ll|ve i|ve may|nt may|nt|ve might|nt might|nt|ve might|ve must|nt must|nt|ve must|ve need|nt need|nt|ve
not|ve ought|nt ought|nt|ve sha|nt sha|nt|ve she|d|ve she|ll|ve she|s should|nt should|nt|ve should|ve that|d
that|d|ve that|ll that|ll|ve that|s there|d there|d|ve there|ll there|ll|ve there|re there|s there|ve these|d
these|d|ve these|ll these|ll|ve these|re these|ve they|d they|d|ve they|ll they|ll|ve they|re they|ve this|d
this|d|ve this|ll this|ll|ve this|s those|d those|d|ve those|ll those|ll|ve those|re those|ve was|nt we|d
we|d|ve we|ll|ve were|nt we|ve what|d what|d|ve what|ll what|ll|ve what|re what|s what|ve when|d when|d|ve
when|ll when|ll|ve when|re when|s when|ve where|d where|d|ve where|ll where|ll|ve where|re where|s where|ve
who|d who|d|ve who|ll who|ll|ve who|s who|ve why|d why|d|ve why|ll why|ll|ve why|re why|s why|ve wo|nt
wo|nt|ve would|nt would|nt|ve would|ve y|all you|d you|d|ve you|ll you|ll|ve you|re you|ve"""
_EXCEPTIONS: dict[str, list[str]] = {}
for _entry in _SPLITS.split():
    _pieces = _entry.split("|")
    _EXCEPTIONS["".join(_pieces)] = _pieces
    _EXCEPTIONS["".join(_pieces).capitalize()] = [_pieces[0].capitalize(), *_pieces[1:]]
_EXCEPTION_SET = frozenset(_EXCEPTIONS)


def split_words(text: str) -> list[str]:
    """'Hello, it's 3.5 e.g. foo-bar...' -> ['Hello', ',', 'it', "'s", '3.5', 'e.g.', 'foo', '-', 'bar', '...']."""
    pattern = _TOKEN_NT if ("n't" in text or "n’t" in text) else _TOKEN
    tokens = pattern.findall(text)
    if _EXCEPTION_SET.isdisjoint(tokens):  # the common case, a C-level set scan
        return tokens
    out: list[str] = []
    for tok in tokens:
        pieces = _EXCEPTIONS.get(tok)
        if pieces is None:
            out.append(tok)
        else:
            out.extend(pieces)
    return out


# --------------------------------------------------------------------------- Han and Kana
# Characters that are words of their own: Han (CJK radicals, 々〆〇, ideographs and their
# extensions and compatibility forms) and Kana (hiragana, katakana with the prolonged sound mark,
# half-width katakana). Not the CJK punctuation (。、「」・): those stay symbols, as in English.
# Hangul is left out: Korean separates its words with spaces.
CJK_RANGES = (
    (0x2E80, 0x2FDF), (0x3005, 0x3007), (0x3021, 0x3029), (0x3038, 0x303C), (0x3041, 0x309F),
    (0x30A1, 0x30FA), (0x30FC, 0x30FF), (0x31F0, 0x31FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF), (0xFF66, 0xFF9F), (0x20000, 0x3134F),
)  # fmt: skip
CJK_CLASS = "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in CJK_RANGES)  # for a regex [...] class
CJK_CHAR = re.compile(f"[{CJK_CLASS}]")
# The English pattern with its word characters narrowed to non-CJK ones, behind one alternative
# that takes a Han or Kana character alone: one C-level findall for mixed text too. Symbols
# ([^\w\s]) keep their class: Han and Kana are word characters, so never symbols.
_W = "[^\\W{cjk}]"


def _narrow(pattern: str) -> str:
    pattern = pattern.replace(r"[^\w\s]", "<SYMBOL>").replace(r"(?<![\w.:])", "(?<![.:])(?<!<W>)")
    pattern = pattern.replace(r"[^\W\d_]", "[^\\W\\d_{cjk}]").replace(r"\w", "<W>")
    # A URL ends at the first Han/Kana character or CJK punctuation too (Chinese text runs on
    # after a link without a space).
    stop = r"\s{cjk}\u3000-\u303f\uff01-\uff0f\uff1a-\uff20"
    pattern = pattern.replace(r"\S+?(?=", f"[^{stop}]+?(?=").replace(r"(?:\s|$)", f"(?:[{stop}]|$)")
    return pattern.replace("<SYMBOL>", r"[^\w\s]").replace("<W>", _W)


_CJK_PATTERN = "[{cjk}] |" + _narrow(_PATTERN)
_TOKEN_CJK = re.compile(_CJK_PATTERN.replace("{contractions}", "").replace("{cjk}", CJK_CLASS), re.VERBOSE)
_TOKEN_CJK_NT = re.compile(
    _CJK_PATTERN.replace("{contractions}", _narrow(_CONTRACTIONS)).replace("{cjk}", CJK_CLASS), re.VERBOSE
)
# Languages whose text is split by `split_words_cjk` (fastText lid.176 labels): Chinese (and its
# Wu and Cantonese labels) and Japanese.
CJK_LANGS = frozenset({"zh", "ja", "wuu", "yue"})


def split_words_cjk(text: str) -> list[str]:
    """'用 pip 安装，然后运行。' -> ['用', 'pip', '安', '装', '，', '然', '后', '运', '行', '。']."""
    pattern = _TOKEN_CJK_NT if ("n't" in text or "n’t" in text) else _TOKEN_CJK
    tokens = pattern.findall(text)
    if _EXCEPTION_SET.isdisjoint(tokens):
        return tokens
    return [p for tok in tokens for p in _EXCEPTIONS.get(tok, (tok,))]


def is_cjk_lang(lang: str | None) -> bool:
    return lang in CJK_LANGS


def words_for(lang: str | None) -> Callable[[str], list[str]]:
    """The word splitter for a document language: per character in Han/Kana for Chinese and
    Japanese, datatrove's English rules (whitespace and punctuation) for every other language."""
    return split_words_cjk if lang in CJK_LANGS else split_words


def cjk_fraction(text: str, sample: int = 2000) -> float:
    """Share of Han/Kana characters among the first `sample` non-space characters."""
    head = "".join(text[: sample * 2].split())[:sample]
    return len(CJK_CHAR.findall(head)) / len(head) if head else 0.0

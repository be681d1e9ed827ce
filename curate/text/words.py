"""Word tokens as datatrove's filters see them, without spaCy.

datatrove's Gopher and FineWeb filters count words with `split_into_words`, which for English
runs spaCy's rule-based tokenizer (whitespace split, then prefix/suffix/infix punctuation rules
and contraction exceptions). That costs tens of microseconds per word. The single regex below
reproduces the parts that move the filters' statistics (punctuation as separate tokens,
`don't` -> `do n't`, `It's` -> `It 's`, `e.g.`/`3.5`/`10:30` kept whole, URLs whole, `...` as
one token) in one C-level `findall`; tests/curate/test_filters_agreement.py checks that the
filters' decisions agree with datatrove's on >= 99% of the sample crawl.
"""

from __future__ import annotations

import re

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

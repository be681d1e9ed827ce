"""C4's rules (Raffel et al. 2020) as datatrove's `C4QualityFilter` applies them, with its defaults.

Line level: a line is dropped when it lacks terminal punctuation, has fewer than 3 words, a word
over 1000 characters, mentions javascript or a cookie/terms-of-use phrase. Document level: the
document is dropped for `lorem_ipsum`, `curly_bracket`, or `too_few_sentences` (fewer than 5
sentences in the kept lines). A kept document's text becomes its kept lines.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from datatrove.utils.text import TERMINAL_PUNCTUATION

from curate.filters.base import DocView, Filter
from curate.text.words import split_words

CITATION = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
END_PUNCTUATION = (".", "?", "!", '"', "'")
POLICY_SUBSTRINGS = (
    "terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies",
)  # fmt: skip


@dataclass
class C4Params:
    remove_citations: bool = True
    filter_no_terminal_punct: bool = True
    min_num_sentences: int = 5  # -1 disables
    min_words_per_line: int = 3  # -1 disables
    max_word_length: int = 1000  # -1 disables
    filter_lorem_ipsum: bool = True
    filter_javascript: bool = True
    filter_curly_bracket: bool = True
    filter_policy: bool = True


def _is_punct(token: str) -> bool:
    """spaCy's `is_punct`: every character is Unicode punctuation (category P*)."""
    return all(unicodedata.category(c)[0] == "P" for c in token)


def count_sentences(line: str) -> int:
    """Sentences as spaCy's Sentencizer splits them (datatrove's `split_into_sentences`).

    A new sentence starts at the first token that is not punctuation after a sentence-final
    token ('.', '!', '?' and the other scripts' terminal marks).
    """
    tokens = split_words(line)
    if not tokens:
        return 0
    n, seen_end = 1, False
    for tok in tokens:
        if tok in TERMINAL_PUNCTUATION:
            seen_end = True
        elif seen_end and not _is_punct(tok):
            n += 1
            seen_end = False
    return n


class C4(Filter):
    name = "c4"

    def __init__(self, params: C4Params | None = None) -> None:
        super().__init__()
        self.p = params or C4Params()

    def check(self, doc: DocView) -> str | None:
        p = self.p
        kept: list[str] = []
        sentences = 0
        dropped = 0
        for line in doc.lines:
            line = line.strip()
            words = line.split()
            if p.max_word_length != -1 and any(len(w) > p.max_word_length for w in words):
                dropped += 1
                continue
            if p.remove_citations and "[" in line:
                line = CITATION.sub("", line)
            if p.filter_no_terminal_punct and (not line.endswith(END_PUNCTUATION) or line.endswith("...")):
                dropped += 1
                continue
            if len(words) < p.min_words_per_line:
                dropped += 1
                continue
            lower = line.lower()
            if p.filter_lorem_ipsum and "lorem ipsum" in lower:
                return "lorem_ipsum"
            if p.filter_javascript and "javascript" in lower:
                dropped += 1
                continue
            if p.filter_curly_bracket and "{" in line:
                return "curly_bracket"
            if p.filter_policy and any(s in lower for s in POLICY_SUBSTRINGS):
                dropped += 1
                continue
            # Only whether the total reaches the minimum matters: stop tokenising once it does.
            if p.min_num_sentences != -1 and sentences < p.min_num_sentences:
                sentences += count_sentences(line)
            kept.append(line)
        if sentences < p.min_num_sentences:
            return "too_few_sentences"
        if dropped:
            self.count("lines_dropped", dropped)
        text = "\n".join(kept).strip()
        if text != doc.text:  # also when lines were only stripped or lost a citation mark
            doc.text = text
        return None

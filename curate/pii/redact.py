"""Redaction: detected spans -> typed placeholders, in one pass over the text.

`Redactor.redact(text)` returns the text with every span of a `replace` or `drop` type replaced
by its placeholder, and the count per type. The caller decides what `drop` means (the stage
removes the document, stored redacted). Nothing here keeps, logs or raises with an original value.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import re2

from curate.pii.detectors import DETECTORS, PLACEHOLDERS, Span, open_gates

ACTIONS = ("replace", "drop", "keep")


@dataclass(frozen=True)
class CustomPattern:
    """A user pattern (Python `re` syntax) or term list, redacted as `placeholder`."""

    type: str
    regex: re.Pattern | re2._Regexp  # anything with finditer() giving start() / end()
    placeholder: str


def terms_regex(terms: Iterable[str], ignore_case: bool = True):
    """One RE2 alternation over the terms, longest first (a DFA: thousands of names cost one scan).
    ASCII ends need a word boundary ('Ann' does not match inside 'Annual'); CJK terms match
    anywhere (Chinese has no spaces). None for no terms."""
    parts = []
    for t in sorted({t.strip() for t in terms if t and t.strip()}, key=len, reverse=True):
        left = r"\b" if t[0].isascii() and t[0].isalnum() else ""
        right = r"\b" if t[-1].isascii() and t[-1].isalnum() else ""
        parts.append(left + re2.escape(t) + right)
    if not parts:
        return None
    options = re2.Options()
    options.case_sensitive = not ignore_case
    options.max_mem = 64 << 20
    return re2.compile("|".join(parts), options)


class Redactor:
    """Finds and replaces PII; `actions` maps each built-in type to replace / drop / keep."""

    def __init__(
        self, actions: dict[str, str], custom: list[tuple[CustomPattern, str]] | None = None
    ) -> None:
        for t, a in actions.items():
            if t not in DETECTORS or a not in ACTIONS:
                raise ValueError(f"pii: bad action {a!r} for {t!r}")
        self.actions = dict(actions)
        # built-in detectors that run (keep: not even scanned), in priority order
        self.detectors = [(t, f) for t, f in DETECTORS.items() if actions.get(t, "replace") != "keep"]
        self.custom = [(c, a) for c, a in (custom or []) if a != "keep"]
        self.placeholders = dict(PLACEHOLDERS)
        for c, a in self.custom:
            self.actions[c.type] = a
            self.placeholders[c.type] = c.placeholder

    def spans(self, text: str) -> list[Span]:
        """Non-overlapping spans sorted by start; on overlap the earlier, then longer, span wins."""
        found: list[tuple[int, int, int, str]] = []
        gates = open_gates(text)
        if gates:
            for rank, (t, find) in enumerate(self.detectors):
                found.extend((s, -e, rank, t) for s, e, t in find(text, gates))
        base = len(self.detectors)
        for k, (c, _) in enumerate(self.custom):
            found.extend(
                (m.start(), -m.end(), base + k, c.type) for m in c.regex.finditer(text) if m.end() > m.start()
            )
        if not found:
            return []
        found.sort()
        out: list[Span] = []
        end = -1
        for s, neg_e, _, t in found:
            if s >= end:
                out.append((s, -neg_e, t))
                end = -neg_e
        return out

    def redact(self, text: str) -> tuple[str, Counter]:
        """(redacted text, {type: replacements})."""
        spans = self.spans(text)
        counts: Counter = Counter()
        if not spans:
            return text, counts
        parts = []
        pos = 0
        for s, e, t in spans:
            parts.append(text[pos:s])
            parts.append(self.placeholders[t])
            counts[t] += 1
            pos = e
        parts.append(text[pos:])
        return "".join(parts), counts

    def drop_reason(self, counts: Counter) -> str | None:
        """`pii_<type>` for the first type found whose action is drop."""
        for t in counts:
            if self.actions.get(t) == "drop":
                return f"pii_{t}"
        return None

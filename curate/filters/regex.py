"""`regex`: document patterns, line patterns and a URL block-list, compiled with RE2.

RE2 matches in time linear in the text, so a pattern such as `(a+)+$` cannot stall a worker on
a hostile page (Python's `re` backtracks exponentially on it). Features RE2 lacks (backreferences,
lookaround) are configuration errors that name the pattern.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import re2

from curate.config import ConfigPath
from curate.filters.base import DocView, Filter

_DOMAIN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")


@dataclass
class RegexConfig:
    doc_patterns: list[str] = field(default_factory=list)  # a match anywhere drops the document
    line_patterns: list[str] = field(default_factory=list)  # a match drops the line
    # Entries that look like a host name ('spam.example', also its subdomains) match the URL's
    # host; anything else is an RE2 pattern searched in the whole URL.
    url_blocklist: list[str] = field(default_factory=list)
    url_blocklist_file: ConfigPath | None = None  # same entries, one per line, '#' comments
    ignore_case: bool = True

    def __post_init__(self) -> None:
        for key in ("doc_patterns", "line_patterns"):
            for pattern in getattr(self, key):
                compile_pattern(pattern, self.ignore_case, key)
        for entry in self.url_blocklist:
            if not is_domain(entry):
                compile_pattern(entry, self.ignore_case, "url_blocklist")
        if self.url_blocklist_file is not None:
            self.url_blocklist_file = str(self.url_blocklist_file)  # a plain str for the saved YAML


def compile_pattern(pattern: str, ignore_case: bool, where: str) -> re2._Regexp:
    """Compile with RE2; a pattern it refuses is a ValueError that names it."""
    options = re2.Options()
    options.case_sensitive = not ignore_case
    options.log_errors = False
    try:
        return re2.compile(pattern, options)
    except re2.error as e:
        msg = e.args[0].decode() if e.args and isinstance(e.args[0], bytes) else str(e)
        raise ValueError(f"{where}: pattern {pattern!r} is not valid RE2 syntax ({msg})") from None


def is_domain(entry: str) -> bool:
    return bool(entry) and set(entry.lower()) <= _DOMAIN_CHARS and "." in entry.strip(".")


def read_blocklist(path: str) -> list[str]:
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"url_blocklist_file {path!r} does not exist")
    entries = []
    for line in p.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            entries.append(line)
    return entries


class RegexFilter(Filter):
    name = "regex"

    def __init__(self, config: RegexConfig) -> None:
        super().__init__()
        entries = list(config.url_blocklist)
        if config.url_blocklist_file:
            entries += read_blocklist(config.url_blocklist_file)
        self.domains = frozenset(e.lower().strip(".") for e in entries if is_domain(e))
        # One alternation per kind: RE2 runs all the patterns in a single pass over the text.
        self.url_re = self._union(
            [e for e in entries if not is_domain(e)], config.ignore_case, "url_blocklist"
        )
        self.doc_re = self._union(config.doc_patterns, config.ignore_case, "doc_patterns")
        self.line_re = self._union(config.line_patterns, config.ignore_case, "line_patterns")
        # The same patterns over the whole text, ^ and $ at line ends: one pass finds whether any
        # line matches (most documents: none), before the per-line pass.
        self.any_line_re = (
            compile_pattern("(?m)" + self.line_re.pattern, config.ignore_case, "line_patterns")
            if self.line_re is not None
            else None
        )

    @staticmethod
    def _union(patterns: list[str], ignore_case: bool, where: str) -> re2._Regexp | None:
        if not patterns:
            return None
        return compile_pattern("|".join(f"(?:{p})" for p in patterns), ignore_case, where)

    def _blocked(self, url: str) -> bool:
        if self.domains:
            host = (urlsplit(url).hostname or "").lower()
            parts = host.split(".")
            # the host itself and every parent domain: a.b.spam.example -> b.spam.example -> spam.example
            if any(".".join(parts[i:]) in self.domains for i in range(len(parts) - 1)):
                return True
        return self.url_re is not None and self.url_re.search(url) is not None

    def check(self, doc: DocView) -> str | None:
        url = doc.record.get("url")
        if url and self._blocked(url):
            return "url_blocklist"
        if self.doc_re is not None and self.doc_re.search(doc.text) is not None:
            return "regex_document"
        if self.any_line_re is not None and self.any_line_re.search(doc.text) is not None:
            lines = doc.text.split("\n")
            kept = [line for line in lines if self.line_re.search(line) is None]
            self.count("lines_dropped", len(lines) - len(kept))
            text = "\n".join(kept)
            if not text.strip():
                return "regex_no_lines_left"
            doc.text = text
        return None

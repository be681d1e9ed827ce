"""`pii`: replace personal data and secrets with typed placeholders (or drop the document).

    - pii: {email: replace, phone: replace, id_number: replace, card: replace, ip: replace, key: replace,
            terms_file: lists/customers.txt, patterns: [{name: employee_id, regex: 'EMP-[0-9]{6}'}]}

Each built-in type is `replace` (its placeholder: <EMAIL>, <PHONE>, <ID_NUMBER>, <CARD>, <IP>, <KEY>),
`drop` (the document is removed with reason `pii_<type>` and stored redacted in removed/) or
`keep` (not scanned). `terms` / `terms_file` name people, projects or customers (replaced by
`<NAME>`); `patterns` are user regexes. Counters: `replaced:<type>` per placeholder written,
`docs_redacted`. Put this stage right after `ingest`: every later output then holds redacted text
only, and `discard_raw: true` has the runner delete the earlier stages' outputs once the run is
complete. Terms given inline are saved with the resolved config; a `terms_file` keeps them out.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from curate.config import ConfigPath
from curate.pii import CustomPattern, Redactor, terms_regex
from curate.stage import DocumentStage, ShardStats, register

Action = Literal["replace", "drop", "keep"]
_TYPE_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")


@dataclass
class PatternConfig:
    name: str  # snake_case: the counter is replaced:<name>, a drop reason pii_<name>
    regex: str  # Python `re` syntax
    action: Action = "replace"
    placeholder: str = ""  # default <NAME> upper-cased

    def __post_init__(self) -> None:
        if not _TYPE_NAME.match(self.name):
            raise ValueError(f"patterns: name {self.name!r} must be snake_case")
        try:
            re.compile(self.regex)
        except re.error as e:
            raise ValueError(f"patterns.{self.name}: not a valid regex ({e})") from None
        self.placeholder = self.placeholder or f"<{self.name.upper()}>"


@dataclass
class PIIConfig:
    email: Action = "replace"
    phone: Action = "replace"
    id_number: Action = "replace"  # Chinese resident ID (GB 11643 check digit, birth date)
    card: Action = "replace"  # payment cards (Luhn, issuer ranges)
    ip: Action = "replace"  # public IPv4 / IPv6
    key: Action = "replace"  # API keys, tokens, private keys, password= assignments
    terms: list[str] = field(default_factory=list)
    terms_file: ConfigPath | None = None  # one term per line, '#' comments
    terms_action: Action = "replace"
    terms_placeholder: str = "<NAME>"
    patterns: list[PatternConfig] = field(default_factory=list)
    fields: list[str] = field(default_factory=lambda: ["text", "url", "domain"])  # columns redacted
    # Once the whole run is complete, delete the outputs of every stage before this one: they hold
    # the raw text. Resume and `curate status` still work (a stage whose outputs are needed again
    # is recomputed, byte-identical, and discarded again at the end).
    discard_raw: bool = False

    def __post_init__(self) -> None:
        if self.terms_file is not None:
            self.terms_file = str(self.terms_file)
        names = [p.name for p in self.patterns]
        if len(set(names)) != len(names) or set(names) & {
            "email",
            "phone",
            "id_number",
            "card",
            "ip",
            "key",
            "term",
        }:
            raise ValueError("patterns: names must be unique and differ from the built-in types")


def read_terms(path: str) -> list[str]:
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"terms_file {path!r} does not exist")
    return [t for line in p.read_text(encoding="utf-8").splitlines() if (t := line.split("#", 1)[0].strip())]


def build_redactor(cfg: PIIConfig) -> Redactor:
    actions = {t: getattr(cfg, t) for t in ("email", "phone", "id_number", "card", "ip", "key")}
    custom = []
    terms = list(cfg.terms) + (read_terms(cfg.terms_file) if cfg.terms_file else [])
    rx = terms_regex(terms)
    if rx is not None:
        custom.append((CustomPattern("term", rx, cfg.terms_placeholder), cfg.terms_action))
    for p in cfg.patterns:
        custom.append((CustomPattern(p.name, re.compile(p.regex), p.placeholder), p.action))
    return Redactor(actions, custom)


@register
class PII(DocumentStage):
    name = "pii"
    config_class = PIIConfig

    def discards_upstream(self) -> bool:
        return self.config.discard_raw

    def hash_inputs(self) -> Any:
        """A changed terms file (same path) makes earlier outputs stale."""
        p = Path(self.config.terms_file) if self.config.terms_file else None
        return hashlib.sha256(p.read_bytes()).hexdigest() if p is not None and p.is_file() else None

    def process(self, docs: Iterator[dict], stats: ShardStats) -> Iterator[tuple[dict, str | None]]:
        redactor = build_redactor(self.config)
        fields = self.config.fields
        for doc in docs:
            found: dict[str, int] = {}
            for name in fields:
                value = doc.get(name)
                if not isinstance(value, str) or not value:
                    continue
                new, counts = redactor.redact(value)
                if counts:
                    doc[name] = new
                    for t, n in counts.items():
                        found[t] = found.get(t, 0) + n
            if found:
                stats.count("docs_redacted")
                for t, n in found.items():
                    stats.count(f"replaced:{t}", n)
            yield doc, redactor.drop_reason(found) if found else None

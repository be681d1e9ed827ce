"""`filter`: drop documents that fail configured checks, each with a snake_case reason.

Filters run in this order: `min_chars`, `regex`, `harmful`, `language`, the quality families in the order
listed, `classifier`. The first failing filter gives the reason. C4 and `regex` line
patterns rewrite the text (they drop lines), and later filters see the rewritten text.

    - filter:
        min_chars: 200
        regex: {doc_patterns: ["lorem ipsum"], line_patterns: ["^share on"], url_blocklist: [spam.example]}
        harmful: {categories: [adult, gambling, fraud, phishing]}
        quality: [gopher_repetition, gopher_quality, c4, {fineweb: {short_line_thr: 0.8}}]
        language: {keep: [en], min_score: 0.65}
        classifier: {model: models/quality.bin, label: hq, threshold: 0.5}
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from curate.config import ConfigError, from_dict
from curate.filters import QUALITY_FAMILIES, DocView, Filter
from curate.filters.classifier import ClassifierConfig, ClassifierFilter
from curate.filters.harmful import HarmfulConfig, HarmfulFilter, list_paths
from curate.filters.language import DEFAULT_LID_MODEL, LanguageConfig, LanguageFilter, resolve_model
from curate.filters.profiles import language_params
from curate.filters.regex import RegexConfig, RegexFilter
from curate.manifest import file_digest
from curate.stage import DocumentStage, ShardStats, register


def parse_quality(entries: list[str | dict[str, dict[str, Any]]]) -> list[tuple[str, Any]]:
    """`[c4, {fineweb: {short_line_thr: 0.8}}]` -> [(name, params dataclass)], checked."""
    out = []
    for i, entry in enumerate(entries):
        if isinstance(entry, str):
            name, overrides = entry, {}
        elif isinstance(entry, dict) and len(entry) == 1:
            ((name, overrides),) = entry.items()
            overrides = overrides or {}
        else:
            raise ValueError(f"quality[{i}]: expected a family name or {{name: {{threshold: value}}}}")
        if name not in QUALITY_FAMILIES:
            raise ValueError(f"quality[{i}]: unknown family {name!r}; valid: {', '.join(QUALITY_FAMILIES)}")
        try:
            params = from_dict(QUALITY_FAMILIES[name][1], overrides, f"quality.{name}")
        except ConfigError as e:
            raise ValueError(str(e)) from None
        out.append((name, params))
    if len({name for name, _ in out}) != len(out):
        raise ValueError("quality: a family is listed twice")
    return out


def parse_languages(languages: dict[str, dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """`{zh: {gopher_quality: {...}}}` -> {family: {lang: params}}, the profiles with these on top."""
    for lang, families in (languages or {}).items():
        unknown = sorted(set(families or {}) - set(QUALITY_FAMILIES))
        if unknown:
            raise ValueError(
                f"languages.{lang}: unknown family {unknown[0]!r}; valid: {', '.join(QUALITY_FAMILIES)}"
            )
    return {
        name: language_params(
            name, cls, {lang: (fams or {}).get(name) or {} for lang, fams in (languages or {}).items()}
        )
        for name, (_, cls) in QUALITY_FAMILIES.items()
    }


@dataclass
class FilterConfig:
    min_chars: int = 0  # documents with fewer characters of text are removed as `too_short`
    regex: RegexConfig | None = None
    harmful: HarmfulConfig | None = None  # adult, gambling, fraud, phishing: by URL and by words
    # Family names (gopher_quality, gopher_repetition, c4, fineweb), each optionally
    # {name: {threshold: value}}; defaults are the published thresholds.
    quality: list[str | dict[str, dict[str, Any]]] = field(default_factory=list)
    language: LanguageConfig | None = None
    classifier: ClassifierConfig | None = None
    # Per-language thresholds on top of the shipped profiles (curate.filters.profiles), e.g.
    # {zh: {gopher_quality: {min_stop_words: 1}}}; `quality` overrides apply to English (and to
    # documents without a language).
    languages: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.min_chars < 0:
            raise ValueError("min_chars must be >= 0")
        parse_quality(self.quality)
        parse_languages(self.languages)


@register
class FilterStage(DocumentStage):
    name = "filter"
    config_class = FilterConfig

    def __init__(self, config: FilterConfig, ctx) -> None:
        super().__init__(config, ctx)
        if config.classifier is not None:
            # instance attributes: the score column exists only when a classifier is configured
            self.extra_fields = [pa.field("quality_score", pa.float32())]
            self.removed_extra_fields = [pa.field("quality_score", pa.float32())]

    def build_filters(self) -> tuple[list[Filter], LanguageFilter | None]:
        """The configured filters in run order (built in the worker: models load there)."""
        cfg = self.config
        filters: list[Filter] = []
        if cfg.regex is not None:
            filters.append(RegexFilter(cfg.regex))
        if cfg.harmful is not None:
            filters.append(HarmfulFilter(cfg.harmful))
        # Language before the quality heuristics (as in datatrove's FineWeb pipeline): the heuristics
        # are English rules, and a French page should be removed as `language_not_kept`, not as
        # `gopher_enough_stop_words`.
        lang = LanguageFilter(cfg.language) if cfg.language is not None else None
        if lang is not None:
            filters.append(lang)
        by_lang = parse_languages(cfg.languages)
        for name, params in parse_quality(cfg.quality):
            filters.append(QUALITY_FAMILIES[name][0](params, by_lang[name]))
        if cfg.classifier is not None:
            filters.append(ClassifierFilter(cfg.classifier))
        return filters, lang

    def hash_inputs(self) -> Any:
        """A changed model or block-list file (same path, new contents) makes earlier outputs stale."""
        paths = []
        if self.config.regex is not None and self.config.regex.url_blocklist_file:
            paths.append(Path(self.config.regex.url_blocklist_file))
        if self.config.harmful is not None:
            paths += list_paths()
        if self.config.language is not None:
            paths.append(resolve_model(self.config.language.model, DEFAULT_LID_MODEL, ""))
        if self.config.classifier is not None:
            paths.append(resolve_model(self.config.classifier.model, self.config.classifier.model, ""))
        return [[str(p), file_digest(p)] for p in paths if p.is_file()] or None

    def process(self, docs: Iterator[dict], stats: ShardStats) -> Iterator[tuple[dict, str | None]]:
        min_chars = self.config.min_chars
        filters, lang = self.build_filters()
        scored = self.config.classifier is not None
        try:
            for doc in docs:
                if scored:
                    doc["quality_score"] = None
                view = DocView(doc)
                reason = "too_short" if len(view.text) < min_chars else None
                failed_at = None
                if reason is None:
                    for f in filters:
                        reason = f.check(view)
                        if reason is not None:
                            failed_at = f
                            stats.count(f"{f.name}:dropped")
                            break
                if lang is not None and reason is not None and failed_at is not lang:
                    lang.annotate(view)  # removed earlier: still record its language
                yield doc, reason
        finally:
            for f in filters:
                for key, n in f.counters.items():
                    stats.count(f"{f.name}:{key}", n)

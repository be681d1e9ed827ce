"""`filter`: drop documents that fail configured checks, each with a snake_case reason."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from curate.stage import ShardStats, Stage, register


@dataclass
class FilterConfig:
    min_chars: int = 0  # documents with fewer characters of text are removed as `too_short`

    def __post_init__(self) -> None:
        if self.min_chars < 0:
            raise ValueError("min_chars must be >= 0")


@register
class Filter(Stage):
    name = "filter"
    config_class = FilterConfig

    def process(self, docs: Iterator[dict], stats: ShardStats) -> Iterator[tuple[dict, str | None]]:
        min_chars = self.config.min_chars
        for doc in docs:
            if len(doc["text"]) < min_chars:
                yield doc, "too_short"
            else:
                yield doc, None

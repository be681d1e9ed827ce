"""Per-shard counts, merged per stage: what went in, what was kept or removed and why.

`chars_in`/`chars_out` count characters of document text. `raw_bytes` counts the bytes of raw
records read from the input files (the ingest stage only), so ingest's throughput is in MB/s of
crawl and every later stage's in characters of text.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field

MAX_ERROR_MESSAGES = 50
_COUNTS = ("docs_in", "kept", "removed", "errors", "chars_in", "chars_out", "raw_bytes")
# Manifests written before the rename keep loading (a finished run is not redone for a name).
_OLD_NAMES = {"bytes_in": "chars_in", "bytes_out": "chars_out"}


def log(message: str) -> None:
    """One line on stderr, the tool's only log channel (stdout carries command results)."""
    print(f"llmcli: {message}", file=sys.stderr, flush=True)


@dataclass
class ShardStats:
    """Counts for one shard (merged per stage by the runner)."""

    docs_in: int = 0
    kept: int = 0
    removed: int = 0
    errors: int = 0
    chars_in: int = 0
    chars_out: int = 0
    raw_bytes: int = 0
    seconds: float = 0.0
    reasons: Counter = field(default_factory=Counter)
    counters: Counter = field(default_factory=Counter)
    error_messages: list[str] = field(default_factory=list)

    def error(self, message: str) -> None:
        """Count one record that could not be processed (e.g. 'crawl-1.warc.gz @ 5120: truncated')."""
        self.errors += 1
        if len(self.error_messages) < MAX_ERROR_MESSAGES:
            self.error_messages.append(message)

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] += n

    @property
    def copies(self) -> int:
        """Extra kept rows a stage made of one input document (resample's up-sampling)."""
        return self.counters.get("copies", 0)

    @property
    def balanced(self) -> bool:
        """Nothing lost: every document read was kept or removed (copies are extra kept rows)."""
        return self.docs_in + self.copies == self.kept + self.removed

    def merge(self, other: ShardStats) -> None:
        for name in (*_COUNTS, "seconds"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.reasons.update(other.reasons)
        self.counters.update(other.counters)
        room = MAX_ERROR_MESSAGES - len(self.error_messages)
        self.error_messages.extend(other.error_messages[: max(room, 0)])

    def to_dict(self) -> dict:
        return {
            **{name: getattr(self, name) for name in _COUNTS},
            "seconds": round(self.seconds, 4),
            "reasons": dict(sorted(self.reasons.items())),
            "counters": dict(sorted(self.counters.items())),
            "error_messages": list(self.error_messages),
        }

    @classmethod
    def from_dict(cls, d: dict) -> ShardStats:
        d = {_OLD_NAMES.get(k, k): v for k, v in d.items()}
        s = cls(**{k: d.get(k, 0) for k in _COUNTS})
        s.seconds = d.get("seconds", 0.0)
        s.reasons = Counter(d.get("reasons", {}))
        s.counters = Counter(d.get("counters", {}))
        s.error_messages = list(d.get("error_messages", []))
        return s

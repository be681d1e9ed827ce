"""The stage interface and the registry of stages keyed by their YAML name.

A stage is one unit of work over shards. The runner gives each shard to `run_shard` in a
worker process; the default implementation streams the input documents through `process`,
which yields `(doc, reason)` pairs: `reason is None` keeps the document, a snake_case reason
sends it to `removed/` with that reason. Counting, timing, atomic writes and the manifest
belong to the runner, not to stages.

Multi-pass stages (dedup, decontamination, tokenization) also implement `prepare` (global
work before the shard pass, e.g. building an index) and/or `finalize` (global work after it).
Both must be resumable on their own: they keep their intermediate files under `ctx.stage_dir`.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.parquet as pq

from curate.document import BASE_SCHEMA, ShardWriter, iter_documents, removed_schema, with_fields
from curate.faults import fault_point

MAX_ERROR_MESSAGES = 50


@dataclass
class Shard:
    """One unit of parallel work: `input` is a raw file (ingest) or the previous stage's shard."""

    index: int
    input: str

    @property
    def name(self) -> str:
        return f"part-{self.index:05d}"


@dataclass
class StageContext:
    """Where a stage lives and what it may look at; picklable, sent to worker processes."""

    workdir: Path
    stage_dir: Path
    position: int
    pipeline_name: str
    input_format: str = "warc"
    # The directory of the previous stage (None for ingest), for stages that need other shards.
    input_dir: Path | None = None


@dataclass
class ShardStats:
    """Counts for one shard (merged per stage by the runner)."""

    docs_in: int = 0
    kept: int = 0
    removed: int = 0
    errors: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
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

    def merge(self, other: ShardStats) -> None:
        for name in ("docs_in", "kept", "removed", "errors", "bytes_in", "bytes_out", "seconds"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.reasons.update(other.reasons)
        self.counters.update(other.counters)
        room = MAX_ERROR_MESSAGES - len(self.error_messages)
        self.error_messages.extend(other.error_messages[: max(room, 0)])

    def to_dict(self) -> dict:
        return {
            "docs_in": self.docs_in,
            "kept": self.kept,
            "removed": self.removed,
            "errors": self.errors,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "seconds": round(self.seconds, 4),
            "reasons": dict(sorted(self.reasons.items())),
            "counters": dict(sorted(self.counters.items())),
            "error_messages": list(self.error_messages),
        }

    @classmethod
    def from_dict(cls, d: dict) -> ShardStats:
        s = cls(**{k: d.get(k, 0) for k in ("docs_in", "kept", "removed", "errors", "bytes_in", "bytes_out")})
        s.seconds = d.get("seconds", 0.0)
        s.reasons = Counter(d.get("reasons", {}))
        s.counters = Counter(d.get("counters", {}))
        s.error_messages = list(d.get("error_messages", []))
        return s


MapFn = Callable[[Callable[[Any], Any], Iterable[Any]], list[Any]]


class Stage:
    """Base class of every pipeline stage."""

    name: ClassVar[str]
    config_class: ClassVar[type]
    # Columns this stage adds to kept documents, and to removed ones (besides `reason`).
    extra_fields: ClassVar[list[pa.Field]] = []
    removed_extra_fields: ClassVar[list[pa.Field]] = []

    def __init__(self, config: Any, ctx: StageContext) -> None:
        self.config = config
        self.ctx = ctx

    # ----------------------------------------------------------------- layout
    @classmethod
    def dirname(cls, position: int) -> str:
        return f"{position:02d}_{cls.name}"

    def hash_inputs(self) -> Any:
        """Anything besides the config that invalidates this stage's outputs when it changes."""
        return None

    # ----------------------------------------------------------------- global passes
    def prepare(self, shards: list[Shard], map_fn: MapFn) -> None:
        """Global work before the shard pass (runs in the driver; `map_fn` fans out to workers)."""

    def finalize(self, shards: list[Shard], map_fn: MapFn) -> dict:
        """Global work after every shard is done; returns extra statistics for the report."""
        return {}

    # ----------------------------------------------------------------- the shard pass
    def input_schema(self, shard: Shard) -> pa.Schema:
        return pq.read_schema(shard.input)

    def read(self, shard: Shard, stats: ShardStats) -> Iterator[dict]:
        """The documents of one input shard."""
        return iter_documents(shard.input)

    def process(self, docs: Iterator[dict], stats: ShardStats) -> Iterator[tuple[dict, str | None]]:
        """Yield (document, None) to keep it or (document, 'snake_case_reason') to remove it."""
        raise NotImplementedError

    def run_shard(self, shard: Shard, out_dir: Path, stats: ShardStats) -> dict[str, Path]:
        """Process one shard, writing temporary files; returns {final relative name: temp path}.

        The runner checksums the temp files, renames them into place and records the manifest
        entry. The default writes `part-XXXXX.parquet` (kept) and `removed/part-XXXXX.parquet`.
        """
        schema = with_fields(self.input_schema(shard), self.extra_fields)
        rschema = removed_schema(schema, self.removed_extra_fields)
        tmp_tag = f".tmp-{os.getpid()}"
        kept_rel, removed_rel = f"{shard.name}.parquet", f"removed/{shard.name}.parquet"
        (out_dir / "removed").mkdir(parents=True, exist_ok=True)
        kept = ShardWriter(out_dir / (kept_rel + tmp_tag), schema)
        removed = ShardWriter(out_dir / (removed_rel + tmp_tag), rschema)
        try:
            for doc, reason in self.process(_counted(self.read(shard, stats), stats), stats):
                fault_point("doc")
                if reason is None:
                    kept.write(doc)
                    stats.kept += 1
                    stats.bytes_out += len(doc.get("text") or "")
                else:
                    doc["reason"] = reason
                    removed.write(doc)
                    stats.removed += 1
                    stats.reasons[reason] += 1
            kept.close()
            removed.close()
        except BaseException:
            kept.abort()
            removed.abort()
            raise
        return {kept_rel: kept.path, removed_rel: removed.path}


def _counted(docs: Iterator[dict], stats: ShardStats) -> Iterator[dict]:
    for doc in docs:
        stats.docs_in += 1
        stats.bytes_in += len(doc.get("text") or "")
        yield doc


STAGES: dict[str, type[Stage]] = {}


def register(cls: type[Stage]) -> type[Stage]:
    """Class decorator: make a stage available under its YAML name."""
    if cls.name in STAGES and STAGES[cls.name] is not cls:
        raise ValueError(f"stage name {cls.name!r} registered twice")
    STAGES[cls.name] = cls
    return cls


def load_stage_modules() -> None:
    """Import every module of curate.stages so that each registers itself."""
    import curate.stages

    for mod in pkgutil.iter_modules(curate.stages.__path__):
        importlib.import_module(f"curate.stages.{mod.name}")


def get_stage(name: str) -> type[Stage]:
    load_stage_modules()
    if name not in STAGES:
        raise KeyError(f"unknown stage {name!r}; valid stages: {', '.join(sorted(STAGES))}")
    return STAGES[name]


__all__ = ["BASE_SCHEMA", "STAGES", "Shard", "ShardStats", "Stage", "StageContext", "get_stage", "register"]

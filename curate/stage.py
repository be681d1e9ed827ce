"""The stage interface, the one shard writer, and the registry of stages keyed by their YAML name.

A stage is one unit of work over shards, of one of two kinds:

- a `DocumentStage` (ingest, filter, pii) looks at one document at a time: `process` yields
  `(doc, reason)` pairs, `reason is None` keeps the document and a snake_case reason sends it to
  `removed/` with that reason;
- a `MultiPassStage` (dedup, decontaminate, resample, tokenize) also does global work: `prepare`
  before the shard pass (build an index, train a tokenizer, cluster duplicates) and `finalize`
  after it, which returns the stage's typed summary for the report. Both keep their intermediate
  files under `ctx.stage_dir`, so each pass resumes on its own.

Either way the shard pass writes through a `ShardOutput` that the runner creates, and the runner
alone publishes it (checksums, atomic renames, the manifest entry). Counting is not the stage's
business: reading a shard counts what went in, the `ShardOutput` counts what was kept or removed.
A stage that works on whole Arrow tables (dedup, tokenize) overrides `write_shard` and hands
tables to the same `ShardOutput`.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.parquet as pq

from curate.document import ShardWriter, iter_documents, removed_schema, with_fields
from curate.faults import fault_point
from curate.stats import ShardStats

MapFn = Callable[[Callable[[Any], Any], Iterable[Any]], list[Any]]


@dataclass
class Shard:
    """One unit of parallel work: `input` is a raw file (the first stage) or the previous stage's shard.

    `rows` is the input's row count when the previous stage recorded it, so the runner can check
    that every row came out kept or removed.
    """

    index: int
    input: str
    rows: int | None = None

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
    # The directory of the previous stage (None for the first), for stages that need other shards.
    input_dir: Path | None = None


def text_chars(table: pa.Table) -> int:
    """Characters of text in a table's `text` column (nulls count as empty)."""
    import pyarrow.compute as pc  # here, not at the top: ~40 ms of every start-up

    if "text" not in table.column_names or not table.num_rows:
        return 0
    return int(pc.sum(pc.utf8_length(pc.fill_null(table.column("text"), ""))).as_py() or 0)


# --------------------------------------------------------------------------- the one writer


class ShardOutput:
    """Everything one shard pass writes, under temporary names, and the counts of what it kept.

    Kept documents go to `part-XXXXX.parquet`, removed ones (with `reason`) to
    `removed/part-XXXXX.parquet`; a stage may add files of its own (`add_file`, `write_json`).
    A Parquet file that would hold no row is not written at all: the manifest records the zero.
    `close` returns {final relative name: temporary path} for the runner to publish.
    """

    def __init__(
        self, stage_dir: Path, shard: Shard, schema: pa.Schema, rschema: pa.Schema, stats: ShardStats
    ):
        self.stage_dir = stage_dir
        self.stats = stats
        self.tag = f".tmp-{os.getpid()}"
        self.kept_rel, self.removed_rel = f"{shard.name}.parquet", f"removed/{shard.name}.parquet"
        self._kept = ShardWriter(stage_dir / (self.kept_rel + self.tag), schema)
        self._removed = ShardWriter(stage_dir / (self.removed_rel + self.tag), rschema)
        self._kept_file: Path | None = None  # the input itself, hard-linked (keep_input)
        self._files: dict[str, Path] = {}

    # ----------------------------------------------------------------- documents
    def write(self, doc: dict, reason: str | None) -> None:
        fault_point("doc")
        if reason is None:
            self._kept.write(doc)
            self.stats.kept += 1
            self.stats.chars_out += len(doc.get("text") or "")
        else:
            doc["reason"] = reason
            self._removed.write(doc)
            self.stats.removed += 1
            self.stats.reasons[reason] += 1

    # ----------------------------------------------------------------- Arrow tables
    def keep_table(self, table: pa.Table) -> None:
        fault_point("doc")
        self._kept.write_table(table)
        self.stats.kept += table.num_rows
        self.stats.chars_out += text_chars(table)

    def remove_table(self, table: pa.Table) -> None:
        """Removed rows; `table` has a `reason` column."""
        import pyarrow.compute as pc  # here, not at the top: ~40 ms of every start-up

        if not table.num_rows:
            return
        self._removed.write_table(table)
        self.stats.removed += table.num_rows
        for row in pc.value_counts(table.column("reason")).to_pylist():
            self.stats.reasons[row["values"]] += row["counts"]

    def keep_input(self, path: str | Path, rows: int, chars: int, link: bool = True) -> None:
        """The input shard is the kept output, unchanged: a hard link (shard files are only ever
        replaced by rename, never written in place, so linking is safe), or a copy. With
        `link=False` the rows are counted as kept and no file is written (`llmcli tokenize`)."""
        if rows and link:
            self._kept_file = self.stage_dir / (self.kept_rel + self.tag)
            try:
                os.link(path, self._kept_file)
            except OSError:
                shutil.copyfile(path, self._kept_file)
        self.stats.kept += rows
        self.stats.chars_out += chars

    # ----------------------------------------------------------------- side files
    def temp_path(self, rel: str) -> Path:
        """A temporary path for a stage file that is published as `rel` with the shard."""
        path = self.stage_dir / f"{rel}{self.tag}"
        path.parent.mkdir(parents=True, exist_ok=True)
        self._files[rel] = path
        return path

    def add_file(self, rel: str, tmp: Path) -> None:
        """A temporary file the stage wrote itself, published as `rel` with the shard."""
        self._files[rel] = Path(tmp)

    def write_json(self, rel: str, data: Any) -> None:
        """Per-shard data for the stage's finalize (match lists, group counts)."""
        self.temp_path(rel).write_text(json.dumps(data, sort_keys=True), encoding="utf-8")

    # ----------------------------------------------------------------- finish
    def close(self) -> dict[str, Path]:
        out = dict(self._files)
        kept = self._kept_file or self._kept.close()  # (with keep_input the writer never opened)
        removed = self._removed.close()
        if kept is not None:
            out[self.kept_rel] = kept
        if removed is not None:
            out[self.removed_rel] = removed
        return out

    def abort(self) -> None:
        self._kept.abort()
        self._removed.abort()
        for path in [*self._files.values(), self._kept_file]:
            if path is not None:
                Path(path).unlink(missing_ok=True)


# --------------------------------------------------------------------------- stages


class Stage:
    """What every stage has: a YAML name, a config dataclass, a place on disk, a shard pass."""

    kind: ClassVar[str]
    name: ClassVar[str]
    config_class: ClassVar[type]
    # Columns this stage adds to kept documents, and to removed ones (besides `reason`).
    extra_fields: ClassVar[list[pa.Field]] = []
    removed_extra_fields: ClassVar[list[pa.Field]] = []

    def __init__(self, config: Any, ctx: StageContext) -> None:
        self.config = config
        self.ctx = ctx

    @classmethod
    def dirname(cls, position: int) -> str:
        return f"{position:02d}_{cls.name}"

    def hash_inputs(self) -> Any:
        """Anything besides the config that invalidates this stage's outputs when it changes."""
        return None

    def discards_upstream(self) -> bool:
        """True: once the run is complete, the outputs of every earlier stage are deleted (pii)."""
        return False

    # ----------------------------------------------------------------- schemas
    def input_schema(self, shard: Shard) -> pa.Schema:
        return pq.read_schema(shard.input)

    def output_schemas(self, shard: Shard) -> tuple[pa.Schema, pa.Schema]:
        """(kept, removed) schemas: the input's columns plus this stage's."""
        schema = with_fields(self.input_schema(shard), self.extra_fields)
        return schema, removed_schema(schema, self.removed_extra_fields)

    # ----------------------------------------------------------------- the shard pass
    def read(self, shard: Shard, stats: ShardStats) -> Iterator[dict]:
        """The documents of one input shard, counted as they are read."""
        for doc in iter_documents(shard.input):
            stats.docs_in += 1
            stats.chars_in += len(doc.get("text") or "")
            yield doc

    def read_tables(self, shard: Shard, stats: ShardStats) -> Iterator[pa.Table]:
        """The input shard row group by row group (stages that work on Arrow tables), counted."""
        pf = pq.ParquetFile(shard.input)
        for g in range(pf.num_row_groups):
            table = pf.read_row_group(g)
            stats.docs_in += table.num_rows
            stats.chars_in += text_chars(table)
            yield table

    def process(self, docs: Iterator[dict], stats: ShardStats) -> Iterator[tuple[dict, str | None]]:
        """Yield (document, None) to keep it or (document, 'snake_case_reason') to remove it."""
        raise NotImplementedError(f"stage {self.name!r} implements neither process nor write_shard")

    def write_shard(self, shard: Shard, out: ShardOutput, stats: ShardStats) -> None:
        """One shard through the stage into `out`; the default streams `read` through `process`."""
        for doc, reason in self.process(self.read(shard, stats), stats):
            out.write(doc, reason)

    def run_shard(self, shard: Shard, stats: ShardStats) -> dict[str, Path]:
        """The shard pass through a `ShardOutput`, checked: {final relative name: temporary path}.

        Nothing is published here (the runner checksums and renames); on any error nothing is left.
        """
        schema, rschema = self.output_schemas(shard)
        out = ShardOutput(self.ctx.stage_dir, shard, schema, rschema, stats)
        try:
            self.write_shard(shard, out, stats)
            if shard.rows is not None and stats.docs_in != shard.rows:
                raise RuntimeError(f"read {stats.docs_in} of the {shard.rows} documents of {shard.input}")
            if not stats.balanced:
                raise RuntimeError(
                    f"documents lost in {shard.name}: in {stats.docs_in} + copies {stats.copies} != "
                    f"kept {stats.kept} + removed {stats.removed}"
                )
            return out.close()
        except BaseException:
            out.abort()
            raise


class DocumentStage(Stage):
    """A stage that decides one document at a time, with no global pass."""

    kind = "document"


class MultiPassStage(Stage):
    """A stage with global passes around the shard pass; `finalize` returns its typed summary."""

    kind = "multi_pass"
    summary_class: ClassVar[type]  # a dataclass; the report reads it by stage name

    def prepare(self, shards: list[Shard], map_fn: MapFn) -> None:
        """Global work before the shard pass (runs in the driver; `map_fn` fans out to workers)."""

    def finalize(self, shards: list[Shard], map_fn: MapFn) -> Any:
        """Global work after every shard is done; returns an instance of `summary_class`."""
        raise NotImplementedError


def summary_dict(summary: Any) -> dict:
    """A stage summary as stored in the manifest (a dataclass, as plain JSON values)."""
    return json.loads(json.dumps(asdict(summary), default=str))


def load_summary(stage_cls: type[Stage], data: dict | None) -> Any:
    """The typed summary of a finished stage, from its manifest; None for a document stage or none stored."""
    cls = getattr(stage_cls, "summary_class", None)
    if cls is None or not data:
        return None
    known = {f.name for f in fields(cls)}  # a manifest from an older version may carry other keys
    return cls(**{k: v for k, v in data.items() if k in known})


# --------------------------------------------------------------------------- registry

STAGES: dict[str, type[Stage]] = {}


def register(cls: type[Stage]) -> type[Stage]:
    """Class decorator: make a stage available under its YAML name."""
    if cls.name in STAGES and STAGES[cls.name] is not cls:
        raise ValueError(f"stage name {cls.name!r} registered twice")
    STAGES[cls.name] = cls
    return cls


def load_stage_modules(names: Iterable[str] | None = None) -> None:
    """Import the modules of curate.stages so that each registers itself: every one, or those of
    the stages `names` (a stage lives in the module of its name; `llmcli tokenize` then skips
    the filters', dedup's and the others' imports, a few tenths of a second)."""
    import curate.stages

    available = {mod.name for mod in pkgutil.iter_modules(curate.stages.__path__)}
    wanted = None if names is None else set(names)
    if wanted is not None and wanted <= available:
        for name in sorted(wanted - set(STAGES)):
            importlib.import_module(f"curate.stages.{name}")
        if wanted <= set(STAGES):
            return
    for name in sorted(available):
        importlib.import_module(f"curate.stages.{name}")


def get_stage(name: str) -> type[Stage]:
    load_stage_modules()
    if name not in STAGES:
        raise KeyError(f"unknown stage {name!r}; valid stages: {', '.join(sorted(STAGES))}")
    return STAGES[name]


__all__ = [
    "STAGES",
    "DocumentStage",
    "MultiPassStage",
    "Shard",
    "ShardOutput",
    "ShardStats",
    "Stage",
    "StageContext",
    "get_stage",
    "register",
]

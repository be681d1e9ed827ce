"""`decontaminate`: remove (or cut) text that overlaps evaluation benchmarks.

Passes, each resumable on its own through files under the stage directory:
  prepare   benchmark items -> hashed word n-grams -> `_index/` (atomic directory rename);
            optionally a corpus pass that ignores n-grams found in too many documents
            (licence text, code boilerplate) -> `_index_ignore.npy`
  shards    every document's n-grams are looked up; `drop` removes a matching document with
            reason `contaminated:<benchmark>`, `mask` cuts the matched spans plus a margin and
            keeps the rest when enough is left (GPT-3, NeMo Curator). Per-shard matches go to
            `_matches/part-XXXXX.json`, recorded in the manifest with the shard.
  finalize  per benchmark: items contaminated, documents contaminated / dropped / masked, examples.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from curate.decontam.benchmarks import (
    BenchmarkSpec,
    benchmark_checksums,
    benchmark_name,
    check_builtin,
    load_benchmark,
)
from curate.decontam.index import NgramIndex, build_index
from curate.decontam.ngrams import TextBatch
from curate.decontam.scan import DocMatch, mask_text, scan_texts, word_char_spans
from curate.document import iter_documents
from curate.faults import fault_point
from curate.stage import MultiPassStage, Shard, ShardOutput, ShardStats, register

MODES = ("drop", "mask")
BATCH_DOCS = 512
BATCH_CHARS = 8 << 20


@dataclass
class DecontaminateConfig:
    benchmarks: list[str | BenchmarkSpec] = field(default_factory=lambda: ["humaneval"])
    ngram: int = 13
    mode: str = "drop"
    # Items with fewer normalised words are not indexed: a three-word answer matches everywhere.
    min_item_words: int = 8
    # Ignore n-grams shared by more than this many benchmark items (prompt templates).
    max_item_frequency: int | None = None
    # Ignore n-grams found in more than this many corpus documents (boilerplate); one extra pass.
    max_corpus_frequency: int | None = None
    mask_margin: int = 200  # characters cut on each side of a matched span (mask mode)
    min_remaining_chars: int = 200  # mask mode: a document left shorter than this is dropped
    max_mask_spans: int = 10  # mask mode: a document cut in more places is dropped (GPT-3)
    examples: int = 5  # example matches kept per benchmark for the report
    # Chinese / Japanese items (mostly Han/Kana) are keyed by n-grams of this many characters:
    # 13 English words are ~16 Chinese or ~36 Japanese characters of a translation (bench/cjk.py).
    cjk_ngram: int = 20
    t2s: bool = False  # fold traditional Chinese to simplified in items and documents

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode {self.mode!r} is not one of {', '.join(MODES)}")
        if self.ngram < 1:
            raise ValueError("ngram must be >= 1")
        if self.cjk_ngram < 1:
            raise ValueError("cjk_ngram must be >= 1")
        if not self.benchmarks:
            raise ValueError("benchmarks must name at least one benchmark")
        for b in self.benchmarks:
            if isinstance(b, str):
                check_builtin(b)
        names = [benchmark_name(b) for b in self.benchmarks]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"benchmark name {dup[0]!r} appears twice; give each a distinct name")
        for key in ("max_item_frequency", "max_corpus_frequency"):
            v = getattr(self, key)
            if v is not None and v < 1:
                raise ValueError(f"{key} must be >= 1 (or null)")
        for key in ("min_item_words", "mask_margin", "min_remaining_chars", "max_mask_spans", "examples"):
            if getattr(self, key) < 0:
                raise ValueError(f"{key} must be >= 0")


def _bench_record() -> dict:
    return {"items": set(), "docs": 0, "dropped": 0, "masked": 0, "examples": []}


@dataclass
class BenchmarkHits:
    """One benchmark's contamination: what matched, and what the stage did about it."""

    items: int | None = None  # items in the benchmark
    items_not_indexed: int = 0  # too short to index (min_item_words)
    items_contaminated: int = 0
    contaminated_item_ids: list[str] = field(default_factory=list)  # the first 50
    docs_contaminated: int = 0
    docs_dropped: int = 0
    docs_masked: int = 0
    examples: list[dict] = field(default_factory=list)  # {doc_id, url, item, ngram}


@dataclass
class DecontaminateSummary:
    benchmarks: dict[str, BenchmarkHits] = field(default_factory=dict)
    ngram: int = 13
    mode: str = "drop"
    index_keys: int = 0

    def __post_init__(self) -> None:  # loaded back from a manifest: plain dicts
        self.benchmarks = {
            k: v if isinstance(v, BenchmarkHits) else BenchmarkHits(**v) for k, v in self.benchmarks.items()
        }


@register
class Decontaminate(MultiPassStage):
    name = "decontaminate"
    config_class = DecontaminateConfig
    summary_class = DecontaminateSummary
    # `contamination`: JSON {benchmark: [item ids]} of what matched (null when clean);
    # `masked_spans`: how many spans mask mode cut out of a kept document (0 when untouched).
    extra_fields = [pa.field("contamination", pa.string()), pa.field("masked_spans", pa.int32())]

    def __init__(self, config: DecontaminateConfig, ctx) -> None:
        super().__init__(config, ctx)
        self._index: NgramIndex | None = None
        self._matches: dict[str, dict] = {}

    # ----------------------------------------------------------------- layout
    @property
    def index_dir(self) -> Path:
        return self.ctx.stage_dir / "_index"

    @property
    def ignore_path(self) -> Path:
        return self.ctx.stage_dir / "_index_ignore.npy"

    def hash_inputs(self) -> dict:
        return benchmark_checksums(self.config.benchmarks)

    @property
    def index(self) -> NgramIndex:
        if self._index is None:
            ignore = np.load(self.ignore_path) if self.ignore_path.exists() else None
            self._index = NgramIndex.load(self.index_dir, ignore)
        return self._index

    # ----------------------------------------------------------------- prepare
    def prepare(self, shards: list[Shard], map_fn) -> None:
        cfg = self.config
        if not NgramIndex.exists(self.index_dir):
            items = [it for b in cfg.benchmarks for it in load_benchmark(b)]
            index = build_index(
                items, cfg.ngram, cfg.min_item_words, cfg.max_item_frequency, cfg.cjk_ngram, cfg.t2s
            )
            index.save(self.index_dir)
            fault_point("decontaminate_index")
        if cfg.max_corpus_frequency is not None and not self.ignore_path.exists():
            jobs = [(str(self.index_dir), s.input) for s in shards]
            total: dict[int, int] = {}
            for counts in map_fn(count_key_documents, jobs):
                for k, v in counts.items():
                    total[k] = total.get(k, 0) + v
            ignore = np.array(sorted(k for k, v in total.items() if v > cfg.max_corpus_frequency), np.uint64)
            tmp = self.ignore_path.with_name(f".{self.ignore_path.name}.tmp-{os.getpid()}.npy")
            np.save(tmp, ignore)
            os.replace(tmp, self.ignore_path)

    # ----------------------------------------------------------------- shard pass
    def write_shard(self, shard: Shard, out: ShardOutput, stats: ShardStats) -> None:
        self._matches = {benchmark_name(b): _bench_record() for b in self.config.benchmarks}
        super().write_shard(shard, out, stats)
        summary = {b: {**r, "items": sorted(r["items"])} for b, r in self._matches.items()}
        out.write_json(f"_matches/{shard.name}.json", summary)

    def process(self, docs: Iterator[dict], stats: ShardStats) -> Iterator[tuple[dict, str | None]]:
        batch: list[dict] = []
        chars = 0
        for doc in docs:
            batch.append(doc)
            chars += len(doc.get("text") or "")
            if len(batch) >= BATCH_DOCS or chars >= BATCH_CHARS:
                yield from self._process_batch(batch, stats)
                batch, chars = [], 0
        if batch:
            yield from self._process_batch(batch, stats)

    def _process_batch(self, docs: list[dict], stats: ShardStats) -> Iterator[tuple[dict, str | None]]:
        index = self.index
        tb, matches = scan_texts(index, [d.get("text") or "" for d in docs])
        for d, (doc, match) in enumerate(zip(docs, matches)):
            doc["masked_spans"] = 0
            doc["contamination"] = None
            if match is None:
                yield doc, None
                continue
            bench = next(iter(match.benchmarks(index)))
            doc["contamination"] = self._describe(match)
            nwords = int(tb.doc_first_word[d + 1] - tb.doc_first_word[d])
            verdict = self._mask(doc, match, nwords) if self.config.mode == "mask" else "drop"
            self._record(doc, match, verdict)
            stats.count(f"contaminated_docs:{bench}")
            if verdict == "drop":
                yield doc, f"contaminated:{bench}"
            else:
                stats.count("masked_docs")
                yield doc, None

    def _mask(self, doc: dict, match: DocMatch, nwords: int) -> str:
        """Cut the matched spans out of `doc`; 'masked' if enough is left, else 'drop'."""
        cfg = self.config
        spans = word_char_spans(doc["text"], nwords)
        if spans is None:
            return "drop"
        rest, cuts = mask_text(doc["text"], spans, match.spans, cfg.mask_margin)
        if cuts > cfg.max_mask_spans or len(rest) < max(cfg.min_remaining_chars, 1):
            return "drop"
        doc["text"] = rest
        doc["masked_spans"] = cuts
        return "masked"

    def _describe(self, match: DocMatch) -> str:
        out: dict[str, list[str]] = {}
        for item in match.keys:
            b, item_id = self.index.items[item]
            out.setdefault(b, []).append(item_id)
        return json.dumps({b: sorted(ids) for b, ids in out.items()}, sort_keys=True)

    def _record(self, doc: dict, match: DocMatch, verdict: str) -> None:
        seen: set[str] = set()
        for item, example in match.examples.items():
            b, item_id = self.index.items[item]
            rec = self._matches.setdefault(b, _bench_record())
            rec["items"].add(item_id)
            if b not in seen:
                seen.add(b)
                rec["docs"] += 1
                rec["dropped" if verdict == "drop" else "masked"] += 1
                if len(rec["examples"]) < self.config.examples:
                    rec["examples"].append(
                        {"doc_id": doc["id"], "url": doc.get("url"), "item": item_id, "ngram": example}
                    )

    # ----------------------------------------------------------------- finalize
    def finalize(self, shards: list[Shard], map_fn) -> DecontaminateSummary:
        return DecontaminateSummary(
            benchmarks=summarize_matches(self.ctx.stage_dir, self.config, self.index.info),
            ngram=self.config.ngram,
            mode=self.config.mode,
            index_keys=int(len(self.index.keys)),
        )


def summarize_matches(
    stage_dir: Path, config: DecontaminateConfig, info: dict | None = None
) -> dict[str, BenchmarkHits]:
    """Per benchmark: items, contaminated items and documents, examples (from `_matches/`)."""
    info = info or {}
    out = {}
    files = sorted((stage_dir / "_matches").glob("part-*.json"))
    per_file = [json.loads(p.read_text(encoding="utf-8")) for p in files]
    for name in [benchmark_name(b) for b in config.benchmarks]:
        items: set[str] = set()
        row = {"docs_contaminated": 0, "docs_dropped": 0, "docs_masked": 0, "examples": []}
        for data in per_file:
            rec = data.get(name)
            if not rec:
                continue
            items.update(rec["items"])
            row["docs_contaminated"] += rec["docs"]
            row["docs_dropped"] += rec["dropped"]
            row["docs_masked"] += rec["masked"]
            room = config.examples - len(row["examples"])
            row["examples"].extend(rec["examples"][: max(room, 0)])
        out[name] = BenchmarkHits(
            items=info.get("items", {}).get(name),
            items_not_indexed=info.get("items_not_indexed", {}).get(name, 0),
            items_contaminated=len(items),
            contaminated_item_ids=sorted(items)[:50],
            **row,
        )
    return out


def count_key_documents(job: tuple[str, str]) -> dict[int, int]:
    """Corpus pass (a worker task): how many documents of one shard contain each index key."""
    index_dir, shard_path = job
    index = NgramIndex.load(Path(index_dir))
    counts: dict[int, int] = {}
    batch: list[str] = []

    def flush() -> None:
        tbatch = TextBatch.from_texts(batch, bool(index.info.get("t2s")))
        for m in index.lengths:
            hashes, first = tbatch.ngrams(m)
            q, _, _ = index.lookup(hashes)
            # a key counts once per document however often the document repeats it
            pairs = {(int(tbatch.word_doc[first[i]]), int(hashes[i])) for i in q.tolist()}
            for _, key in pairs:
                counts[key] = counts.get(key, 0) + 1
        batch.clear()

    for doc in iter_documents(shard_path, columns=["text"]):
        batch.append(doc.get("text") or "")
        if len(batch) >= BATCH_DOCS:
            flush()
    if batch:
        flush()
    return counts

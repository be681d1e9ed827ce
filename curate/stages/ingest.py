"""`ingest`: raw crawl files -> documents (one output shard per input file).

Only HTTP 200 responses of type text/html or text/plain become documents; every other
response is kept in `removed/` with its reason (`http_404`, `non_html_content`, `too_large`,
`empty_extraction`), so the funnel accounts for every record read.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from curate.document import BASE_SCHEMA, make_id
from curate.extract import ExtractTimeout, decode_html, extract_with_budget
from curate.inputs import redact
from curate.readers import RawRecord, read_jsonl, read_parquet, read_text, read_warc
from curate.stage import DocumentStage, Shard, ShardStats, register

EXTRACTORS = ("resiliparse", "trafilatura", "none")
TEXT_TYPES = ("text/html", "application/xhtml+xml", "text/plain")


@dataclass
class IngestConfig:
    extractor: str = "resiliparse"
    text_key: str = "text"  # JSONL / Parquet inputs: the column holding the text
    max_record_bytes: int = 10_000_000  # larger records are removed as too_large, never loaded whole
    extract_timeout: float = 10.0  # seconds per page; slower pages are removed as extract_timeout (0 = none)

    def __post_init__(self) -> None:
        if self.extractor not in EXTRACTORS:
            raise ValueError(f"extractor {self.extractor!r} is not one of {', '.join(EXTRACTORS)}")
        if self.max_record_bytes <= 0:
            raise ValueError("max_record_bytes must be positive")
        if self.extract_timeout < 0:
            raise ValueError("extract_timeout must be >= 0 seconds")


@functools.lru_cache(maxsize=1)
def _tld_extractor():
    import tldextract

    # suffix_list_urls=() : use the public-suffix snapshot bundled with the package, never the network.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@functools.lru_cache(maxsize=65536)
def registered_domain(url: str | None) -> str | None:
    if not url:
        return None
    ext = _tld_extractor()(url)
    return ext.top_domain_under_public_suffix or ext.domain or None


@register
class Ingest(DocumentStage):
    name = "ingest"
    config_class = IngestConfig
    extra_fields = [pa.field("charset", pa.string())]

    def input_schema(self, shard: Shard) -> pa.Schema:
        return BASE_SCHEMA

    def read(self, shard: Shard, stats: ShardStats) -> Iterator[dict]:
        fmt, cfg, path = self.ctx.input_format, self.config, shard.input
        if fmt in ("warc", "wet"):
            records = read_warc(path, stats, cfg.max_record_bytes, wet=fmt == "wet")
        elif fmt == "jsonl":
            records = read_jsonl(path, stats, cfg.text_key, cfg.max_record_bytes)
        elif fmt == "parquet":
            records = read_parquet(path, stats, cfg.text_key)
        else:
            records = read_text(path, stats, cfg.max_record_bytes)
        source = redact(path)  # never credentials in outputs
        for rec in records:
            stats.docs_in += 1
            payload = rec.payload
            stats.raw_bytes += len(payload) if isinstance(payload, bytes) else len((payload or "").encode())
            yield self._document(rec, path, source)

    def _document(self, rec: RawRecord, path: str, source: str) -> dict:
        fields = rec.fields or {}
        doc = {
            "id": make_id(rec.record_id or Path(source).name, rec.index if not rec.record_id else 0),
            "text": rec.payload if isinstance(rec.payload, str) else "",
            "url": rec.url,
            "domain": fields.get("domain") or registered_domain(rec.url),
            "source": source,
            "crawl_date": rec.date or fields.get("crawl_date") or fields.get("date"),
            "lang": None,
            "lang_score": None,
            "charset": None,
            "_raw": rec,
        }
        return doc

    def process(self, docs: Iterator[dict], stats: ShardStats) -> Iterator[tuple[dict, str | None]]:
        for doc in docs:
            rec: RawRecord = doc.pop("_raw")
            if rec.too_large:
                yield doc, "too_large"
                continue
            if rec.status is not None and rec.status != 200:
                yield doc, f"http_{rec.status}"
                continue
            ctype = (rec.content_type or "").split(";")[0].strip().lower()
            if isinstance(rec.payload, bytes):
                if ctype not in TEXT_TYPES:
                    stats.count(f"content_type:{ctype or 'missing'}")
                    yield doc, "non_html_content"
                    continue
                text, how = decode_html(rec.payload, rec.charset)
                doc["charset"] = how
                stats.count(f"charset_from_{how}")
                if ctype != "text/plain":
                    try:
                        text = extract_with_budget(text, self.config.extractor, self.config.extract_timeout)
                    except ExtractTimeout:
                        yield doc, "extract_timeout"
                        continue
                doc["text"] = text
            if not doc["text"] or not doc["text"].strip():
                yield doc, "empty_extraction"
                continue
            yield doc, None

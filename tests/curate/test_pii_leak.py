"""Leak test: after pipelines/web.yaml over the sample crawl, no planted value is in any output
written after the `pii` stage (raw bytes of every file, decoded Parquet text columns, decoded
token shards), nor in the report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from curate.pipeline import load_pipeline
from curate.runner import Pipeline
from curate.tokenization.shards import read_header
from scripts.sample_crawl import LABELS_NAME
from scripts.sample_pii import planted_values

REPO = Path(__file__).resolve().parents[2]


def _parquet_strings(path: Path) -> list[str]:
    table = pq.read_table(path)
    out = []
    for col in table.columns:
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            out += [v for v in col.to_pylist() if v]
    return out


def _token_texts(tokens: Path) -> list[str]:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokens / "tokenizer.json"))
    out = []
    for p in sorted(tokens.glob("*.bin")):
        h = read_header(p)
        dtype = np.uint16 if h.magic == 20240520 else np.uint32
        ids = np.fromfile(p, dtype=dtype, offset=256 * 4, count=h.num_tokens)
        out.append(tok.decode(ids.tolist(), skip_special_tokens=False))
    return out


def _hits(haystacks: list[str | bytes], needles: list[str]) -> set[str]:
    found = set()
    for h in haystacks:
        for v in needles:
            if (v if isinstance(h, str) else v.encode()) in h:
                found.add(v)
    return found


def test_no_planted_value_after_the_pii_stage(tmp_path: Path, sample_crawl_dir: Path) -> None:
    labels = [json.loads(x) for x in (sample_crawl_dir / LABELS_NAME).read_text("utf-8").splitlines()]
    planted = planted_values(labels)
    assert len(planted) >= 20
    # digits-only forms too: '138 1234 5678' must not survive as '13812345678' either
    needles = sorted(
        set(planted)
        | {"".join(c for c in v if c.isdigit()) for v in planted if sum(c.isdigit() for c in v) >= 10}
    )

    spec = yaml.safe_load((REPO / "pipelines" / "web.yaml").read_text())
    names = [next(iter(s)) for s in spec["stages"]]
    assert names[:2] == ["ingest", "pii"]  # the shipped pipeline redacts right after ingest
    spec["workdir"] = str(tmp_path / "run")
    spec["input"]["paths"] = [f"{sample_crawl_dir}/*.warc.gz"]
    spec["executor"] = {"type": "local", "workers": 2}
    spec["allow_outside_paths"] = True
    for stage in spec["stages"]:
        if "pii" in stage:  # one type dropped: those pages go to removed/, stored redacted
            stage["pii"]["card"] = "drop"
        if "tokenize" in stage:
            stage["tokenize"].update(vocab_size=2048, val_fraction=0.05)
    (tmp_path / "web.yaml").write_text(yaml.safe_dump(spec))
    Pipeline(load_pipeline(tmp_path / "web.yaml"), verbose=False).run()

    run = tmp_path / "run"
    ingest = [s for p in sorted((run / "00_ingest").rglob("*.parquet")) for s in _parquet_strings(p)]
    # not vacuous: the values reached the pipeline, and the pages carrying them survive past filter
    assert _hits(ingest, planted) == set(planted)
    files = [p for p in run.rglob("*") if p.is_file() and not p.relative_to(run).parts[0].startswith("00_")]
    assert any(p.name == "report.json" for p in files) and any(p.name == "report.html" for p in files)
    assert any(p.suffix == ".bin" for p in files)
    leaks: dict[str, set[str]] = {}
    for p in files:
        haystacks: list[str | bytes] = [p.read_bytes()]
        if p.suffix == ".parquet":
            haystacks += _parquet_strings(p)
        found = _hits(haystacks, needles)
        if found:
            leaks[str(p.relative_to(run))] = found
    tokens = next(p.parent for p in files if p.name == "tokenizer.json" and list(p.parent.glob("*.bin")))
    token_leaks = _hits(_token_texts(tokens), needles)
    assert not leaks and not token_leaks, (leaks, token_leaks)

    pii_dir = next(d for d in run.iterdir() if d.name.endswith("_pii"))
    kept = [s for p in sorted(pii_dir.glob("part-*.parquet")) for s in _parquet_strings(p)]
    removed = [s for p in sorted(pii_dir.glob("removed/part-*.parquet")) for s in _parquet_strings(p)]
    both = kept + removed
    assert sum(s.count("<EMAIL>") for s in both) >= 7 and sum(s.count("<PHONE>") for s in both) >= 6
    report = json.loads((run / "report.json").read_text())
    pii_stage = next(s for s in report["stages"] if s["stage"] == "pii")
    assert pii_stage["reasons"] == {
        "pii_card": len({r["url"] for r in pq.read_table(pii_dir / "removed").to_pylist()})
    }
    assert pii_stage["reasons"]["pii_card"] >= 2 and any("<CARD>" in s for s in removed)
    counters = pii_stage["counters"]
    for t, tag in [("email", "<EMAIL>"), ("phone", "<PHONE>"), ("key", "<KEY>"), ("card", "<CARD>")]:
        assert counters[f"replaced:{t}"] == sum(s.count(tag) for s in both), t
    later = [d for d in run.iterdir() if d.is_dir() and d.name[:2].isdigit() and d.name > pii_dir.name]
    kept_later = [s for d in later for p in sorted(d.glob("part-*.parquet")) for s in _parquet_strings(p)]
    assert any("<KEY>" in s for s in kept_later)  # the redacted pages travel on to the later stages

"""Real `kill -9` inside the multi-pass stages (dedup's passes, decontaminate's index, tokenize's
pack, `llmcli tokenize`), then a rerun: every output byte-identical to an uninterrupted run, no
temporary file left behind, and `curate status` calls a stage killed in its global pass partial."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.curate.test_decontaminate import humaneval
from tests.curate.test_dedup import doc_words, mutate

REPO = Path(__file__).resolve().parents[2]


def corpus(tmp_path: Path) -> Path:
    rng = random.Random(11)
    docs = [{"url": f"https://site{i % 4}.org/{i}", "text": " ".join(doc_words(rng, 120))} for i in range(60)]
    docs += [{"url": f"https://copy.org/{k}", "text": docs[k]["text"]} for k in range(5)]
    docs += [{"url": f"https://near.org/{k}", "text": " ".join(mutate(docs[k + 9]["text"].split(), 2, rng))}
             for k in range(5)]  # fmt: skip
    docs.append(
        {"url": "https://leak.org/0", "text": humaneval("HumanEval/3")["prompt"] + " ".join(doc_words(rng))}
    )
    inp = tmp_path / "in"
    inp.mkdir()
    for part in range(3):
        rows = docs[part::3]
        (inp / f"p{part}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return inp


def pipeline(tmp_path: Path, inp: Path, name: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        textwrap.dedent(f"""
        name: {name}
        workdir: {tmp_path / name}
        input: {{paths: ["{inp}/*.jsonl"], format: jsonl}}
        executor: {{type: local, workers: 1}}
        stages:
          - ingest: {{extractor: none}}
          - dedup: {{exact: true, minhash: {{ngram: 5, bands: 14, rows: 8}}}}
          - decontaminate: {{benchmarks: [humaneval], ngram: 13}}
          - tokenize: {{vocab_size: 350, shard_tokens: 1500, val_fraction: 0.1, test_fraction: 0.1}}
        """)
    )
    return path


def cli(*args: str, fault: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "LLMCLI_FAULT"}
    if fault:
        env["LLMCLI_FAULT"] = fault
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )


def outputs(workdir: Path) -> dict[str, str]:
    """Every data file: kept and removed shards, token shards, index, tokenizer, meta.json."""
    keep = (".parquet", ".bin", "tokenizer.json", "meta.json")
    files = [p for p in workdir.rglob("*") if p.is_file() and p.name.endswith(keep) and "/_" not in str(p)]
    return {str(p.relative_to(workdir)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(files)}


def leftovers(workdir: Path) -> list[Path]:
    return [p for p in workdir.rglob("*") if ".tmp-" in p.name or ".pack.tmp" in p.name]


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    tmp = tmp_path_factory.mktemp("kill")
    inp = corpus(tmp)
    done = cli("curate", "run", str(pipeline(tmp, inp, "clean")))
    assert done.returncode == 0, done.stderr
    digests = outputs(tmp / "clean")
    assert len([k for k in digests if k.startswith("tokens/train_")]) > 1  # the pack has shards to move
    return inp, digests


@pytest.mark.parametrize(
    "fault, killed_stage",
    [
        ("prepare:1", "01_dedup"),  # dedup's global pass just started
        ("dedup_pass:3", "01_dedup"),  # signatures and exact duplicates done, band buckets done
        ("decontaminate_index:1", "02_decontaminate"),
        ("prepare:3", "03_tokenize"),  # the tokenizer being trained
        ("pack:2", "03_tokenize"),  # half of the new token shards moved into tokens/
    ],
)
def test_kill_inside_a_multi_pass_stage_then_rerun_is_byte_identical(
    tmp_path: Path, clean: tuple[Path, dict[str, str]], fault: str, killed_stage: str
) -> None:
    inp, expected = clean
    cfg = pipeline(tmp_path, inp, "killed")
    killed = cli("curate", "run", str(cfg), fault=fault)
    assert killed.returncode == -9, killed.stderr  # the fault point was reached
    status = cli("curate", "status", str(cfg), "--json")
    rows = {r["dir"]: r["state"] for r in json.loads(status.stdout)}
    assert rows[killed_stage] == "partial", rows  # its intermediate files are kept and reused
    resumed = cli("curate", "run", str(cfg))
    assert resumed.returncode == 0, resumed.stderr
    assert outputs(tmp_path / "killed") == expected
    assert not leftovers(tmp_path / "killed")


def test_llmcli_tokenize_killed_anywhere_resumes_to_the_same_bytes(tmp_path: Path) -> None:
    rng = random.Random(5)
    (tmp_path / "in").mkdir()
    for f in range(3):
        texts = [" ".join(doc_words(rng, rng.randint(20, 200))) for _ in range(40)]
        table = pa.table({"id": [f"d{f}-{i}" for i in range(40)], "text": pa.array(texts, pa.large_string())})
        pq.write_table(table, tmp_path / "in" / f"part-{f}.parquet", row_group_size=16)
    args = ["tokenize", "--input", str(tmp_path / "in"), "--vocab-size", "350", "--shard-tokens", "3000"]
    assert cli(*args, "--out", str(tmp_path / "clean")).returncode == 0
    expected = outputs(tmp_path / "clean")
    assert len([k for k in expected if k.startswith("train_")]) > 1
    for n, fault in enumerate(["shard_renamed:2", "shard_recorded:1", "pack:3"]):
        out = tmp_path / f"killed{n}"
        assert cli(*args, "--out", str(out), fault=fault).returncode == -9
        again = cli(*args, "--out", str(out))
        assert again.returncode == 0, again.stderr
        assert outputs(out) == expected, fault
        assert not leftovers(out)
    # a rerun re-encodes nothing: the parts keep their mtimes
    parts = sorted((tmp_path / "killed0" / "00_tokenize" / "_tok").glob("*.tok"))
    mtimes = [p.stat().st_mtime_ns for p in parts]
    assert cli(*args, "--out", str(tmp_path / "killed0")).returncode == 0
    assert [p.stat().st_mtime_ns for p in parts] == mtimes and parts

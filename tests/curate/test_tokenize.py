"""Tokenization: BPE round trip, shards + index (CONTRACT), resume, the pipeline stage, the CLI."""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from curate.config import ConfigError
from curate.pipeline import load_pipeline
from curate.runner import Pipeline
from curate.tokenization.bpe import EOT, new_tokenizer, train_tokenizer
from curate.tokenize_cli import tokenize_cmd
from tests.train.test_shards import contract_reader
from tests.warcs import PARAGRAPHS

ROOT = Path(__file__).resolve().parents[2]

WORDS = " ".join(PARAGRAPHS).split()
ODD = [  # texts a normalizer or a prefix space would alter
    "  leading spaces and trailing  ",
    "Crème brûlée, naïve café — “quotes” and ½ ﬁ ligature",
    "Windows\r\nline\r\nends\tand\ttabs",
    "日本語のテキストと emoji 😀👍🏽",
    "a literal <|endoftext|> inside a page must stay text",
    "e\u0301 (combining accent) vs \u00e9 (precomposed)",
]


def make_corpus(seed: int = 0, n: int = 240) -> list[dict]:
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        text = " ".join(rng.choices(WORDS, k=rng.randint(5, 120)))
        if i % 10 == 3:
            text += "\n" + ODD[(i // 10) % len(ODD)]
        docs.append({"id": f"doc-{seed}-{i:04d}", "text": text})
    docs[17]["text"] = ""  # encodes to no token
    docs[41]["text"] = None
    return docs


def write_parquet(dir_: Path, docs: list[dict], files: int) -> Path:
    dir_.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        rows = docs[f::files]
        table = pa.table(
            {"id": [r["id"] for r in rows], "text": pa.array([r["text"] for r in rows], pa.large_string())}
        )
        pq.write_table(table, dir_ / f"part-{f:05d}.parquet", row_group_size=25)
    return dir_


def run_cli(*args: str) -> str:
    result = CliRunner().invoke(tokenize_cmd, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def read_tokens(out: Path) -> dict[str, list[np.ndarray]]:
    return {s: [contract_reader(p) for p in sorted(out.glob(f"{s}_*.bin"))] for s in ("train", "val", "test")}


def digests(out: Path) -> dict[str, str]:
    # the token outputs; config.yaml names the output directory, meta.json is checked on its own
    files = [p for p in out.iterdir() if p.is_file() and p.name not in ("meta.json", "config.yaml", ".lock")]
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.fixture(scope="module")
def tokenized(tmp_path_factory) -> tuple[Path, list[dict]]:
    tmp = tmp_path_factory.mktemp("tok")
    docs = make_corpus()
    write_parquet(tmp / "in", docs, files=3)
    run_cli(
        "--input",
        str(tmp / "in"),
        "--out",
        str(tmp / "out"),
        "--vocab-size",
        "600",
        "--shard-tokens",
        "2000",
        "--val-fraction",
        "0.2",
        "--test-fraction",
        "0.2",
    )
    return tmp / "out", docs


# --------------------------------------------------------------------------- tokenizer


def test_tokenizer_round_trips_exactly_and_loads_in_transformers(tmp_path: Path) -> None:
    from transformers import PreTrainedTokenizerFast

    texts = [d["text"] for d in make_corpus() if d["text"]] + ODD
    tok = train_tokenizer(iter(texts), vocab_size=500)
    path = tmp_path / "tokenizer.json"
    path.write_text(tok.to_str())
    assert tok.normalizer is None and tok.token_to_id(EOT) is not None
    hf = PreTrainedTokenizerFast(tokenizer_file=str(path))
    for text in texts:
        ids = tok.encode(text, add_special_tokens=False).ids
        assert tok.decode(ids, skip_special_tokens=False) == text
        assert hf.encode(text, add_special_tokens=False) == ids
        assert hf.decode(ids) == text
    # learned merges: a common word is one token, not its letters
    assert len(tok.encode(" the").ids) == 1 and len(tok.encode(" the library").ids) < len(" the library")
    # a byte never seen in training still encodes (the 256-byte alphabet is always there)
    assert tok.decode(tok.encode("\x07ǂ").ids) == "\x07ǂ"
    assert len(new_tokenizer().get_vocab()) == 0


# --------------------------------------------------------------------------- shards + index


def test_every_document_decodes_back_from_the_shards_via_the_index(tokenized) -> None:
    from tokenizers import Tokenizer

    out, docs = tokenized
    tok = Tokenizer.from_file(str(out / "tokenizer.json"))
    eot = tok.token_to_id(EOT)
    shards = read_tokens(out)
    index = pq.read_table(out / "index.parquet").to_pylist()
    text = {d["id"]: d["text"] for d in docs}
    for row in index:
        tokens = shards[row["split"]][row["shard"]]
        assert tokens[row["offset"] - 1] == eot  # the separator before each document
        ids = tokens[row["offset"] : row["offset"] + row["length"]].tolist()
        assert eot not in ids  # the literal "<|endoftext|>" in a page was encoded as text
        assert tok.decode(ids, skip_special_tokens=False) == text[row["id"]]
    # no document lost or duplicated across shards and splits; the two empty ones are left out
    ids = [r["id"] for r in index]
    assert len(ids) == len(set(ids))
    assert set(ids) == {d["id"] for d in docs if d["text"]}
    assert {r["split"] for r in index} == {"train", "val", "test"}


def test_header_counts_sum_to_the_index_and_shards_hold_whole_documents(tokenized) -> None:
    from tokenizers import Tokenizer

    out, _ = tokenized
    eot = Tokenizer.from_file(str(out / "tokenizer.json")).token_to_id(EOT)
    index = pq.read_table(out / "index.parquet")
    col = {k: np.asarray(index.column(k).to_pylist()) for k in ("split", "shard", "length")}
    meta = json.loads((out / "meta.json").read_text())
    for split, shards in read_tokens(out).items():
        mine = col["split"] == split
        lengths, shard_of = col["length"][mine], col["shard"][mine]
        assert sum(len(s) for s in shards) == int((lengths + 1).sum()) == meta[f"{split}_tokens"]
        assert [len(s) for s in shards] == meta["shards"][split]
        for i, s in enumerate(shards):
            in_shard = lengths[shard_of == i]
            # each shard starts with a separator and holds exactly its documents and their EOTs
            assert s[0] == eot and int((s == eot).sum()) == len(in_shard)
            assert len(s) == int((in_shard + 1).sum())
            assert len(s) <= 2000 or len(in_shard) == 1
    assert len(read_tokens(out)["train"]) > 3  # the small shard size did split the stream


def test_split_is_by_document_id_whatever_the_file_layout(tokenized, tmp_path: Path) -> None:
    out, docs = tokenized
    write_parquet(tmp_path / "in", docs[::-1], files=5)
    run_cli(
        "--input",
        str(tmp_path / "in" / "*.parquet"),
        "--out",
        str(tmp_path / "out"),
        "--tokenizer",
        str(out / "tokenizer.json"),
        "--val-fraction",
        "0.2",
        "--test-fraction",
        "0.2",
    )

    def ids(path: Path, split: str) -> set[str]:
        return {r["id"] for r in pq.read_table(path / "index.parquet").to_pylist() if r["split"] == split}

    for split in ("val", "test"):
        assert ids(out, split) == ids(tmp_path / "out", split)
        assert 0.1 < len(ids(out, split)) / len(docs) < 0.3
    assert not ids(out, "val") & ids(out, "test")
    # without a test split, val holds exactly the same documents: test takes the next hash band
    run_cli(
        "--input",
        str(tmp_path / "in" / "*.parquet"),
        "--out",
        str(tmp_path / "no-test"),
        "--tokenizer",
        str(out / "tokenizer.json"),
        "--val-fraction",
        "0.2",
        "--test-fraction",
        "0",
    )
    assert ids(tmp_path / "no-test", "val") == ids(out, "val") and not ids(tmp_path / "no-test", "test")
    assert not list((tmp_path / "no-test").glob("test_*.bin"))


def test_rerun_and_resume_are_byte_identical(tmp_path: Path) -> None:
    write_parquet(tmp_path / "in", make_corpus(1), files=3)
    args = [
        "--input",
        str(tmp_path / "in"),
        "--out",
        str(tmp_path / "out"),
        "--vocab-size",
        "400",
        "--shard-tokens",
        "3000",
    ]
    run_cli(*args)
    out = tmp_path / "out"
    first = digests(out)
    part1 = out / "00_tokenize" / "_tok" / "part-00001.train.tok"
    mtime = part1.stat().st_mtime_ns
    run_cli(*args)
    assert digests(out) == first and part1.stat().st_mtime_ns == mtime  # nothing re-encoded
    # (real kills at every step: tests/curate/test_kill_multipass.py)
    # another tokenizer config starts over (and a fresh directory gives the same bytes: no hidden state)
    run_cli(*args[:4], "--shard-tokens", "3000", "--vocab-size", "420")
    assert digests(out)["tokenizer.json"] != first["tokenizer.json"]
    run_cli(
        "--input",
        str(tmp_path / "in"),
        "--out",
        str(tmp_path / "fresh"),
        "--vocab-size",
        "400",
        "--shard-tokens",
        "3000",
    )
    assert digests(tmp_path / "fresh") == first


def test_uint32_shards_when_the_vocabulary_exceeds_uint16(tmp_path: Path) -> None:
    tok = train_tokenizer(iter(WORDS), vocab_size=300)
    tok.add_tokens([f"zz{i}" for i in range(70_000)])  # a vocabulary of more than 65,536 ids
    tok.save(str(tmp_path / "big.json"))
    docs = [{"id": "a", "text": "first zz69999 doc"}, {"id": "b", "text": "second zz12 zz65600"}]
    write_parquet(tmp_path / "in", docs, files=1)
    run_cli(
        "--input",
        str(tmp_path / "in"),
        "--out",
        str(tmp_path / "out"),
        "--tokenizer",
        str(tmp_path / "big.json"),
        "--val-fraction",
        "0",
    )
    raw = (tmp_path / "out" / "train_000000.bin").read_bytes()
    assert np.frombuffer(raw[:8], "<i4").tolist() == [20240801, 7]
    tokens = contract_reader(tmp_path / "out" / "train_000000.bin")
    assert tok.token_to_id("zz69999") in tokens.tolist() and int(tokens.max()) > 65535
    assert (
        tok.decode(tokens.tolist(), skip_special_tokens=False)
        == EOT + "first zz69999 doc" + EOT + docs[1]["text"]
    )


def test_cli_errors_are_one_line_naming_the_culprit(tokenized, tmp_path: Path) -> None:
    out, _ = tokenized
    bad = tmp_path / "tokenizer.json"
    bad.write_text("{not json")
    (tmp_path / "in").mkdir()
    pq.write_table(pa.table({"id": ["x"], "text": ["hello"]}), tmp_path / "in" / "a.parquet")
    runner = CliRunner()
    r = runner.invoke(
        tokenize_cmd, ["--input", str(tmp_path / "in"), "--out", str(tmp_path / "o"), "--tokenizer", str(bad)]
    )
    assert r.exit_code != 0 and str(bad) in r.output and "Traceback" not in r.output
    r = runner.invoke(
        tokenize_cmd, ["--input", str(tmp_path / "nothing*.parquet"), "--out", str(tmp_path / "o")]
    )
    assert r.exit_code != 0 and "no Parquet files" in r.output
    truncated = tmp_path / "train_000000.bin"
    truncated.write_bytes((out / "train_000000.bin").read_bytes()[:3000])
    r = runner.invoke(tokenize_cmd, ["--inspect", str(truncated)])
    assert r.exit_code != 0 and str(truncated) in r.output and "but the file has" in r.output


def test_inspect_prints_header_count_and_decoded_tokens(tokenized) -> None:
    out, docs = tokenized
    output = run_cli("--inspect", str(out / "train_000000.bin"), "-n", "30")
    tokens = contract_reader(out / "train_000000.bin")
    assert "magic 20240520, version 1, uint16" in output
    assert f"tokens:   {len(tokens):,}" in output
    index = pq.read_table(out / "index.parquet").to_pylist()
    first_doc = min(
        (r for r in index if r["split"] == "train" and r["shard"] == 0), key=lambda r: r["offset"]
    )
    text = {d["id"]: d["text"] for d in docs}[first_doc["id"]]
    assert EOT + text.split()[0] in output  # the decoded start: the separator, then the first word


# --------------------------------------------------------------------------- pipeline stage


def test_pipeline_stage_writes_tokens_and_passes_documents_through(tmp_path: Path) -> None:
    docs = make_corpus(2, n=150)
    inp = tmp_path / "in"
    inp.mkdir()
    for s in range(2):
        lines = [json.dumps({"url": f"https://ex.org/{d['id']}", "text": d["text"]}) for d in docs[s::2]]
        (inp / f"part-{s}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    yaml_path = tmp_path / "p.yaml"
    yaml_path.write_text(
        textwrap.dedent(f"""
        name: test
        workdir: {tmp_path / "run"}
        input: {{paths: ["{inp}/*.jsonl"], format: jsonl}}
        executor: {{type: local, workers: 1}}
        stages:
          - ingest: {{extractor: none}}
          - tokenize: {{vocab_size: 500, shard_tokens: 4000, val_fraction: 0.1}}
    """)
    )
    report = Pipeline(load_pipeline(yaml_path), verbose=False).run()
    run = tmp_path / "run"
    stage = report["stages"][1]
    tokens = run / "tokens"
    meta = json.loads((tokens / "meta.json").read_text())
    index = pq.read_table(tokens / "index.parquet")
    kept_ids = [
        r
        for p in sorted((run / "01_tokenize").glob("part-*.parquet"))
        for r in pq.read_table(p, columns=["id"]).column("id").to_pylist()
    ]
    ingest_ids = [
        r
        for p in sorted((run / "00_ingest").glob("part-*.parquet"))
        for r in pq.read_table(p, columns=["id"]).column("id").to_pylist()
    ]
    assert stage["docs_in"] == stage["kept"] + stage["removed"] == len(ingest_ids)
    assert sorted(kept_ids) == sorted(index.column("id").to_pylist())
    assert meta["tokens"] == sum(len(s) for ss in read_tokens(tokens).values() for s in ss)
    assert (tokens / "tokenizer.json").is_file() and list(tokens.glob("val_*.bin"))
    # kept documents pass through unchanged
    assert (run / "01_tokenize" / "part-00000.parquet").read_bytes() == (
        run / "00_ingest" / "part-00000.parquet"
    ).read_bytes()
    assert report["tokens"]["tokens"] == meta["tokens"]
    before = digests(tokens)
    Pipeline(load_pipeline(yaml_path), verbose=False).run()
    assert digests(tokens) == before


def test_stage_config_is_checked(tmp_path: Path) -> None:
    yaml_path = tmp_path / "p.yaml"
    yaml_path.write_text(
        textwrap.dedent(f"""
        name: test
        workdir: {tmp_path / "run"}
        input: {{paths: ["{tmp_path}/*.jsonl"], format: jsonl}}
        stages:
          - ingest: {{extractor: none}}
          - tokenize: {{val_fraction: 1.5}}
    """)
    )
    with pytest.raises(ConfigError, match="val_fraction"):
        load_pipeline(yaml_path)
    yaml_path.write_text(
        yaml_path.read_text().replace("val_fraction: 1.5", "val_fraction: 0.6, test_fraction: 0.4")
    )
    with pytest.raises(ConfigError, match="nothing would be left to train on"):
        load_pipeline(yaml_path)


def test_stage_removes_documents_without_tokens_and_keeps_the_rest(tmp_path: Path) -> None:
    from curate.stage import Shard, ShardStats, StageContext
    from curate.stages.tokenize import Tokenize, TokenizeConfig

    docs = make_corpus(3, n=60)  # rows 17 and 41 have no text
    src = write_parquet(tmp_path / "in", docs, files=1) / "part-00000.parquet"
    sdir = tmp_path / "run" / "05_tokenize"
    ctx = StageContext(workdir=tmp_path / "run", stage_dir=sdir, position=5, pipeline_name="t")
    stage = Tokenize(TokenizeConfig(vocab_size=300, val_fraction=0.0), ctx)
    shard = Shard(0, str(src))
    stage.prepare([shard], lambda f, xs: [f(x) for x in xs])
    stats = ShardStats()
    outputs = stage.run_shard(shard, stats)
    for rel, tmp in outputs.items():
        Path(tmp).replace(sdir / rel)
    kept = pq.read_table(sdir / "part-00000.parquet").to_pylist()
    gone = pq.read_table(sdir / "removed" / "part-00000.parquet").to_pylist()
    assert [r["id"] for r in gone] == ["doc-3-0017", "doc-3-0041"]
    assert {r["reason"] for r in gone} == {"empty_tokens"}
    assert [r["id"] for r in kept] == [d["id"] for d in docs if d["text"]]
    assert (stats.docs_in, stats.kept, stats.removed) == (60, 58, 2)
    meta = stage.finalize([shard], None)
    assert meta.val_tokens == 0 and meta.tokens == stats.counters["train_tokens"]
    assert (tmp_path / "run" / "tokens" / "train_000000.bin").is_file()


def test_meta_records_the_real_vocabulary_and_the_end_of_text_id(tmp_path: Path) -> None:
    from tokenizers import Tokenizer

    write_parquet(tmp_path / "in", make_corpus(), files=1)
    run_cli("--input", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--vocab-size", "32000")
    out = tmp_path / "out"
    tok = Tokenizer.from_file(str(out / "tokenizer.json"))
    meta = json.loads((out / "meta.json").read_text())
    assert meta["vocab_size"] == tok.get_vocab_size() < 5000  # 32000 asked for; the small corpus fills fewer
    assert meta["eot_id"] == tok.token_to_id(EOT) and meta["eot_token"] == EOT
    made = json.loads((out / "00_tokenize" / "tokenizer.meta.json").read_text())
    assert made["vocab_size"] == tok.get_vocab_size() and made["made_from"]["vocab_size"] == 32000


def test_nanogpt_format_is_the_shards_concatenated_without_headers(tokenized, tmp_path: Path) -> None:
    out, docs = tokenized
    write_parquet(tmp_path / "in", docs, files=2)
    run_cli(
        "--input",
        str(tmp_path / "in"),
        "--out",
        str(tmp_path / "out"),
        "--tokenizer",
        str(out / "tokenizer.json"),
        "--shard-tokens",
        "2000",
        "--val-fraction",
        "0.2",
        "--test-fraction",
        "0.2",
        "--format",
        "nanogpt",
    )
    shards = read_tokens(tmp_path / "out")
    for split in ("train", "val", "test"):
        # what nanoGPT's train.py does: np.memmap(os.path.join(data_dir, 'train.bin'), dtype=np.uint16)
        flat = np.memmap(tmp_path / "out" / f"{split}.bin", dtype=np.uint16, mode="r")
        assert np.array_equal(flat, np.concatenate(shards[split])) and len(flat) > 0


# `python -m cli ARGS` with an atexit handler that says whether the interpreter's teardown ran.
WITH_TEARDOWN_MARK = (
    "import atexit, runpy, sys; atexit.register(lambda: print('teardown', file=sys.stderr)); "
    "sys.argv = ['cli', *sys.argv[1:]]; runpy.run_module('cli', run_name='__main__', alter_sys=True)"
)


def test_the_command_line_ends_quickly_with_its_outputs_whole(tokenized, tmp_path: Path) -> None:
    # `llmcli tokenize` in its own process ends with os._exit after success (curate.quick_exit):
    # no teardown, its last line printed, its outputs those of the in-process run; a failure
    # still exits 1 with its one line, through the normal teardown.
    out, _ = tokenized
    again = tmp_path / "out"
    args = [
        "--input",
        str(out.parent / "in"),
        "--out",
        str(again),
        "--tokenizer",
        str(out / "tokenizer.json"),
    ]
    args += ["--shard-tokens", "2000", "--val-fraction", "0.2", "--test-fraction", "0.2"]

    def llmcli(*argv: str) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-c", WITH_TEARDOWN_MARK, "tokenize", *argv]
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)

    done = llmcli(*args)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].startswith("tokens: train ") and "teardown" not in done.stderr
    assert digests(again) == digests(out)  # tokenizer.json too: the given file, copied as it is
    missing = llmcli("--input", str(tmp_path / "none"), "--out", str(tmp_path / "o"))
    assert missing.returncode == 1 and missing.stderr.count("\n") == 2, (
        missing.stderr
    )  # its line, then teardown
    assert missing.stderr.endswith("teardown\n")

"""Review of `llmcli tokenize` as a pipeline: reruns leave no stale nanoGPT file; bad text is one line."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from click.testing import CliRunner

from curate.tokenize_cli import tokenize_cmd
from tests.curate.test_tokenize import make_corpus, run_cli, write_parquet


def test_a_rerun_leaves_no_nanogpt_file_of_an_earlier_run(tmp_path: Path) -> None:
    write_parquet(tmp_path / "in", make_corpus(2), files=2)
    out = tmp_path / "out"
    args = ["--input", str(tmp_path / "in"), "--out", str(out), "--vocab-size", "400"]
    run_cli(*args, "--test-fraction", "0.2", "--format", "nanogpt")
    assert (out / "test.bin").stat().st_size > 0
    run_cli(*args, "--test-fraction", "0", "--format", "nanogpt")  # no test split any more
    assert not list(out.glob("test_*.bin")) and not (out / "test.bin").exists()
    assert (out / "train.bin").exists()
    run_cli(*args[:4], "--vocab-size", "420")  # another tokenizer, no nanoGPT files asked for
    assert not [p.name for p in out.glob("*.bin") if "_" not in p.name]


def test_a_text_column_that_is_not_text_is_one_line_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    bad = tmp_path / "in" / "a.parquet"
    pq.write_table(pa.table({"id": ["x", "y"], "text": [1, 2]}), bad)
    r = CliRunner().invoke(tokenize_cmd, ["--input", str(bad), "--out", str(tmp_path / "o")])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.exception
    assert str(bad) in r.output and "text" in r.output and "Traceback" not in r.output


def test_a_corrupt_input_file_is_named_on_the_error_line(tmp_path: Path) -> None:
    from curate.tokenization.bpe import train_tokenizer
    from tests.curate.test_tokenize import WORDS

    train_tokenizer(iter(WORDS), vocab_size=300).save(str(tmp_path / "tok.json"))
    (tmp_path / "in").mkdir()
    for k in range(2):
        texts = [f"hello world number {i} with some words {k}" for i in range(2000)]
        pq.write_table(
            pa.table({"id": [f"d{k}-{i}" for i in range(2000)], "text": texts}),
            tmp_path / "in" / f"{k}.parquet",
        )
    bad = tmp_path / "in" / "1.parquet"
    data = bytearray(bad.read_bytes())
    data[200:2000] = bytes(b ^ 0x5A for b in data[200:2000])  # the data pages, not the footer
    bad.write_bytes(bytes(data))
    args = [
        "--input",
        str(tmp_path / "in"),
        "--out",
        str(tmp_path / "o"),
        "--tokenizer",
        str(tmp_path / "tok.json"),
    ]
    r = CliRunner().invoke(tokenize_cmd, args)
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.exception
    last = r.output.strip().splitlines()[-1]
    assert last.startswith("Error: ") and str(bad) in last, r.output


def test_a_corrupt_input_read_while_training_the_tokenizer_is_named(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    texts = [f"hello world number {i} with some words" for i in range(2000)]
    bad = tmp_path / "in" / "0.parquet"
    pq.write_table(pa.table({"id": [f"d{i}" for i in range(2000)], "text": texts}), bad)
    data = bytearray(bad.read_bytes())
    data[200:2000] = bytes(b ^ 0x5A for b in data[200:2000])
    bad.write_bytes(bytes(data))
    r = CliRunner().invoke(
        tokenize_cmd, ["--input", str(tmp_path / "in"), "--out", str(tmp_path / "o"), "--vocab-size", "300"]
    )
    assert r.exit_code == 1, r.output
    last = r.output.strip().splitlines()[-1]
    assert last.startswith("Error: ") and f"{bad}: row group 0 cannot be read" in last, r.output

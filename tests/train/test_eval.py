"""`llmcli eval` against an independent computation with transformers on the exported model."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from click.testing import CliRunner

from cli import main
from curate.tokenization.shards import open_shard, write_shard
from tests.train.util import tiny_config
from train.checkpoint import latest_checkpoint
from train.eval import run_eval, windows
from train.export import export_hf
from train.trainer import train

DOCS = [  # (text, domain, lang)
    ("the quick brown fox jumps over the lazy dog.", "a.com", "en"),
    ("a model learns to predict the next token from the tokens before it.", "b.org", "en"),
    ("der schnelle braune fuchs springt über den faulen hund.", "a.com", "de"),
    ("shards hold tokens; the trainer reads them through a memory map.", "b.org", "en"),
    ("größer, schöner, näher: umlaute sind mehrere bytes lang.", "c.net", "de"),
]


@pytest.fixture(scope="module")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """train / val / test shards of EOT-separated documents, their index.parquet and tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    root = tmp_path_factory.mktemp("tokens")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator([d[0] for d in DOCS] * 20, trainer)
    tok.save(str(root / "tokenizer.json"))
    eot = tok.token_to_id("<|endoftext|>")
    rows = []
    rng = np.random.default_rng(0)
    for split, n_docs, shards in (("train", 200, 1), ("val", 24, 2), ("test", 17, 1)):
        picks = rng.integers(0, len(DOCS), size=n_docs)
        for shard, part in enumerate(np.array_split(picks, shards)):
            stream: list[int] = []
            for j, k in enumerate(part):
                ids = tok.encode(DOCS[k][0]).ids
                stream.append(eot)
                rows.append(
                    (f"{split}-{shard}-{j}", split, shard, len(stream), len(ids), DOCS[k][1], DOCS[k][2])
                )
                stream += ids
            write_shard(root / f"{split}_{shard:06d}.bin", np.array(stream), np.uint16)
    cols = list(zip(*rows))
    pq.write_table(
        pa.table(
            {
                "id": pa.array(cols[0], pa.string()),
                "split": pa.array(cols[1], pa.string()),
                "shard": pa.array(cols[2], pa.int32()),
                "offset": pa.array(cols[3], pa.int64()),
                "length": pa.array(cols[4], pa.int64()),
                "domain": pa.array(cols[5], pa.string()),
                "lang": pa.array(cols[6], pa.string()),
            }
        ),
        root / "index.parquet",
    )
    return root


@pytest.fixture(scope="module")
def run(tokens: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    train(tiny_config(tokens, out, "max_steps=20", "eval_every=0", "lr=1e-2"), log=lambda m: None)
    return out


def reference(hf_dir: Path, tokens: Path, split: str, block_size: int) -> dict:
    """Per-token losses with transformers over the same consecutive windows, attributed to the
    documents of their input tokens; totals overall and per domain / language."""
    import transformers
    from tokenizers import Tokenizer

    model = transformers.AutoModelForCausalLM.from_pretrained(hf_dir).eval()
    tok = Tokenizer.from_file(str(tokens / "tokenizer.json"))
    index = pq.read_table(tokens / "index.parquet").to_pylist()
    sums: dict[str, list[float]] = {}
    total, count, text = 0.0, 0, ""
    for path in sorted(tokens.glob(f"{split}_*.bin")):
        ids = np.asarray(open_shard(path), dtype=np.int64)
        shard = int(path.stem.split("_")[1])
        docs = [r for r in index if r["split"] == split and r["shard"] == shard]
        text += tok.decode(ids.tolist())
        for start, t in windows(len(ids), block_size):
            x = torch.from_numpy(ids[start : start + t])[None]
            y = torch.from_numpy(ids[start + 1 : start + t + 1])
            with torch.no_grad():
                losses = torch.nn.functional.cross_entropy(model(x).logits[0].double(), y, reduction="none")
            for j, loss in enumerate(losses.tolist()):
                pos = start + j
                doc = next(d for d in docs if d["offset"] - 1 <= pos < d["offset"] + d["length"])
                for key in (f"domain:{doc['domain']}", f"lang:{doc['lang']}"):
                    sums.setdefault(key, [0.0, 0])
                    sums[key][0] += loss
                    sums[key][1] += 1
                total += loss
                count += 1
    return {"loss": total / count, "tokens": count, "bytes": len(text.encode("utf-8")), "sums": sums}


@pytest.mark.parametrize("split", ["val", "test"])
def test_eval_matches_transformers_on_the_exported_model(
    run: Path, tokens: Path, tmp_path: Path, split: str
) -> None:
    pytest.importorskip("transformers")
    hf_dir = export_hf(latest_checkpoint(run), tmp_path / "hf")
    ref = reference(hf_dir, tokens, split, block_size=16)
    result = CliRunner().invoke(main, ["eval", "--model", str(run), "--data", str(tokens), "--split", split])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"eval {split} | {ref['tokens']} tokens | loss ")
    got = json.loads((run / f"eval_{split}.json").read_text())
    assert got["block_size"] == 16 and got["step"] == 20  # the run's training block size, its latest step
    assert (
        got["tokens"] == ref["tokens"] == sum(len(open_shard(p)) - 1 for p in tokens.glob(f"{split}_*.bin"))
    )
    assert got["loss"] == pytest.approx(ref["loss"], abs=1e-4)
    assert got["ppl"] == pytest.approx(math.exp(got["loss"]), rel=1e-12)
    assert got["bytes"] == ref["bytes"]  # the UTF-8 bytes of the decoded split (umlauts: 2 bytes each)
    assert got["bpb"] == pytest.approx(ref["loss"] * ref["tokens"] / math.log(2) / ref["bytes"], rel=1e-4)
    for key in ("domain", "lang"):
        for name, stats in got[f"by_{key}"].items():
            loss, n = ref["sums"][f"{key}:{name}"]
            assert stats["tokens"] == n
            assert stats["loss"] == pytest.approx(loss / n, abs=1e-4)
    assert set(got["by_lang"]) == {"en", "de"}
    # the Hugging Face directory itself evaluates to the same numbers
    hf, _ = run_eval(hf_dir, tokens, split, out=tmp_path / "hf.json", block_size=16)
    assert hf["loss"] == pytest.approx(got["loss"], abs=1e-5) and hf["tokens"] == got["tokens"]
    assert json.loads((tmp_path / "hf.json").read_text())["bpb"] == pytest.approx(got["bpb"], abs=1e-5)


def test_eval_is_deterministic_and_block_size_changes_the_windows(
    run: Path, tokens: Path, tmp_path: Path
) -> None:
    a, _ = run_eval(run, tokens, "val", out=tmp_path / "a.json")
    b, _ = run_eval(latest_checkpoint(run), tokens, "val", out=tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() != b"" and a["loss"] == b["loss"]
    short, _ = run_eval(run, tokens, "val", out=tmp_path / "c.json", block_size=4)
    assert short["tokens"] == a["tokens"] and short["loss"] > a["loss"]  # less context per prediction


def test_eval_errors_are_one_line(run: Path, tokens: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(main, ["eval", "--model", str(run), "--data", str(tmp_path)])
    assert missing.exit_code != 0 and f"{tmp_path}: no val_*.bin shards" in missing.output
    empty = tmp_path / "norun"
    empty.mkdir()
    bad = runner.invoke(main, ["eval", "--model", str(empty), "--data", str(tokens)])
    assert bad.exit_code != 0 and "neither a run directory" in bad.output
    assert "Traceback" not in missing.output + bad.output


def test_tokenize_train_eval_on_the_test_split(tmp_path: Path) -> None:
    """The chain as a user runs it: `llmcli tokenize --test-fraction`, `llmcli train`, `llmcli eval
    --split test`: every test token but each shard's first is predicted once."""
    rng = np.random.default_rng(1)
    texts = [" ".join(DOCS[k][0] for k in rng.integers(0, len(DOCS), size=3)) for _ in range(300)]
    pq.write_table(pa.table({"id": [f"d{i}" for i in range(300)], "text": texts}), tmp_path / "docs.parquet")
    runner = CliRunner()
    tok_dir = tmp_path / "tokens"
    args = ["--input", str(tmp_path / "docs.parquet"), "--out", str(tok_dir), "--vocab-size", "300"]
    done = runner.invoke(main, ["tokenize", *args, "--val-fraction", "0.1", "--test-fraction", "0.1"])
    assert done.exit_code == 0, done.output
    sets = [
        "max_steps=5",
        "eval_every=0",
        f"out_dir={tmp_path / 'run'}",
        "model.block_size=64",
        "block_size=32",
    ]
    sets += ["model.n_layer=2", "model.n_head=2", "model.n_embd=32", "batch_size=4"]
    done = runner.invoke(main, ["train", "--data", str(tok_dir), *[x for s in sets for x in ("--set", s)]])
    assert done.exit_code == 0, done.output
    done = runner.invoke(
        main, ["eval", "--model", str(tmp_path / "run"), "--data", str(tok_dir), "--split", "test"]
    )
    assert done.exit_code == 0, done.output
    got = json.loads((tmp_path / "run" / "eval_test.json").read_text())
    meta = json.loads((tok_dir / "meta.json").read_text())
    assert got["tokens"] == meta["test_tokens"] - len(meta["shards"]["test"]) > 0
    assert got["block_size"] == 32 and got["bpb"] > 0 and got["split"] == "test"

"""`llmcli tokenize`: the pipeline's tokenize stage on a directory or glob of Parquet files.

It is a one-stage pipeline run (curate.runner) with OUT as its workdir: the same stage, the same
manifests and resume as `llmcli curate run` (the stage's own files are under OUT/00_tokenize/,
the shards, index and meta.json in OUT itself). A rerun with the same inputs and options redoes
only what is missing; other options or inputs recompute.
"""

from __future__ import annotations

import glob as globlib
import json
import os
from pathlib import Path

import click
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curate import quick_exit
from curate.config import ExecutorConfig, InputConfig, PipelineConfig, StageSpec
from curate.errors import ConfigError, StageFailed
from curate.stages.tokenize import TokenizeConfig
from curate.tokenization.bpe import EOT
from curate.tokenization.shards import ShardFormatError, open_shard, read_header, write_headerless


def resolve_inputs(patterns: tuple[str, ...]) -> list[str]:
    """A directory means its `*.parquet` files (not removed/); anything else is a glob or a file."""
    out: list[str] = []
    for pat in patterns:
        if os.path.isdir(pat):
            found = sorted(globlib.glob(os.path.join(pat, "*.parquet")))
        else:
            found = sorted(globlib.glob(pat, recursive=True))
        if not found:
            raise click.ClickException(f"--input {pat}: no Parquet files found")
        out.extend(os.path.abspath(p) for p in found)
    for p in out:
        try:
            schema = pq.read_schema(p)
        except Exception as e:  # pyarrow raises several types for a file that is not Parquet
            raise click.ClickException(f"{p}: not a readable Parquet file ({e})") from None
        if "text" not in schema.names:
            raise click.ClickException(f"{p}: no `text` column (columns: {', '.join(schema.names)})")
        kind = schema.field("text").type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind)):
            raise click.ClickException(f"{p}: the `text` column holds {kind}, not strings")
    return out


def run_tokenize(
    inputs: list[str], out: Path, cfg: TokenizeConfig, workers: int = 1, verbose: bool = True
) -> dict:
    """Tokenize `inputs` into `out` as a one-stage pipeline; returns meta.json."""
    from curate.runner import Pipeline

    cfg.out = "."  # the shards go to OUT itself, the pipeline's workdir
    cfg.keep_documents = False  # the inputs are the user's own files: no copy of them under OUT
    pipeline = PipelineConfig(
        name="tokenize",
        workdir=str(Path(out).absolute()),
        input=InputConfig(paths=inputs, format="parquet"),
        stages=[StageSpec("tokenize", cfg)],
        executor=ExecutorConfig(workers=workers),
        allow_outside_paths=True,
    )
    Pipeline(pipeline, workers=workers, verbose=verbose).run(report=False)
    return json.loads((Path(out) / "meta.json").read_text(encoding="utf-8"))


def inspect_shard(path: str, tokenizer: str | None, n: int) -> str:
    """Header, token count and the first `n` tokens decoded (tokenizer.json beside the file by default)."""
    h = read_header(path)
    tokens = open_shard(path)
    lines = [
        f"file:     {path}",
        f"header:   magic {h.magic}, version {h.version}, {h.dtype.name} tokens",
        f"tokens:   {h.num_tokens:,}",
    ]
    tok_file = Path(tokenizer) if tokenizer else Path(path).with_name("tokenizer.json")
    if not tok_file.is_file():
        lines.append(f"(no {tok_file}: pass --tokenizer to decode)")
        return "\n".join(lines)
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tok_file))
    first = np.asarray(tokens[:n]).tolist()
    if first and max(first) >= tok.get_vocab_size():
        raise click.ClickException(f"{path}: token id {max(first)} is outside {tok_file}'s vocabulary")
    eot = tok.token_to_id(EOT)
    if eot is not None:
        lines.append(f"docs:     {int(np.count_nonzero(tokens == eot)):,} ({EOT} tokens)")
    lines.append(f"first {len(first)} tokens: {first}")
    lines.append("decoded:")
    lines.append(tok.decode(first, skip_special_tokens=False))
    return "\n".join(lines)


@click.command("tokenize")
@click.option(
    "--input", "inputs", multiple=True, metavar="DIR_OR_GLOB", help="Parquet files with a `text` column."
)
@click.option(
    "--out", type=click.Path(file_okay=False), help="Output directory (tokenizer.json, shards, index)."
)
@click.option(
    "--tokenizer", type=click.Path(dir_okay=False), help="Use this tokenizer.json instead of training."
)
@click.option("--vocab-size", type=int, default=None, help="Train a BPE of this size (default 32000).")
@click.option(
    "--shard-tokens", type=int, default=100_000_000, show_default=True, help="Tokens per shard, at most."
)
@click.option(
    "--val-fraction", type=float, default=0.005, show_default=True, help="Share of documents in val."
)
@click.option(
    "--test-fraction",
    type=float,
    default=0.005,
    show_default=True,
    help="Share of documents in test (held out for `llmcli eval --split test`).",
)
@click.option("--train-docs", type=int, default=200_000, show_default=True, help="BPE training sample size.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sample and the split.")
@click.option(
    "--format",
    "formats",
    type=click.Choice(["llmc", "nanogpt"]),
    multiple=True,
    default=("llmc",),
    show_default=True,
    help="llmc: train_XXXXXX.bin shards (llm.c, modded-nanogpt, llmcli train); nanogpt: also headerless "
    "uint16 train.bin / val.bin / test.bin for nanoGPT's train.py.",
)
@click.option("--workers", type=int, default=1, show_default=True, help="Encoder processes (1: threads).")
@click.option(
    "--inspect", "inspect_file", type=click.Path(dir_okay=False), help="Describe one shard and exit."
)
@click.option("-n", "num", type=int, default=64, show_default=True, help="With --inspect: tokens to decode.")
def tokenize_cmd(
    inputs: tuple[str, ...],
    out: str | None,
    tokenizer: str | None,
    vocab_size: int | None,
    shard_tokens: int,
    val_fraction: float,
    test_fraction: float,
    train_docs: int,
    seed: int,
    formats: tuple[str, ...],
    workers: int,
    inspect_file: str | None,
    num: int,
) -> None:
    """BPE-tokenize Parquet documents into llm.c-format binary shards (the pipeline's tokenize stage)."""
    if inspect_file:
        try:
            click.echo(inspect_shard(inspect_file, tokenizer, num))
        except ShardFormatError as e:
            raise click.ClickException(str(e)) from None
        return
    if not inputs or not out:
        raise click.ClickException("--input and --out are required (or --inspect FILE)")
    if tokenizer and vocab_size:
        raise click.ClickException("give --tokenizer or --vocab-size, not both")
    if tokenizer and not Path(tokenizer).is_file():
        raise click.ClickException(f"--tokenizer {tokenizer}: no such file")
    try:
        cfg = TokenizeConfig(
            vocab_size=vocab_size or 32000,
            tokenizer=tokenizer,
            shard_tokens=shard_tokens,
            val_fraction=val_fraction,
            test_fraction=test_fraction,
            train_docs=train_docs,
            seed=seed,
        )
        meta = run_tokenize(resolve_inputs(inputs), Path(out), cfg, workers)
        for split in ("train", "val", "test"):
            # OUT holds this run's outputs only: a nanoGPT file of an earlier run (another
            # tokenizer, a split that is now empty, or not asked for) would not match them.
            if "nanogpt" not in formats or write_headerless(out, split) is None:
                (Path(out) / f"{split}.bin").unlink(missing_ok=True)
    except (ValueError, ConfigError, StageFailed) as e:  # a bad tokenizer file, option or input: one line
        raise click.ClickException(str(e)) from None
    click.echo(
        f"tokens: train {meta['train_tokens']:,} in {len(meta['shards']['train'])} shards, "
        f"val {meta['val_tokens']:,} in {len(meta['shards']['val'])} shards, "
        f"test {meta['test_tokens']:,} in {len(meta['shards']['test'])} shards, {meta['docs']:,} documents, "
        f"vocab {meta['vocab_size']:,} -> {out}"
    )
    quick_exit.when_done()  # everything under OUT is written and synced

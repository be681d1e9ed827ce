"""`llmcli tokenize`: the pipeline's tokenize stage on a directory or glob of Parquet files.

The same functions as the stage (curate.stages.tokenize, curate.tokenization.encode), with the CLI's own
resume state under `OUT/_work/`: the tokenizer, one encoded part per input file (each marked done
after its files are renamed into place), then the pack into OUT/ (the CONTRACT's tokens/ layout).
"""

from __future__ import annotations

import glob as globlib
import json
import multiprocessing as mp
import os
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

import click
import numpy as np
import pyarrow.parquet as pq

from curate.config import config_hash
from curate.manifest import atomic_write_text
from curate.stages.tokenize import PART_FILES, TokenizeConfig, prepare_tokenizer
from curate.tokenization.bpe import EOT, eot_id, load_tokenizer
from curate.tokenization.encode import encode_part, pack
from curate.tokenization.shards import ShardFormatError, open_shard, read_header


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
        out.extend(found)
    for p in out:
        try:
            names = pq.read_schema(p).names
        except Exception as e:  # pyarrow raises several types for a file that is not Parquet
            raise click.ClickException(f"{p}: not a readable Parquet file ({e})") from None
        if "text" not in names:
            raise click.ClickException(f"{p}: no `text` column (columns: {', '.join(names)})")
    return out


def _fingerprint(inputs: list[str]) -> list:
    return [[os.path.abspath(p), os.path.getsize(p), os.stat(p).st_mtime_ns] for p in inputs]


def _encode_task(args: tuple) -> dict:
    """Encode one input into its part files and mark it done (runs in a worker or in-process)."""
    tok_path, eot_token, src, prefix, seed, val_fraction, test_fraction = args
    tok = load_tokenizer(tok_path, eot_token)
    res = encode_part(tok, eot_id(tok, eot_token), src, Path(prefix), seed, val_fraction, test_fraction)
    for suffix, tmp in res.files.items():
        os.replace(tmp, f"{prefix}.{suffix}")
    info = {"input": src, "docs": res.docs, "empty": len(res.empty_rows), "tokens": res.tokens}
    atomic_write_text(Path(f"{prefix}.done.json"), json.dumps(info, sort_keys=True))
    return info


def _done(prefix: Path) -> bool:
    return Path(f"{prefix}.done.json").is_file() and all(Path(f"{prefix}.{s}").is_file() for s in PART_FILES)


def run_tokenize(inputs: list[str], out: Path, cfg: TokenizeConfig, workers: int = 1, log=print) -> dict:
    """Tokenize `inputs` into `out`; a rerun with the same inputs and config redoes only what is missing."""
    work = out / "_work"
    # Everything that changes the encoded parts; shard_tokens only changes the pack.
    state = config_hash({"config": {**asdict(cfg), "shard_tokens": None}, "inputs": _fingerprint(inputs)})
    state_file = work / "state.json"
    if work.is_dir() and (not state_file.is_file() or json.loads(state_file.read_text())["hash"] != state):
        log(f"{work}: inputs or config changed; starting over")
        shutil.rmtree(work)
    (work / "_tok").mkdir(parents=True, exist_ok=True)
    for tmp in work.rglob("*.tmp-*"):  # leftovers of a killed run
        tmp.unlink(missing_ok=True)
    atomic_write_text(state_file, json.dumps({"hash": state}))
    tok_path = prepare_tokenizer(cfg, inputs, work / "tokenizer.json")
    prefixes = [work / "_tok" / f"part-{i:05d}" for i in range(len(inputs))]
    todo = [
        (str(tok_path), cfg.eot_token, src, str(p), cfg.seed, cfg.val_fraction, cfg.test_fraction)
        for src, p in zip(inputs, prefixes)
        if not _done(p)
    ]
    log(f"tokenize: {len(inputs) - len(todo)}/{len(inputs)} inputs already encoded, encoding {len(todo)}")
    if workers > 1 and len(todo) > 1:
        # Spawned single-threaded workers: one encoder per core instead of tokenizers' thread pool.
        ctx = mp.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_single_threaded) as pool:
            list(pool.map(_encode_task, todo))
    else:
        for t in todo:
            _encode_task(t)
    return pack(prefixes, out, tok_path, cfg.shard_tokens)


def _single_threaded() -> None:
    os.environ["TOKENIZERS_PARALLELISM"] = "false"


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
        meta = run_tokenize(resolve_inputs(inputs), Path(out), cfg, workers, log=_log)
    except ValueError as e:  # a bad tokenizer file or option value: one line naming it
        raise click.ClickException(str(e)) from None
    click.echo(
        f"tokens: train {meta['train_tokens']:,} in {len(meta['shards']['train'])} shards, "
        f"val {meta['val_tokens']:,} in {len(meta['shards']['val'])} shards, "
        f"test {meta['test_tokens']:,} in {len(meta['shards']['test'])} shards, {meta['docs']:,} documents, "
        f"vocab {meta['vocab_size']:,} -> {out}"
    )


def _log(msg: str) -> None:
    print(f"llmcli: {msg}", file=sys.stderr, flush=True)

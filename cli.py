"""llmcli: from a raw web crawl to a trained language model.

llmcli curate run pipelines/web.yaml     # ingest -> filter -> dedup -> ... -> tokens
llmcli tokenize --input DIR --out DIR    # the BPE step on its own
llmcli train --data runs/web/tokens      # a compact GPT trainer
"""

from __future__ import annotations

import importlib
import json
import os
import sys

import click

from curate.config import ConfigError, dump_yaml
from curate.pipeline import load_pipeline


class _Group(click.Group):
    """Turns the project's typed errors into one clear line and a non-zero exit.

    Commands in `lazy` (name -> module, attribute) are imported when asked for, so that one
    command does not pay for the imports of all the others (`llmcli tokenize` would import the
    filters through train-classifier's module).
    """

    lazy: dict[str, tuple[str, str]] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in self.lazy:
            module, attr = self.lazy[name]
            self.add_command(getattr(importlib.import_module(module), attr), name)
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context):
        from curate.runner import StageFailed

        try:
            return super().invoke(ctx)
        except (ConfigError, StageFailed) as e:
            raise click.ClickException(str(e)) from None
        except KeyboardInterrupt:
            click.echo("llmcli: interrupted; rerun the same command to resume", err=True)
            sys.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """From a raw web crawl to a trained language model."""


@main.group(cls=_Group)
def curate() -> None:
    """The staged, resumable curation pipeline."""


_set_option = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY.PATH=VALUE",
    help="Override a config value, e.g. --set filter.min_chars=200 or --set executor.workers=4.",
)


@curate.command("run")
@click.argument("config", type=click.Path(dir_okay=False))
@_set_option
@click.option(
    "--workers", type=int, default=None, help="Worker processes (default: executor.workers, 0 = all cores)."
)
@click.option(
    "--stage", "only_stage", default=None, help="Run only this stage (earlier ones must be complete)."
)
@click.option("--force", is_flag=True, help="Recompute the selected stages even if complete.")
@click.option("--dry-run", is_flag=True, help="Print the resolved config and exit.")
def curate_run(
    config: str,
    overrides: tuple[str, ...],
    workers: int | None,
    only_stage: str | None,
    force: bool,
    dry_run: bool,
) -> None:
    """Run the pipeline in CONFIG; a rerun skips every shard already complete and valid."""
    from curate.runner import Pipeline

    cfg = load_pipeline(config, overrides)
    if dry_run:
        click.echo(dump_yaml(cfg), nl=False)
        return
    if workers is not None and workers < 0:
        raise ConfigError("--workers must be >= 0")
    report = Pipeline(cfg, workers=workers).run(only_stage=only_stage, force=force)
    for s in report["stages"]:
        click.echo(
            f"{s['position']:02d}_{s['stage']:<14} in {s['docs_in']:>8}  kept {s['kept']:>8}  "
            f"removed {s['removed']:>8}  errors {s['errors']:>5}"
        )
    click.echo(f"report: {cfg.workdir_path / 'report.json'}")
    click.echo(f"report: {cfg.workdir_path / 'report.html'}")


@curate.command("status")
@click.argument("config", type=click.Path(dir_okay=False))
@_set_option
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def curate_status(config: str, overrides: tuple[str, ...], as_json: bool) -> None:
    """Per stage: done / partial / stale (config changed) / pending, documents in and out."""
    from curate.runner import Pipeline

    rows = Pipeline(load_pipeline(config, overrides), verbose=False).status()
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    for r in rows:
        shards = f"{r['shards_done']}/{r['num_shards']}" if r["num_shards"] is not None else "-"
        counts = (
            f"in {r['docs_in']:>8}  kept {r['kept']:>8}  removed {r['removed']:>8}  errors {r['errors']:>5}"
            if "docs_in" in r
            else ""
        )
        note = "  (outputs discarded: raw text)" if r.get("discarded") else ""
        click.echo(f"{r['dir']:<18} {r['state']:<8} shards {shards:<8} {counts}{note}")


@curate.command("report")
@click.argument("config", type=click.Path(dir_okay=False))
@_set_option
@click.option(
    "--train-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="A training run folder (with metrics.jsonl) whose loss curves go into the report.",
)
def curate_report(config: str, overrides: tuple[str, ...], train_dir: str | None) -> None:
    """(Re)write the run report (report.json, report.html) from the stage manifests."""
    from curate.report import write_report

    cfg = load_pipeline(config, overrides)
    if not cfg.workdir_path.is_dir():
        raise ConfigError(f"{cfg.workdir_path}: no run yet; run `llmcli curate run {config}` first")
    from curate.runner import Pipeline

    write_report(cfg, train_dir=train_dir, states=Pipeline(cfg, verbose=False).stage_states())
    click.echo(f"report: {cfg.workdir_path / 'report.json'}")
    click.echo(f"report: {cfg.workdir_path / 'report.html'}")


# Commands that live beside the code they drive.
_LAZY = {
    main: [
        ("tokenize", "curate.tokenize_cli", "tokenize_cmd"),
        ("models", "curate.models_cli", "models_cmd"),
        ("train", "train.cli", "train_cmd"),
        ("sample", "train.cli", "sample_cmd"),
        ("eval", "train.cli", "eval_cmd"),
    ],
    curate: [
        ("train-classifier", "curate.classifier_cli", "train_classifier_cmd"),
        ("contamination", "curate.contamination_cli", "contamination_cmd"),
        ("inspect", "curate.inspect_cli", "inspect_cmd"),
    ],
}


for _group, _entries in _LAZY.items():
    _group.lazy = {_name: (_module, _attr) for _name, _module, _attr in _entries}


def run() -> None:
    """The `llmcli` entry point: main(), then a quick exit after a command that asked for one
    (curate.quick_exit)."""
    from curate import quick_exit

    try:
        main()
    except SystemExit as e:
        if quick_exit.requested() and e.code in (0, None):
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
        raise


if __name__ == "__main__":
    run()

"""`llmcli curate inspect`: look at what a stage removed, for quick threshold tuning.

llmcli curate inspect pipelines/web.yaml --stage filter                     # reasons, counts
llmcli curate inspect pipelines/web.yaml --stage filter --reason too_short -n 5
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import click

from curate.config import ConfigError
from curate.manifest import Manifest
from curate.pipeline import load_pipeline
from curate.report import iter_removed, snippet


def resolve_stage_dir(cfg, stage: str) -> Path:
    """The directory of `stage` (a YAML name such as `filter`, or a directory name such as `01_filter`)."""
    from curate.stage import STAGES, load_stage_modules

    load_stage_modules()
    dirs = [STAGES[s.name].dirname(pos) for pos, s in enumerate(cfg.stages)]
    names = [s.name for s in cfg.stages]
    if stage in dirs:
        return cfg.workdir_path / stage
    if stage in names:
        # A pipeline may use a stage twice (two filters): the name picks the first, the dir any.
        return cfg.workdir_path / dirs[names.index(stage)]
    raise ConfigError(
        f"--stage {stage!r}: not in this pipeline; stages: {', '.join(names)} (or {', '.join(dirs)})"
    )


def stage_reasons(stage_dir: Path, config: str) -> dict[str, int]:
    manifest = Manifest.load(stage_dir)
    if manifest is None:
        raise ConfigError(f"{stage_dir}: this stage has not run yet; run `llmcli curate run {config}` first")
    reasons = manifest.totals().reasons
    return dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))


@click.command("inspect")
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--stage", required=True, help="Stage name (e.g. filter) or directory (e.g. 01_filter).")
@click.option("--reason", default=None, help="Removal reason to show; without it, list reasons with counts.")
@click.option(
    "-n", "limit", type=click.IntRange(min=1), default=5, show_default=True, help="Documents to show."
)
@click.option(
    "--chars", type=click.IntRange(min=20), default=300, show_default=True, help="Characters of text."
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY.PATH=VALUE",
    help="Override a config value, as for `curate run` (the workdir must match the run's).",
)
def inspect_cmd(
    config: str, stage: str, reason: str | None, limit: int, chars: int, overrides: tuple[str, ...]
) -> None:
    """Print sample documents that STAGE removed for REASON (id, url, reason, start of text)."""
    cfg = load_pipeline(config, overrides)
    stage_dir = resolve_stage_dir(cfg, stage)
    reasons = stage_reasons(stage_dir, config)
    if reason is None:
        if not reasons:
            click.echo(f"{stage_dir.name}: removed nothing")
            return
        width = max(len(r) for r in reasons)
        click.echo(f"{stage_dir.name}: {sum(reasons.values())} removed documents")
        for r, n in reasons.items():
            click.echo(f"  {r:<{width}}  {n:>8}")
        return
    if reason not in reasons:
        valid = ", ".join(reasons) if reasons else "none: this stage removed nothing"
        raise ConfigError(
            f"--reason {reason!r}: stage {stage_dir.name} has no such removals; reasons: {valid}"
        )
    click.echo(f"{stage_dir.name}: {reasons[reason]} documents removed as {reason}; showing up to {limit}")
    for k, doc in enumerate(iter_removed(stage_dir, {reason}), 1):
        text = doc.get("text") or ""
        click.echo(f"\n[{k}] id {doc.get('id')}  {doc.get('url') or ''}")
        click.echo(f"    reason: {doc['reason']}  ({len(text)} chars)")
        body = snippet(text, chars) or "(empty text)"
        click.echo(textwrap.fill(body, width=100, initial_indent="    ", subsequent_indent="    "))
        if k >= limit:
            break

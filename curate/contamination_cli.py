"""`llmcli curate contamination CONFIG`: the per-benchmark contamination table of a run."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from curate.config import ConfigError
from curate.manifest import Manifest
from curate.pipeline import load_pipeline
from curate.stage import STAGES, load_summary


def contamination_stats(config: str | Path, overrides: tuple[str, ...] = ()) -> tuple[str, dict, bool]:
    """(stage dir name, {benchmark: BenchmarkHits}, complete) for the pipeline's decontaminate stage."""
    from curate.stages.decontaminate import summarize_matches

    cfg = load_pipeline(config, overrides)
    pos = next((i for i, s in enumerate(cfg.stages) if s.name == "decontaminate"), None)
    if pos is None:
        raise ConfigError(f"{config}: the pipeline has no decontaminate stage")
    stage_dir = cfg.workdir_path / STAGES["decontaminate"].dirname(pos)
    manifest = Manifest.load(stage_dir)
    if manifest is None:
        raise ConfigError(f"{stage_dir}: no decontamination run yet; run `llmcli curate run {config}` first")
    summary = load_summary(STAGES["decontaminate"], manifest.steps.get("finalize", {}).get("summary"))
    if manifest.complete and summary is not None:
        return stage_dir.name, summary.benchmarks, True
    # a partial run: sum what the finished shards recorded
    info_path = stage_dir / "_index" / "meta.json"
    info = json.loads(info_path.read_text(encoding="utf-8"))["info"] if info_path.exists() else {}
    return stage_dir.name, summarize_matches(stage_dir, cfg.stages[pos].config, info), False


def format_table(rows: dict, examples: bool = True) -> str:
    header = ["benchmark", "items", "not indexed", "items contaminated", "docs", "dropped", "masked"]
    body = [
        [
            name,
            str(r.items if r.items is not None else "?"),
            str(r.items_not_indexed),
            str(r.items_contaminated),
            str(r.docs_contaminated),
            str(r.docs_dropped),
            str(r.docs_masked),
        ]
        for name, r in rows.items()
    ]
    widths = [max(len(x) for x in col) for col in zip(header, *body)]
    lines = ["  ".join(x.ljust(w) for x, w in zip(line, widths)).rstrip() for line in [header, *body]]
    if examples:
        for name, r in rows.items():
            for ex in r.examples:
                ngram = ex["ngram"] if len(ex["ngram"]) <= 80 else ex["ngram"][:77] + "..."
                lines.append(f'  {name} {ex["item"]}: {ex.get("url") or ex["doc_id"]}: "{ngram}"')
    return "\n".join(lines)


@click.command("contamination")
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config value.")
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON.")
@click.option("--no-examples", is_flag=True, help="Only the table, without example matches.")
def contamination_cmd(config: str, overrides: tuple[str, ...], as_json: bool, no_examples: bool) -> None:
    """Print per-benchmark contamination (items and documents matched, examples) of a run."""
    try:
        stage, rows, complete = contamination_stats(config, overrides)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    if as_json:
        benchmarks = {name: asdict(r) for name, r in rows.items()}
        click.echo(json.dumps({"stage": stage, "complete": complete, "benchmarks": benchmarks}, indent=1))
        return
    click.echo(f"{stage}{'' if complete else ' (partial: not every shard is done)'}")
    click.echo(format_table(rows, examples=not no_examples))

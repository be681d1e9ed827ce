"""Pipeline config: checked dataclasses, clear one-line errors, --set overrides."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from curate.config import ConfigError, ConfigPath
from curate.pipeline import load_pipeline
from curate.stage import STAGES, Stage, load_stage_modules

REPO = Path(__file__).resolve().parents[2]


@dataclass
class ProbeConfig:
    model: ConfigPath | None = None


class Probe(Stage):
    """A stage with a path option, to test the path rule on its own."""

    name = "probe_paths"
    config_class = ProbeConfig


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(textwrap.dedent(text))
    return path


BASE = """
    name: t
    workdir: runs/t
    input: {paths: ["data/*.warc.gz"], format: warc}
    stages:
      - ingest: {extractor: resiliparse}
      - filter: {min_chars: 10}
"""


def test_defaults_and_overrides(tmp_path: Path) -> None:
    cfg = load_pipeline(
        write(tmp_path, BASE),
        ["filter.min_chars=500", "executor.workers=3", "stages.ingest.extractor=trafilatura"],
    )
    assert cfg.stages[1].config.min_chars == 500
    assert cfg.executor.workers == 3
    assert cfg.stages[0].config.extractor == "trafilatura"
    assert cfg.stages[0].config.max_record_bytes > 0  # default filled in


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BASE.replace("min_chars: 10", "min_char: 10"), "unknown key 'min_char'; valid keys: "),
        (BASE.replace("- filter:", "- filtre:"), "unknown stage 'filtre'; valid stages: "),
        (BASE.replace("min_chars: 10", "min_chars: lots"), "stages[1].filter.min_chars: expected an integer"),
        (BASE.replace("format: warc", "format: pdf"), "format 'pdf' is not one of"),
        (BASE.replace("name: t", "nmae: t"), "unknown key 'nmae'"),
        (BASE.replace("extractor: resiliparse", "extractor: magic"), "extractor 'magic' is not one of"),
        ("name: [unclosed\n", "invalid YAML"),
        ("- just\n- a list\n", "expected a mapping at the top level"),
        ("!!python/object/apply:os.system ['echo pwned']\n", "invalid YAML"),
    ],
)
def test_bad_configs_give_one_clear_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_pipeline(write(tmp_path, text))
    assert message in str(exc.value)
    assert "\n" not in str(exc.value)
    assert str(tmp_path / "p.yaml") in str(exc.value)  # names the file


def test_bad_override(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no stage 'dedup'"):
        load_pipeline(write(tmp_path, BASE), ["stages.dedup.exact=true"])
    with pytest.raises(ConfigError, match="expected key.path=value"):
        load_pipeline(write(tmp_path, BASE), ["filter.min_chars"])


def test_cli_errors_exit_nonzero_with_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = write(tmp_path, BASE.replace("min_chars: 10", "bogus: 1"))
    result = runner.invoke(main, ["curate", "run", str(bad)])
    assert result.exit_code != 0
    assert "unknown key 'bogus'" in result.output and len(result.output.strip().splitlines()) == 1

    missing_input = write(tmp_path, BASE.replace("data/*.warc.gz", str(tmp_path / "nothing/*.warc.gz")))
    result = runner.invoke(main, ["curate", "run", str(missing_input)])
    assert result.exit_code != 0 and "no file matches" in result.output
    assert not (tmp_path / "runs").exists()  # nothing was created before the check

    result = runner.invoke(main, ["curate", "run", str(tmp_path / "absent.yaml")])
    assert result.exit_code != 0 and "config file not found" in result.output


def test_dry_run_prints_resolved_config(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["curate", "run", str(write(tmp_path, BASE)), "--dry-run", "--set", "filter.min_chars=42"]
    )
    assert result.exit_code == 0, result.output
    assert "min_chars: 42" in result.output and "max_record_bytes" in result.output


def test_resolved_config_saved_in_workdir(pipeline_yaml: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["curate", "run", str(pipeline_yaml), "--set", "filter.min_chars=7"])
    assert result.exit_code == 0, result.output
    saved = load_pipeline(tmp_path / "run" / "config.yaml")
    assert saved.stages[1].config.min_chars == 7
    status = CliRunner().invoke(main, ["curate", "status", str(pipeline_yaml), "--set", "filter.min_chars=7"])
    assert status.exit_code == 0 and status.output.count("done") == 2


def test_every_command_has_help() -> None:
    runner = CliRunner()
    for args in (
        ["--help"],
        ["curate", "--help"],
        ["curate", "run", "--help"],
        ["curate", "status", "--help"],
        ["curate", "report", "--help"],
        ["tokenize", "--help"],
        ["train", "--help"],
        ["sample", "--help"],
    ):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, (args, result.output)
        assert "Usage:" in result.output


def test_config_paths_must_stay_inside_project_workdir_or_inputs(tmp_path: Path, monkeypatch) -> None:
    load_stage_modules()
    monkeypatch.setitem(STAGES, "probe_paths", Probe)
    monkeypatch.chdir(tmp_path)
    base = BASE + "      - probe_paths: {model: MODEL}\n"
    ok = load_pipeline(write(tmp_path, base.replace("MODEL", "models/q.bin")))
    assert ok.stages[2].config.model == "models/q.bin"
    for escaping in ("../../etc/passwd", "/etc/passwd", "~/.ssh/id_rsa"):
        with pytest.raises(ConfigError, match="outside the project"):
            load_pipeline(write(tmp_path, base.replace("MODEL", escaping)))
    allowed = base.replace("MODEL", "/etc/passwd") + "    allow_outside_paths: true\n"
    assert load_pipeline(write(tmp_path, allowed)).stages[2].config.model == "/etc/passwd"


def test_redact_removes_credentials() -> None:
    from curate.inputs import redact

    assert redact("s3://AKIAKEY:s3cr3t@bucket/x.warc.gz?X-Amz-Signature=abc") == "s3://bucket/x.warc.gz"
    assert redact("https://user:pw@host:8080/a/b.jsonl?token=zzz") == "https://host:8080/a/b.jsonl"
    assert redact("data/local.warc.gz") == "data/local.warc.gz"

"""Review of the runner: discard_raw with --stage and kill -9, a killed stale-stage clear-out,
errors of a global pass as one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from curate.pipeline import load_pipeline
from curate.runner import Pipeline, StageFailed
from tests.curate.test_discard import EMAILS, config, digests, every_string, write_inputs

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str, fault: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "LLMCLI_FAULT"}
    if fault:
        env["LLMCLI_FAULT"] = fault
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )


def test_stage_option_recomputes_a_discarded_stage_it_needs(tmp_path: Path) -> None:
    inp = write_inputs(tmp_path)
    cfg = config(tmp_path, inp)
    Pipeline(load_pipeline(cfg), verbose=False).run()
    assert [p.name for p in (tmp_path / "run" / "00_ingest").iterdir()] == ["_manifest.json"]
    # pii's config changes and only pii is asked for: its input (ingest, discarded) is recomputed
    Pipeline(load_pipeline(cfg, ["pii.email=drop"]), verbose=False).run(only_stage="pii")
    Pipeline(load_pipeline(cfg, ["pii.email=drop"]), verbose=False).run()
    fresh = config(tmp_path, inp, "fresh")
    Pipeline(load_pipeline(fresh, ["pii.email=drop"]), verbose=False).run()
    assert digests(tmp_path / "run") == digests(tmp_path / "fresh")
    assert [p.name for p in (tmp_path / "run" / "00_ingest").iterdir()] == ["_manifest.json"]
    # --force on the stage right after a discarded one: that one is recomputed for it, and
    # discarded again once the run is complete
    Pipeline(load_pipeline(cfg, ["pii.email=drop"]), verbose=False).run(only_stage="pii", force=True)
    assert digests(tmp_path / "run") == digests(tmp_path / "fresh")
    assert [p.name for p in (tmp_path / "run" / "00_ingest").iterdir()] == ["_manifest.json"]


def test_a_discard_killed_before_its_deletes_finishes_them_on_rerun(tmp_path: Path) -> None:
    inp = write_inputs(tmp_path)
    cfg = config(tmp_path, inp)
    killed = cli("curate", "run", str(cfg), fault="discard:1")
    assert killed.returncode == -9, killed.stderr
    manifest = json.loads((tmp_path / "run" / "00_ingest" / "_manifest.json").read_text())
    assert manifest["discarded"] and (tmp_path / "run" / "00_ingest" / "part-00000.parquet").exists()
    rerun = cli("curate", "run", str(cfg))
    assert rerun.returncode == 0, rerun.stderr
    assert [p.name for p in (tmp_path / "run" / "00_ingest").iterdir()] == ["_manifest.json"]
    assert not any(e in every_string(tmp_path / "run") for e in EMAILS)


def resample_config(tmp_path: Path, inp: Path, workdir: str, share: float) -> Path:
    path = tmp_path / f"{workdir}.yaml"
    path.write_text(
        textwrap.dedent(f"""
        name: shares
        workdir: {tmp_path / workdir}
        input: {{paths: ["{inp}/*.jsonl"], format: jsonl}}
        executor: {{type: local, workers: 1}}
        stages:
          - ingest: {{extractor: none}}
          - resample: {{target_shares: {{site0.org: {share}, "*": {1 - share}}}}}
        """)
    )
    return path


def test_a_stale_stage_whose_clear_out_was_killed_reuses_nothing_of_its_old_config(tmp_path: Path) -> None:
    inp = write_inputs(tmp_path)
    Pipeline(load_pipeline(resample_config(tmp_path, inp, "run", 0.2)), verbose=False).run()
    # The config changes; the rerun clears the stage directory (shutil.rmtree) and is killed after
    # the manifest went but before the old config's _weights.json did.
    (tmp_path / "run" / "01_resample" / "_manifest.json").unlink()
    assert (tmp_path / "run" / "01_resample" / "_weights.json").exists()
    Pipeline(load_pipeline(resample_config(tmp_path, inp, "run", 0.9)), verbose=False).run()
    Pipeline(load_pipeline(resample_config(tmp_path, inp, "fresh", 0.9)), verbose=False).run()
    assert digests(tmp_path / "run") == digests(tmp_path / "fresh")


def test_an_error_in_a_global_pass_is_a_stage_failure_naming_the_stage(tmp_path: Path) -> None:
    inp = write_inputs(tmp_path)
    (inp / "no_index").mkdir()
    path = tmp_path / "p.yaml"
    path.write_text(
        textwrap.dedent(f"""
        name: bad
        workdir: {tmp_path / "run"}
        input: {{paths: ["{inp}/*.jsonl"], format: jsonl}}
        executor: {{type: local, workers: 1}}
        stages:
          - ingest: {{extractor: none}}
          - dedup: {{against: ["{inp / "no_index"}"]}}
        """)
    )
    with pytest.raises(StageFailed, match=r"stage dedup: .*no dedup index here"):
        Pipeline(load_pipeline(path), verbose=False).run()
    r = cli("curate", "run", str(path))
    assert r.returncode == 1 and "Traceback" not in r.stderr and "no dedup index here" in r.stderr


def test_a_summary_of_a_stage_before_pii_holds_no_raw_value(tmp_path: Path) -> None:
    question = "Write a function that returns the sum of the squares of every odd number in the list"
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "bench.jsonl").write_text(json.dumps({"question": question, "answer": "sum of squares"}) + "\n")
    rows = [
        {"url": f"https://site.org/{i}?mail={e}", "text": f"Homework {i}: {question}. Mail {e}. " * 3}
        for i, e in enumerate(EMAILS[:3])
    ]
    rows += [
        {"url": f"https://site.org/ok{i}", "text": "An ordinary page about gardens. " * 5} for i in range(3)
    ]
    (inp / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    path = tmp_path / "p.yaml"
    path.write_text(
        textwrap.dedent(f"""
        name: early
        workdir: {tmp_path / "run"}
        input: {{paths: ["{inp}/a.jsonl"], format: jsonl}}
        executor: {{type: local, workers: 1}}
        stages:
          - ingest: {{extractor: none}}
          - decontaminate: {{benchmarks: [{{path: "{inp}/bench.jsonl"}}], ngram: 8}}
          - pii: {{discard_raw: true}}
        """)
    )
    report = Pipeline(load_pipeline(path), verbose=False).run()
    (hits,) = report["contamination"]["benchmarks"]
    assert hits["docs_dropped"] == 3 and hits["examples"]
    assert all("<EMAIL>" in e["url"] for e in hits["examples"])
    assert not any(e in every_string(tmp_path / "run") for e in EMAILS)  # manifests, report


def test_a_hard_linked_shard_redone_after_a_kill_leaves_no_temporary_file(tmp_path: Path) -> None:
    inp = write_inputs(tmp_path)
    path = tmp_path / "p.yaml"
    path.write_text(
        textwrap.dedent(f"""
        name: linked
        workdir: {tmp_path / "run"}
        input: {{paths: ["{inp}/*.jsonl"], format: jsonl}}
        executor: {{type: local, workers: 1}}
        stages:
          - ingest: {{extractor: none}}
          - tokenize: {{vocab_size: 300}}
        """)
    )
    # tokenize's shard renamed into place (a hard link of its input), its manifest entry not written
    killed = cli("curate", "run", str(path), fault="shard_renamed:2")
    assert killed.returncode == -9, killed.stderr
    rerun = cli("curate", "run", str(path))
    assert rerun.returncode == 0, rerun.stderr
    assert not [p.name for p in (tmp_path / "run").rglob("*.tmp-*")]

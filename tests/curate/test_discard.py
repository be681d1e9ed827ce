"""`pii: {discard_raw: true}`: once a run is complete the stages before pii keep no output (they hold
raw text), and resume, staleness and `curate status` still work."""

from __future__ import annotations

import hashlib
import json
import textwrap
from pathlib import Path

import pyarrow.parquet as pq

from curate.pipeline import load_pipeline
from curate.runner import Pipeline

EMAILS = [f"person{i}@corp{i}.example.com" for i in range(12)]


def write_inputs(tmp_path: Path) -> Path:
    inp = tmp_path / "in"
    inp.mkdir()
    rows = [
        {
            "url": f"https://site{i % 3}.org/{i}",
            "text": f"Page {i}. Write to {EMAILS[i]} for the report. " * 8,
        }
        for i in range(len(EMAILS))
    ]
    rows.append({"url": "https://site0.org/short", "text": "too short"})
    (inp / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return inp


def config(tmp_path: Path, inp: Path, workdir: str = "run") -> Path:
    path = tmp_path / f"{workdir}.yaml"
    path.write_text(
        textwrap.dedent(f"""
        name: discard
        workdir: {tmp_path / workdir}
        input: {{paths: ["{inp}/*.jsonl"], format: jsonl}}
        executor: {{type: local, workers: 1}}
        stages:
          - ingest: {{extractor: none}}
          - pii: {{discard_raw: true}}
          - filter: {{min_chars: 50}}
        """)
    )
    return path


def digests(workdir: Path) -> dict[str, str]:
    return {
        str(p.relative_to(workdir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(workdir.rglob("*.parquet"))
    }


def every_string(workdir: Path) -> str:
    """Raw bytes of every file plus the decoded text of every Parquet column (zstd hides bytes)."""
    parts = []
    for p in workdir.rglob("*"):
        if p.is_file():
            parts.append(p.read_bytes().decode("utf-8", "replace"))
            if p.suffix == ".parquet":
                parts.append(json.dumps(pq.read_table(p).to_pylist(), default=str))
    return "\n".join(parts)


def test_raw_outputs_are_discarded_and_the_run_still_resumes(tmp_path: Path) -> None:
    inp = write_inputs(tmp_path)
    cfg = config(tmp_path, inp)
    Pipeline(load_pipeline(cfg), verbose=False).run()
    run = tmp_path / "run"
    assert [p.name for p in (run / "00_ingest").iterdir()] == ["_manifest.json"]
    assert not any(e in every_string(run) for e in EMAILS)  # not in shards, removed/, report, manifests
    status = {r["dir"]: r for r in Pipeline(load_pipeline(cfg), verbose=False).status()}
    assert status["00_ingest"]["state"] == "done" and status["00_ingest"]["discarded"]
    assert status["00_ingest"]["docs_in"] == len(EMAILS) + 1  # the counts stay
    first = digests(run)
    pii_part = run / "01_pii" / "part-00000.parquet"
    mtime = pii_part.stat().st_mtime_ns

    Pipeline(load_pipeline(cfg), verbose=False).run()  # nothing to do, nothing recomputed
    assert digests(run) == first and pii_part.stat().st_mtime_ns == mtime

    # a later stage's config changes: it reruns from pii's outputs, the raw text is not needed
    Pipeline(load_pipeline(cfg, ["filter.min_chars=400"]), verbose=False).run()
    assert [p.name for p in (run / "00_ingest").iterdir()] == ["_manifest.json"]
    assert pii_part.stat().st_mtime_ns == mtime

    # pii's own config changes: ingest is recomputed for it, then discarded again, and the
    # outputs are those of a fresh run with the same config
    Pipeline(load_pipeline(cfg, ["pii.email=drop"]), verbose=False).run()
    assert [p.name for p in (run / "00_ingest").iterdir()] == ["_manifest.json"]
    fresh = config(tmp_path, inp, "fresh")
    Pipeline(load_pipeline(fresh, ["pii.email=drop"]), verbose=False).run()
    assert digests(run) == digests(tmp_path / "fresh")
    removed = pq.read_table(run / "01_pii" / "removed").to_pylist()
    assert len(removed) == len(EMAILS) and not any(e in json.dumps(removed) for e in EMAILS)


def test_without_the_option_every_stage_keeps_its_outputs(tmp_path: Path) -> None:
    inp = write_inputs(tmp_path)
    cfg = config(tmp_path, inp)
    Pipeline(load_pipeline(cfg, ["pii.discard_raw=false"]), verbose=False).run()
    assert (tmp_path / "run" / "00_ingest" / "part-00000.parquet").is_file()
    assert any(e in every_string(tmp_path / "run" / "00_ingest") for e in EMAILS)  # the raw text is there


def test_the_report_counts_replacements_per_type(tmp_path: Path) -> None:
    inp = write_inputs(tmp_path)
    report = Pipeline(load_pipeline(config(tmp_path, inp)), verbose=False).run()
    assert report["pii"] == {
        "stage": "01_pii",
        "replaced": {"email": 8 * len(EMAILS)},
        "docs_redacted": len(EMAILS),
    }
    assert "Personal data replaced" in (tmp_path / "run" / "report.html").read_text()


def test_examples_of_stages_before_pii_are_redacted_in_the_report(tmp_path: Path) -> None:
    inp = tmp_path / "in"
    inp.mkdir()
    rows = [
        {"url": f"https://site.org/{i}?mail={e}", "text": f"Short note: mail {e} now."}
        for i, e in enumerate(EMAILS)
    ]
    rows += [
        {"url": f"https://site.org/long{i}", "text": "A long enough page about nothing much. " * 5}
        for i in range(3)
    ]
    (inp / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    path = tmp_path / "p.yaml"
    path.write_text(
        textwrap.dedent(f"""
        name: early
        workdir: {tmp_path / "run"}
        input: {{paths: ["{inp}/*.jsonl"], format: jsonl}}
        executor: {{type: local, workers: 1}}
        stages:
          - ingest: {{extractor: none}}
          - filter: {{min_chars: 100}}
          - pii: {{}}
        """)
    )
    report = Pipeline(load_pipeline(path), verbose=False).run()
    examples = report["removals"]["01_filter"]["too_short"]["examples"]
    assert examples and all("<EMAIL>" in e["snippet"] and "<EMAIL>" in e["url"] for e in examples)
    assert report["mix"]["before"]["stage"] == "02_pii"
    for name in ("report.json", "report.html"):
        page = (tmp_path / "run" / name).read_text()
        assert not any(e in page for e in EMAILS), name

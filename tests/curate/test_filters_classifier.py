"""`llmcli curate train-classifier` and the `classifier` filter on two distinguishable kinds of text."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from curate.classifier_cli import held_out, train_classifier_cmd
from curate.config import ConfigError, from_dict
from curate.stage import ShardStats
from curate.stages.filter import FilterConfig, FilterStage
from scripts.sample_text import TOPICS, ProseGenerator


def texts(topic: str, n: int, seed: int) -> list[str]:
    gen = ProseGenerator(TOPICS[topic], random.Random(seed))
    return ["\n\n".join(gen.paragraphs(random.Random(seed + i).randint(40, 120))) for i in range(n)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A model trained through the CLI: encyclopedia prose (Parquet) vs shop pages (JSONL).

    Same grammar and stop words, different vocabulary: separable, but not by a trivial feature.
    """
    tmp = tmp_path_factory.mktemp("classifier")
    good, bad = texts("wiki", 300, 1), texts("shop", 300, 2)
    pq.write_table(pa.table({"text": good}), tmp / "good.parquet")
    (tmp / "bad.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in bad))
    model = tmp / "quality.bin"
    result = CliRunner().invoke(
        train_classifier_cmd,
        ["--positive", str(tmp / "good.parquet"), "--negative", str(tmp / "bad.jsonl"),
         "--out", str(model), "--epoch", "10", "--bucket", "100000", "--threads", "1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return model, result.output


def test_training_reports_held_out_scores(trained: tuple[Path, str]) -> None:
    model, output = trained
    m = re.search(r"held-out: n=(\d+) accuracy=([\d.]+) precision=([\d.]+) recall=([\d.]+)", output)
    assert m, output
    n, accuracy, precision, recall = int(m[1]), float(m[2]), float(m[3]), float(m[4])
    assert 30 <= n <= 90  # ~10% of 600 held out
    assert accuracy >= 0.9 and precision >= 0.85 and recall >= 0.85
    assert model.is_file()


def test_filter_keeps_positive_text_and_writes_the_score(trained: tuple[Path, str]) -> None:
    cfg = from_dict(FilterConfig, {"classifier": {"model": str(trained[0]), "label": "hq", "threshold": 0.5}})
    stage = FilterStage(cfg, None)
    assert [f.name for f in stage.extra_fields] == ["quality_score"]
    fresh_good, fresh_bad = texts("wiki", 20, 99), texts("shop", 20, 98)  # unseen seeds
    out = list(stage.process(iter({"text": t} for t in fresh_good + fresh_bad), ShardStats()))
    kept_good = sum(r is None for _, r in out[:20])
    dropped_bad = sum(r == "classifier_low_score" for _, r in out[20:])
    assert kept_good >= 18 and dropped_bad >= 18
    assert all(isinstance(d["quality_score"], float) and 0 <= d["quality_score"] <= 1 for d, _ in out)


def test_held_out_split_is_deterministic() -> None:
    sample = [f"text number {i}" for i in range(2000)]
    chosen = [t for t in sample if held_out(t, 0.1)]
    assert chosen == [t for t in sample if held_out(t, 0.1)]
    assert 150 < len(chosen) < 250


def test_unknown_label_is_an_error(trained: tuple[Path, str]) -> None:
    cfg = from_dict(FilterConfig, {"classifier": {"model": str(trained[0]), "label": "good"}})
    with pytest.raises(ValueError, match=r"no label 'good' \(labels: (hq, cc|cc, hq)\)"):
        list(FilterStage(cfg, None).process(iter([{"text": "x"}]), ShardStats()))


def test_missing_model_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.bin.*train-classifier"):
        from_dict(FilterConfig, {"classifier": {"model": str(tmp_path / "nope.bin")}})

from __future__ import annotations

import json
import random
import re
import textwrap
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curate.config import ConfigError
from curate.manifest import Manifest
from curate.pipeline import load_pipeline
from curate.runner import Pipeline
from curate.stages.resample import ResampleConfig, solve_weights
from tests.warcs import PARAGRAPHS

WORDS = " ".join(PARAGRAPHS[:3]).split()


def make_docs(seed: int = 0) -> list[dict]:
    """Pages from five hosts with very different sizes and page lengths."""
    rng = random.Random(seed)
    hosts = {
        "docs.python.org": (40, 300),
        "www.python.org": (30, 100),
        "en.wikipedia.org": (150, 250),
        "forum.gardeners.net": (200, 60),
        "spam.example": (50, 80),
    }
    docs = []
    for host, (n, length) in hosts.items():
        for i in range(n):
            k = max(5, int(rng.gauss(length, length / 3)))
            path = "wiki" if "wikipedia" in host else "t"
            docs.append({"url": f"https://{host}/{path}/page-{i}", "text": " ".join(rng.choices(WORDS, k=k))})
    rng.shuffle(docs)
    return docs


def run(tmp_path: Path, docs: list[dict], resample: str, workers: int = 1, shards: int = 3) -> Path:
    inp = tmp_path / "in"
    inp.mkdir(parents=True, exist_ok=True)
    for s in range(shards):
        rows = docs[s::shards]
        (inp / f"part-{s}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    yaml_path = tmp_path / "p.yaml"
    yaml_path.write_text(
        textwrap.dedent(f"""
        name: test
        workdir: {tmp_path / "run"}
        input: {{paths: ["{inp}/*.jsonl"], format: jsonl}}
        executor: {{type: local, workers: {workers}}}
        allow_outside_paths: true
        stages:
          - ingest: {{extractor: none}}
          - resample: {resample}
        """)
    )
    Pipeline(load_pipeline(yaml_path), verbose=False).run()
    return tmp_path / "run" / "01_resample"


def kept(stage_dir: Path) -> list[dict]:
    return [r for p in sorted(stage_dir.glob("part-*.parquet")) for r in pq.read_table(p).to_pylist()]


def removed(stage_dir: Path) -> list[dict]:
    return [r for p in sorted(stage_dir.glob("removed/part-*.parquet")) for r in pq.read_table(p).to_pylist()]


def final_stats(stage_dir: Path) -> dict:
    return Manifest.load(stage_dir).steps["finalize"]["summary"]


def test_weights_copies_and_downsampling(tmp_path: Path) -> None:
    docs = make_docs()
    weights = '{"docs.python.org": 2.0, "spam.example": 0.0, "forum.gardeners.net": 0.5, "*": 1.0}'
    out = run(tmp_path, docs, f"{{key: domain, weights: {weights}, seed: 0}}")
    rows, gone = kept(out), removed(out)
    by_group = Counter(r["resample_group"] for r in rows)
    # docs.python.org is matched by host although its registered domain is python.org
    assert by_group["docs.python.org"] == 80 and by_group["python.org"] == 30
    assert by_group["wikipedia.org"] == 150 and "spam.example" not in by_group
    assert 60 < by_group["forum.gardeners.net"] < 140  # Binomial(200, 0.5), grouped by its named host
    assert {r["reason"] for r in gone} == {"resample_downsampled"}
    assert len(gone) == 50 + (200 - by_group["forum.gardeners.net"])
    copies = [r for r in rows if r["copy"] == 1]
    assert len(copies) == 40 and all(r["id"].endswith("~1") for r in copies)
    assert len({r["id"] for r in rows}) == len(rows)  # copies have distinct ids
    stats = final_stats(out)
    assert stats["docs_after"]["docs.python.org"] == 80 and stats["shares_after"].get("spam.example", 0) == 0
    assert abs(sum(stats["shares_before"].values()) - 1) < 1e-3


def test_deterministic_and_independent_of_workers(tmp_path: Path) -> None:
    docs = make_docs()
    cfg = '{weights: {"forum.gardeners.net": 0.3, "wikipedia.org": 1.7, "*": 1.0}, seed: 7}'
    a = run(tmp_path / "a", docs, cfg, workers=1, shards=4)
    b = run(tmp_path / "b", docs, cfg, workers=2, shards=4)
    c = run(tmp_path / "c", docs, cfg.replace("seed: 7", "seed: 8"), workers=1, shards=4)
    # the draw is keyed by the document id (stable for an input), not by worker or order
    ids = lambda d: sorted(r["id"] for r in kept(d))  # noqa: E731
    assert ids(a) == ids(b)
    assert ids(a) != ids(c)
    # the same rows in the same order (`source` names the input path, which differs)
    assert [{**r, "source": None} for r in kept(a)] == [{**r, "source": None} for r in kept(b)]


def test_target_shares_within_two_percent(tmp_path: Path) -> None:
    docs = make_docs(seed=3)
    targets = {"wikipedia.org": 0.4, "gardeners.net": 0.3, "docs.python.org": 0.1, "*": 0.2}
    out = run(tmp_path, docs, f"{{target_shares: {json.dumps(targets)}, seed: 1}}")
    rows = kept(out)
    tokens = Counter()
    for r in rows:
        g = r["resample_group"] if r["resample_group"] in targets else "*"
        tokens[g] += len(r["text"].split())
    total = sum(tokens.values())
    for g, share in targets.items():
        assert abs(tokens[g] / total - share) <= 0.02, (g, tokens[g] / total, share)
    stats = final_stats(out)
    assert stats["target_shares"] == targets and stats["missing_groups"] == []
    assert stats["shares_after"]["wikipedia.org"] == pytest.approx(tokens["wikipedia.org"] / total, abs=1e-4)
    # the before shares were far from the targets: the test could fail
    assert abs(stats["shares_before"]["gardeners.net"] - 0.3) > 0.05


def test_solve_weights_hits_target_exactly_enough() -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    groups = {g: (rng.random(n), rng.integers(10, 500, n)) for g, n in (("a", 500), ("b", 50), ("c", 5))}
    weights = solve_weights(groups, {"a": 0.2, "b": 0.5, "c": 0.3})["weights"]
    after = {}
    for g, (u, t) in groups.items():
        w = weights[g]
        n = np.floor(w) + (u < w - np.floor(w))
        after[g] = float((n * t).sum())
    total = sum(after.values())
    assert abs(after["b"] / total - 0.5) < 0.02 and weights["c"] > 5  # c is upsampled many times


def test_categories_by_domain_and_url_pattern(tmp_path: Path) -> None:
    docs = make_docs()
    cfg = textwrap.dedent("""
        {key: category, categories: {"*/wiki/*": wiki, "forum.*": forum, python.org: code, "*": other},
         weights: {wiki: 0.0, forum: 1.0, code: 2.0, other: 1.0}}""").strip()
    out = run(tmp_path, docs, cfg)
    groups = Counter(r["resample_group"] for r in kept(out))
    assert groups == {"forum": 200, "code": 140, "other": 50}
    assert Counter(r["resample_group"] for r in removed(out)) == {"wiki": 150}


def test_classifier_groups(tmp_path: Path) -> None:
    fasttext = pytest.importorskip("fasttext")
    train = tmp_path / "train.txt"
    lines = []
    for i in range(200):
        lines.append(f"__label__cooking {PARAGRAPHS[2]} flour eggs dough {i}")
        lines.append(f"__label__news {PARAGRAPHS[0]} committee budget library {i}")
    train.write_text("\n".join(lines) + "\n")
    for seed in range(20):  # this fastText build sometimes stops with "Encountered NaN" on tiny data
        try:
            model = fasttext.train_supervised(
                str(train), epoch=25, lr=0.5, wordNgrams=2, dim=10, thread=1, seed=seed, verbose=0
            )
            break
        except RuntimeError:
            continue
    else:
        pytest.skip("fastText training kept failing with NaN on this toy data")
    model.save_model(str(tmp_path / "domains.bin"))
    docs = [{"url": f"https://a.example/{i}", "text": PARAGRAPHS[2 if i % 2 else 0]} for i in range(20)]
    cfg = f'{{key: classifier, classifier: {{model: "{tmp_path}/domains.bin"}}, weights: {{cooking: 0.0}}}}'
    out = run(tmp_path, docs, cfg, shards=1)
    assert {r["resample_group"] for r in kept(out)} == {"news"}
    assert len(removed(out)) == 10 and {r["resample_group"] for r in removed(out)} == {"cooking"}


def test_sample_crawl_target_shares(tmp_path: Path, sample_crawl_dir: Path) -> None:
    """The achieved token shares on the sample crawl's ingest output are within 2% of the target."""
    sample = sample_crawl_dir
    targets = {"openatlas.org": 0.3, "snakelang.org": 0.25, "devnotes-blog.dev": 0.15, "*": 0.3}
    yaml_path = tmp_path / "p.yaml"
    yaml_path.write_text(
        f"name: t\nworkdir: {tmp_path}/run\ninput: {{paths: ['{sample}/*.warc.gz'], format: warc}}\n"
        "executor: {type: local, workers: 1}\nallow_outside_paths: true\n"
        f"stages:\n  - ingest: {{}}\n  - resample: {{target_shares: {json.dumps(targets)}}}\n"
    )
    Pipeline(load_pipeline(yaml_path), verbose=False).run()
    out = tmp_path / "run" / "01_resample"
    tokens = Counter()
    for r in kept(out):
        tokens[r["resample_group"] if r["resample_group"] in targets else "*"] += len(r["text"].split())
    total = sum(tokens.values())
    for g, share in targets.items():
        assert abs(tokens[g] / total - share) <= 0.02, (g, tokens[g] / total, share)


@pytest.mark.parametrize(
    "cfg, message",
    [
        ("{key: host}", "key 'host' is not one of domain, category, classifier"),
        ("{weights: {a: 1.0}, target_shares: {a: 1.0}}", "either weights or target_shares"),
        ("{target_shares: {a: 0.5, b: 0.2}}", "must sum to 1"),
        ("{weights: {a: -1.0}}", "must be a finite number >= 0"),
        ("{key: category}", "needs a categories mapping"),
        ("{key: classifier}", "needs classifier"),
    ],
)
def test_config_errors(tmp_path: Path, cfg: str, message: str) -> None:
    yaml_path = tmp_path / "p.yaml"
    yaml_path.write_text(
        f"name: t\nworkdir: {tmp_path}/run\ninput: {{paths: [x.jsonl], format: jsonl}}\n"
        f"stages:\n  - ingest: {{}}\n  - resample: {cfg}\n"
    )
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_pipeline(yaml_path)


def test_default_config_keeps_everything() -> None:
    from curate.stages.resample import Grouper

    cfg = ResampleConfig()
    assert Grouper(cfg)({"url": "https://www.example.com/x", "domain": "example.com"}) == "example.com"

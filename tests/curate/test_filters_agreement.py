"""Our fast Gopher / C4 / FineWeb filters agree with datatrove's own on the sample crawl.

datatrove tokenises English with spaCy (`split_into_words`); ours uses a regex that mimics it
(curate/text/words.py). Decisions must agree on >= 99% of documents per family.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curate.filters import QUALITY_FAMILIES, DocView
from curate.pipeline import load_pipeline
from curate.runner import Pipeline
from curate.text.words import CJK_CHAR

pytest.importorskip("spacy", reason="datatrove's English word tokenizer needs spacy")
filters = pytest.importorskip("datatrove.pipeline.filters")
from datatrove.data import Document  # noqa: E402

SAMPLE_EVERY = 5  # every fifth page: ~370 documents, of every site and kind, in well under a minute


@pytest.fixture(scope="session")
def sample_texts(tmp_path_factory: pytest.TempPathFactory, sample_crawl_dir: Path) -> list[str]:
    root = tmp_path_factory.mktemp("agreement")
    (root / "p.yaml").write_text(
        textwrap.dedent(f"""
        name: agreement
        workdir: {root / "run"}
        input: {{paths: ["{sample_crawl_dir}/*.warc.gz"], format: warc}}
        executor: {{type: local, workers: 1}}
        stages:
          - ingest: {{extractor: resiliparse}}
    """)
    )
    Pipeline(load_pipeline(root / "p.yaml"), verbose=False).run()
    texts = []
    for part in sorted((root / "run" / "00_ingest").glob("part-*.parquet")):
        texts += pq.read_table(part, columns=["text"]).column(0).to_pylist()
    # English rules against English rules: the Chinese and Japanese pages are measured by their own
    # (tests/curate/test_cjk*.py), and spaCy's English tokenizer does not split Han text either.
    return [t for t in texts if not CJK_CHAR.search(t)][::SAMPLE_EVERY]


REFERENCE = {
    "gopher_quality": lambda: filters.GopherQualityFilter(),
    "gopher_repetition": lambda: filters.GopherRepetitionFilter(),
    "c4": lambda: filters.C4QualityFilter(),
    "fineweb": lambda: filters.FineWebQualityFilter(),
}


def verdict(result: bool | tuple[bool, str]) -> str | None:
    """datatrove's filter result as ours: None (kept) or the reason."""
    return None if result is True else result[1]


@pytest.mark.parametrize("family", list(REFERENCE))
def test_decisions_agree_with_datatrove(family: str, sample_texts: list[str]) -> None:
    ours, theirs = QUALITY_FAMILIES[family][0](), REFERENCE[family]()
    agree = same_reason = kept = 0
    for i, text in enumerate(sample_texts):
        doc = Document(text=text, id=str(i))
        expected = verdict(theirs.filter(doc))
        view = DocView({"text": text})
        got = ours.check(view)
        agree += (got is None) == (expected is None)
        same_reason += got == expected
        if got is None and expected is None:
            kept += 1
            if family == "c4":  # C4 rewrites kept documents: the same lines must survive
                assert view.text == doc.text
    n = len(sample_texts)
    assert n > 300
    assert agree / n >= 0.99, f"{family}: {agree}/{n} decisions agree"
    assert same_reason / n >= 0.99, f"{family}: {same_reason}/{n} reasons agree"
    assert 0 < kept < n  # the family both keeps and drops pages of the sample crawl


# Our parameter names are datatrove's constructor arguments, except these renames.
RENAMED = {"min_alpha_words_ratio": "max_non_alpha_words_ratio"}


@pytest.mark.parametrize("family", list(REFERENCE))
def test_parameters_and_defaults_are_datatrove_s(family: str) -> None:
    import dataclasses
    import inspect

    ref_cls = type(REFERENCE[family]())
    theirs = {
        name: p.default
        for name, p in inspect.signature(ref_cls.__init__).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    for f in dataclasses.fields(QUALITY_FAMILIES[family][1]):
        name = RENAMED.get(f.name, f.name)
        assert name in theirs, f"{family}.{f.name} is not a parameter of {ref_cls.__name__}"
        ours = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        expected = theirs[name]
        if isinstance(expected, tuple):  # datatrove's tuples of (n, fraction) are lists in YAML
            expected = [list(x) if isinstance(x, tuple) else x for x in expected]
        if name == "stop_words" and expected is None:
            from datatrove.pipeline.filters.gopher_quality_filter import STOP_WORDS as expected
        assert ours == expected, f"{family}.{f.name}: {ours!r} != datatrove's {expected!r}"

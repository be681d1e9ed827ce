"""The filter families on small real-text fixtures: each asserts the reason a document gets."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curate.config import ConfigError, from_dict
from curate.filters import DocView
from curate.filters.c4 import C4, count_sentences
from curate.filters.fineweb import FineWeb
from curate.filters.gopher import GopherQuality, GopherQualityParams, GopherRepetition
from curate.filters.regex import RegexConfig, RegexFilter
from curate.pipeline import load_pipeline
from curate.runner import Pipeline
from curate.stage import ShardStats
from curate.stages.filter import FilterConfig, FilterStage
from curate.text.words import split_words
from tests.warcs import small_crawl

PROSE = (
    "The river that runs through the old town has shaped the lives of its people for centuries. "
    "Farmers relied on its floods to enrich the soil, and merchants used it to carry grain to the "
    "coast. In the nineteenth century a series of locks was built, which made the water calmer and "
    "the trade more reliable. Today the banks are lined with cafes, and in summer the children swim "
    "near the bridge while their parents watch from the shade of the plane trees. The council has "
    "plans to restore the mills that stand along the eastern bank, and to open a small museum about "
    "the history of the valley. Many of the older residents remember when the last barge left with "
    "a load of timber and the town fell quiet for a while."
)
GERMAN = (
    "Der Fluss, der durch die Altstadt fließt, hat das Leben der Menschen seit Jahrhunderten geprägt. "
    "Die Bauern verließen sich auf seine Hochwasser, um den Boden zu düngen, und die Händler brachten "
    "auf ihm Getreide an die Küste. Im neunzehnten Jahrhundert wurden mehrere Schleusen gebaut, die "
    "das Wasser ruhiger und den Handel zuverlässiger machten. Heute säumen Cafés die Ufer, und im "
    "Sommer baden die Kinder in der Nähe der Brücke, während ihre Eltern im Schatten der Platanen sitzen."
)


def view(text: str, **record) -> DocView:
    return DocView({"text": text, **record})


def test_tokens_split_punctuation_and_contractions_like_spacy() -> None:
    assert split_words("Hello, it's 3.5 e.g. don't foo-bar... dont") == [
        "Hello", ",", "it", "'s", "3.5", "e.g.", "do", "n't", "foo", "-", "bar", "...", "do", "nt",
    ]  # fmt: skip
    assert count_sentences("One. Two! Three? e.g. four") == 4


def test_gopher_quality_keeps_prose_and_names_each_failure() -> None:
    gq = GopherQuality()
    assert gq.check(view(PROSE)) is None
    assert gq.check(view("A short note about the river.")) == "gopher_short_doc"
    numbers = " ".join(f"{i} {i * 7} {i * 13} and the" for i in range(40))
    assert gq.check(view(numbers)) == "gopher_below_avg_threshold"
    tags = PROSE + " " + " ".join(f"#tag{i}" for i in range(60))
    assert gq.check(view(tags)) == "gopher_too_many_hashes"
    bullets = "\n".join(f"- item number {i} of the list to buy at the market today" for i in range(20))
    assert gq.check(view(bullets)) == "gopher_too_many_bullets"
    no_stop = " ".join(["Cheap watches discount bags best prices online free shipping worldwide"] * 12)
    assert gq.check(view(no_stop)) == "gopher_enough_stop_words"
    # a threshold override changes the verdict
    assert (
        GopherQuality(GopherQualityParams(min_doc_words=5)).check(
            view("The river and the mills shaped the valley.")
        )
        is None
    )


def test_gopher_repetition_reasons() -> None:
    gr = GopherRepetition()
    assert gr.check(view(PROSE)) is None
    assert gr.check(view("\n\n".join(["Buy now and save."] * 5 + [PROSE]))) == "dup_para_frac"
    spam = "click here to win " * 60
    assert gr.check(view(spam)) == "top_2_gram"


def test_c4_drops_lines_and_rewrites_text() -> None:
    c4 = C4()
    text = "Home | About | Contact\n" + PROSE + "\nThis site uses cookies to improve your experience.\nShare"
    doc = view(text)
    assert c4.check(doc) is None
    assert doc.text == PROSE and doc.record["text"] == PROSE  # menu, cookie notice and 'Share' lines gone
    assert c4.counters["lines_dropped"] == 3
    assert c4.check(view(PROSE + "\nLorem ipsum dolor sit amet, consectetur elit.")) == "lorem_ipsum"
    assert c4.check(view(PROSE + "\nfunction f() { return 1; } is a valid statement.")) == "curly_bracket"
    assert c4.check(view("Only one sentence here. And two.")) == "too_few_sentences"


def test_fineweb_reasons() -> None:
    fw = FineWeb()
    assert fw.check(view(PROSE)) is None
    menu = "\n".join(["Home", "Products", "About us", "Contact", "Login", "Cart", PROSE[:80]])
    assert fw.check(view(menu)) == "line_punct_ratio"
    short = "\n".join(["A short line.", "Another one.", "And more.", "Yes.", PROSE])
    assert fw.check(view(short)) == "short_line_ratio"
    dup = PROSE + "\n" + "Subscribe to our newsletter today for more news.\n" * 3
    assert fw.check(view(dup)) == "char_dup_ratio"


def test_regex_documents_lines_and_url_blocklist(tmp_path: Path) -> None:
    blocklist = tmp_path / "block.txt"
    blocklist.write_text("# spam hosts\nspam.example\n/casino/\n")
    cfg = from_dict(
        RegexConfig,
        {
            "doc_patterns": [r"buy (viagra|cialis)"],
            "line_patterns": [r"^share on (facebook|twitter)"],
            "url_blocklist": ["ads.tracker.net"],
            "url_blocklist_file": str(blocklist),
        },
    )
    rf = RegexFilter(cfg)
    assert rf.check(view(PROSE, url="https://www.spam.example/page")) == "url_blocklist"  # subdomain
    assert rf.check(view(PROSE, url="https://ads.tracker.net/x")) == "url_blocklist"
    assert rf.check(view(PROSE, url="https://games.org/casino/slots")) == "url_blocklist"  # pattern
    assert rf.check(view(PROSE, url="https://notspam.example.org/")) is None
    assert (
        rf.check(view(PROSE + " Buy VIAGRA online.", url="https://a.org/")) == "regex_document"
    )  # ignore_case
    doc = view(PROSE + "\nShare on Facebook\nShare on Twitter", url="https://a.org/")
    assert rf.check(doc) is None and doc.text == PROSE and rf.counters["lines_dropped"] == 2
    assert (
        rf.check(view("Share on Facebook\nshare on twitter", url="https://a.org/")) == "regex_no_lines_left"
    )


def test_regex_rejects_patterns_re2_cannot_compile() -> None:
    with pytest.raises(ConfigError, match=r"doc_patterns: pattern '\(a\)\\\\1' is not valid RE2"):
        from_dict(RegexConfig, {"doc_patterns": [r"(a)\1"]})
    with pytest.raises(ConfigError, match="lookbehind|not valid RE2"):
        from_dict(FilterConfig, {"regex": {"line_patterns": [r"(?<=x)y"]}})


def test_regex_has_no_catastrophic_backtracking() -> None:
    rf = RegexFilter(from_dict(RegexConfig, {"doc_patterns": [r"(a+)+$"], "line_patterns": [r"(x+x+)+y"]}))
    hostile = "a" * 200_000 + "b\n" + "x" * 100_000
    start = time.perf_counter()
    assert rf.check(view(hostile)) is None  # neither pattern matches
    assert time.perf_counter() - start < 2.0


def test_language_writes_lang_on_kept_and_removed(tmp_path: Path) -> None:
    cfg = from_dict(FilterConfig, {"min_chars": 50, "language": {"keep": ["en"], "min_score": 0.5}})
    docs = [{"text": PROSE}, {"text": GERMAN}, {"text": "ok"}, {"text": "zzz qqq xxv 123 456 ..."}]
    stats = ShardStats()
    out = list(
        FilterStage(cfg, None).process(iter(d | {"lang": None, "lang_score": None} for d in docs), stats)
    )
    reasons = [r for _, r in out]
    assert reasons[:3] == [None, "language_not_kept", "too_short"]
    assert out[0][0]["lang"] == "en" and out[0][0]["lang_score"] > 0.9
    assert out[1][0]["lang"] == "de"
    assert all(d["lang"] is not None and 0.0 <= d["lang_score"] <= 1.0 for d, _ in out)  # removed too
    assert stats.counters["language:dropped"] >= 1


def test_language_runs_before_the_english_quality_rules() -> None:
    """A German page fails Gopher's English stop-word rule too; its reason must be the language."""
    cfg = from_dict(
        FilterConfig, {"language": {"keep": ["en"], "min_score": 0.5}, "quality": ["gopher_quality"]}
    )
    stats = ShardStats()
    docs = [{"text": GERMAN * 3, "lang": None, "lang_score": None}]
    assert [r for _, r in FilterStage(cfg, None).process(iter(docs), stats)] == ["language_not_kept"]
    assert stats.counters["gopher_quality:dropped"] == 0


def test_missing_lid_model_is_a_config_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.ftz.*not found"):
        from_dict(FilterConfig, {"language": {"model": str(tmp_path / "missing.ftz")}})


def test_quality_config_checks_family_names_and_overrides() -> None:
    cfg = from_dict(FilterConfig, {"quality": ["c4", {"gopher_quality": {"min_doc_words": 10}}]})
    assert cfg.quality[1] == {"gopher_quality": {"min_doc_words": 10}}
    with pytest.raises(ConfigError, match="unknown family 'gopher'; valid: gopher_quality"):
        from_dict(FilterConfig, {"quality": ["gopher"]})
    with pytest.raises(ConfigError, match="unknown key 'min_words'"):
        from_dict(FilterConfig, {"quality": [{"c4": {"min_words": 3}}]})
    with pytest.raises(ConfigError, match="expected a number"):
        from_dict(FilterConfig, {"quality": [{"fineweb": {"short_line_thr": "high"}}]})


def test_first_failing_filter_in_stage_order_gives_the_reason() -> None:
    # Both the URL block-list and Gopher would drop this page: regex runs first.
    cfg = from_dict(
        FilterConfig, {"regex": {"url_blocklist": ["spam.example"]}, "quality": ["gopher_quality"]}
    )
    stats = ShardStats()
    docs = [
        {"text": "too short", "url": "https://spam.example/"},
        {"text": "too short", "url": "https://ok.org/"},
    ]
    assert [r for _, r in FilterStage(cfg, None).process(iter(docs), stats)] == [
        "url_blocklist",
        "gopher_short_doc",
    ]
    assert stats.counters["regex:dropped"] == 1 and stats.counters["gopher_quality:dropped"] == 1


def test_pipeline_run_with_all_families(tmp_path: Path) -> None:
    small_crawl(tmp_path / "crawl")
    (tmp_path / "web.yaml").write_text(
        textwrap.dedent(f"""
        name: test
        workdir: {tmp_path / "run"}
        input: {{paths: ["{tmp_path / "crawl"}/*.warc.gz"], format: warc}}
        executor: {{type: local, workers: 1}}
        stages:
          - ingest: {{extractor: resiliparse}}
          - filter:
              regex: {{url_blocklist: [site1.example.com]}}
              quality: [gopher_repetition, {{gopher_quality: {{min_doc_words: 20}}}}, fineweb]
              language: {{keep: [en]}}
    """)
    )
    report = Pipeline(load_pipeline(tmp_path / "web.yaml")).run()
    filt = report["stages"][1]
    assert filt["reasons"]["url_blocklist"] == 12  # every page of site1
    assert filt["kept"] > 0 and filt["docs_in"] == filt["kept"] + filt["removed"]
    kept = pq.read_table(tmp_path / "run" / "01_filter" / "part-00000.parquet").to_pylist()
    removed = pq.read_table(tmp_path / "run" / "01_filter" / "removed" / "part-00001.parquet").to_pylist()
    assert all(r["lang"] == "en" for r in kept) and all(r["lang"] for r in removed)

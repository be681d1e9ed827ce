"""The filters' shortcuts (bounds, vectorised counts) give exactly what the plain definitions give.

The statistics of curate.filters.gopher against datatrove's own functions on random repetitive
word lists; the shortcuts of C4 and FineWeb for Chinese and Japanese (a Han/Kana character is one
word) against the word splitter. Decisions on real pages before and after such changes:
bench/cjk_decisions.py.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from datatrove.pipeline.filters.gopher_repetition_filter import (
    find_all_duplicate,
    find_duplicates,
    find_top_duplicate,
    get_n_grams,
)

from curate.filters import DocView
from curate.filters.c4 import (
    C4,
    CITATION,
    CJK_END_PUNCTUATION,
    CJK_POLICY_SUBSTRINGS,
    END_PUNCTUATION,
    POLICY_SUBSTRINGS,
    _cjk_at_least,
    count_sentences,
)
from curate.filters.fineweb import FineWeb
from curate.filters.gopher import _NGrams, duplicates
from curate.text.words import CJK_CHAR, is_cjk_lang, split_words_cjk


def word_lists(seed: int, count: int = 60) -> list[list[str]]:
    """Repetitive lists over small vocabularies; every word starts with '§' and has no other, so
    datatrove's "".join of an n-gram is as unambiguous as our per-word hashes."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        vocab = ["§" + "abcdefgh"[: rng.randint(0, 7)] + str(i) for i in range(rng.randint(1, 12))]
        words = [rng.choice(vocab) for _ in range(rng.randint(1, 300))]
        for _ in range(rng.randint(0, 4)):  # pasted copies of a stretch: long repeated n-grams
            a = rng.randrange(len(words))
            at = rng.randrange(len(words) + 1)
            words[at:at] = words[a : a + rng.randint(1, 40)]
        out.append(words)
    return out


@pytest.mark.parametrize("seed", range(4))
def test_top_n_gram_characters_are_datatrove_s_with_and_without_the_bound(seed: int) -> None:
    rng = random.Random(seed)
    for words in word_lists(seed):
        grams = _NGrams(words)
        for n in range(1, min(len(words), 12) + 1):
            spaced = find_top_duplicate(get_n_grams(words, n))
            unspaced = find_top_duplicate(["".join(words[i : i + n]) for i in range(len(words) - n + 1)])
            assert grams.top_chars(n) == spaced
            assert grams.top_chars(n, spaced=False) == unspaced
            for exact, is_spaced in ((spaced, True), (unspaced, False)):
                limit = rng.uniform(0, 2 * exact)
                found = grams.top_chars(n, is_spaced, lambda bound, limit=limit: bound <= limit)
                assert found == exact if found is not None else exact <= limit


@pytest.mark.parametrize("seed", range(4))
def test_repeated_n_gram_characters_are_datatrove_s_with_and_without_the_bound(seed: int) -> None:
    rng = random.Random(seed)
    for words in word_lists(100 + seed):
        grams = _NGrams(words)
        for n in range(1, min(len(words), 12) + 1):
            exact = find_all_duplicate(words, n)
            assert grams.dup_chars(n) == exact
            limit = rng.uniform(0, 2 * exact + 1)
            found = grams.dup_chars(n, lambda bound, limit=limit: bound <= limit)
            assert found == exact if found is not None else exact <= limit


@pytest.mark.parametrize("seed", range(4))
def test_repeat_positions_and_the_union_of_their_windows(seed: int) -> None:
    for words in word_lists(200 + seed):
        grams = _NGrams(words)
        lens = [len(w) for w in words]
        for m in range(1, min(len(words), 6) + 1):
            keys = [tuple(words[i : i + m]) for i in range(len(words) - m + 1)]
            seen: set[tuple[str, ...]] = set()
            expected = []
            for i, key in enumerate(keys):
                if key in seen:
                    expected.append(i)
                seen.add(key)
            starts = grams.repeats(m)
            assert starts.tolist() == expected
            if not expected:
                continue
            ns = list(range(m, m + 8))
            union = [
                sum(lens[j] for j in {j for s in expected for j in range(s, min(s + n, len(words)))})
                for n in ns
            ]
            assert grams.covered_chars(starts, ns) == union
            first_of, inverse = grams.groups(m)
            _, first, inv = np.unique(grams.hashes(m), return_index=True, return_inverse=True)
            assert first_of.tolist() == first[inv].tolist() and inverse.tolist() == inv.tolist()


def test_duplicates_are_datatrove_s() -> None:
    rng = random.Random(7)
    for _ in range(200):
        items = [
            rng.choice(["", "a", "bb", "ccc", "a b", "Ω", "\u4e00\u4e8c"]) for _ in range(rng.randint(0, 30))
        ]
        assert duplicates(items) == find_duplicates(items)


PIECES = ["中", "文", "字", "カ", "ナ", "々", "ー", "，", "。", "、", "（", "a", "bc", "dont", "3.5", " ", "\n", "-", "e.g.", "www.x.org"]  # fmt: skip


def mixed_lines(seed: int, count: int = 2000) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(0, 25))) for _ in range(count)]


def test_enough_han_and_kana_characters_mean_enough_words() -> None:
    for line in mixed_lines(1):
        cjk = len(CJK_CHAR.findall(line))
        words = split_words_cjk(line)
        assert len(words) >= cjk
        for k in (1, 3, 5, 9):
            assert bool(_cjk_at_least(k).match(line)) == (cjk >= k)


def test_fineweb_verdicts_on_cjk_text_are_those_of_the_word_count(monkeypatch) -> None:
    """FineWeb skips the tokens when Han/Kana characters alone bring the newline ratio under the
    threshold: the verdicts are those of always counting the words."""
    import curate.filters.fineweb as fineweb

    rng = random.Random(3)
    lines = mixed_lines(2, 3000)
    texts = ["\n".join(ln + "。" for ln in rng.sample(lines, rng.randint(1, 12))) for _ in range(400)]
    fast = [FineWeb().check(DocView({"text": t, "lang": "zh"})) for t in texts]
    monkeypatch.setattr(fineweb, "is_cjk_lang", lambda lang: False)  # the words only, no shortcut
    assert [FineWeb().check(DocView({"text": t, "lang": "zh"})) for t in texts] == fast
    assert {None, "list_ratio"} <= set(fast)


def c4_line_by_line(c4: C4, doc: DocView) -> tuple[str | None, str, int]:
    """C4's rules line by line, every line tokenised, no prefilter: (reason, text, lines dropped)."""
    p = c4.params.get(doc.lang)
    cjk = is_cjk_lang(doc.lang)
    end_punct = CJK_END_PUNCTUATION if cjk else END_PUNCTUATION
    policy = CJK_POLICY_SUBSTRINGS if cjk else POLICY_SUBSTRINGS
    kept, sentences, dropped = [], 0, 0
    for line in doc.lines:
        line = line.strip()
        words = split_words_cjk(line) if cjk else line.split()
        if p.max_word_length != -1 and any(len(w) > p.max_word_length for w in words):
            dropped += 1
            continue
        if p.remove_citations:
            line = CITATION.sub("", line)
        if p.filter_no_terminal_punct and (not line.endswith(end_punct) or line.endswith("...")):
            dropped += 1
            continue
        if cjk:
            words = split_words_cjk(line)
        if len(words) < p.min_words_per_line:
            dropped += 1
            continue
        lower = line.lower()
        if p.filter_lorem_ipsum and "lorem ipsum" in lower:
            return "lorem_ipsum", doc.text, 0  # lines dropped are counted for kept documents
        if p.filter_javascript and "javascript" in lower:
            dropped += 1
            continue
        if p.filter_curly_bracket and "{" in line:
            return "curly_bracket", doc.text, 0
        if p.filter_policy and any(s in lower for s in policy):
            dropped += 1
            continue
        if p.min_num_sentences != -1:
            sentences += count_sentences(line, cjk)
        kept.append(line)
    if sentences < p.min_num_sentences:
        return "too_few_sentences", doc.text, 0
    return None, "\n".join(kept).strip(), dropped


C4_LINES = [
    "Bash 是一个与 sh 兼容的命令解释程序，可以执行从标准输入或者文件中读取的命令。",
    "如果有 -c 选项，那么命令将从 string 中读取。",
    "bash は、標準入力やファイルから読み込んだコマンドを実行します。",
    "选项 [1]。", "见 [edit]", "短。", "ok.", "-a, --all", "本网站使用 cookie 以改善体验。", "请启用 JavaScript。",
    "The river has shaped the lives of its people for centuries.", "It uses cookies. Privacy policy.",
    "Read more...", "  Indented line with an end.  ", "", "x { y } z.", "Lorem ipsum dolor sit amet.",
    "A sentence [citation needed].", "「引用」", "什么？！", "中文" * 600 + "。",
]  # fmt: skip


@pytest.mark.parametrize("lang", ["zh", "ja", "en", None])
def test_c4_verdicts_text_and_counts_are_those_of_the_line_by_line_rules(lang: str | None) -> None:
    rng = random.Random(11)
    plain = [line for line in C4_LINES if "{" not in line and "Lorem" not in line]
    for _ in range(300):
        pool = C4_LINES if rng.random() < 0.3 else plain  # most pages get past the document rules
        text = "\n".join(rng.choice(pool) for _ in range(rng.randint(0, 20)))
        c4 = C4()
        doc = DocView({"text": text, "lang": lang})
        reason = c4.check(doc)
        expected = c4_line_by_line(C4(), DocView({"text": text, "lang": lang}))
        assert (reason, doc.text, c4.counters["lines_dropped"]) == expected

"""Chinese and Japanese through the filters, dedup and decontamination (small real-text fixtures).

The pages are paragraphs of bash(1) from Debian's manpages-zh and manpages-ja.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from curate.config import from_dict
from curate.decontam.benchmarks import BenchmarkItem
from curate.decontam.index import build_index
from curate.decontam.scan import scan_texts
from curate.dedup.minhash import band_hashes, batch_shingles, jaccard_estimate, minhash, normalise_batch
from curate.filters import QUALITY_FAMILIES, DocView
from curate.stages.filter import FilterConfig, parse_languages
from tests.warcs import PARAGRAPHS

ZH_PAGE = """Bash 是一个与 sh 兼容的命令解释程序，可以执行从标准输入或者文件中读取的命令。 Bash 也整合了 Korn 和 C Shell (ksh 和 csh) 中的优秀特性。
Bash 的目标是成为遵循 IEEE POSIX Shell and Tools specification (IEEE Working Group 1003.2，可移植操作系统规约： shell 和工具) 的实现。
除了在 set 内建命令的文档中讲述的单字符选项 (option) 之外，bash 在启动时还解释下列选项。
如果有 -c 选项，那么命令将从 string 中读取。如果 string 后面有参数 (argument)，它们将用于给位置参数 (positional parameter，以 $0 起始) 赋值。
如果有 -s 选项，或者如果选项处理完以后，没有参数剩余，那么命令将从标准输入读取。 这个选项允许在启动一个交互 shell 时可以设置位置参数。
下列段落描述了 bash 如何执行它的启动文件。如果这些启动文件中的任一个存在但是不可读取， bash 将报告一个错误。文件名中的波浪号 (~,tilde) 将像 EXPANSION 章节中 Tilde Expansion 段描述的那样展开。
当一个登录 shell 退出时， bash 读取并执行文件 ~/.bash_logout 中的命令，只要它存在。
当一个交互的 shell 但不是登录 shell 启动时， bash 从文件 ~/.bashrc 中读取并执行命令，只要它存在。可以用 --norc 选项来阻止它这样做。 --rcfile file 选项将强制 bash 读取并执行文件 file 中的命令，而不是 ~/.bashrc 中的。
当 bash 以非交互的方式启动时，例如在运行一个 shell 脚本时，它在环境中查找变量 BASH_ENV ，如果它存在则将它的值展开，使用展开的值作为一个文件的名称，读取并执行。"""

JA_PAGE = """bash は、標準入力やファイルから読み込んだコマンドを実行する、 sh 互換のコマンド言語インタプリタです。 bash には、Korn シェルや C シェル (ksh や csh) の便利な機能も採り入れられています。
bash は IEEE POSIX specification (IEEE Standard 1003.1) の Shell and Utilities に準拠する実装を目指しています。 bash はデフォルトで POSIX 準拠に設定することもできます。
組み込みコマンド set の説明で述べられている 1 文字のシェルオプションを、 起動時に指定できます。 それに加えて、bash は以下のオプションを起動時に解釈します。
シェルの実行を開始する前に、デバッグモードを準備します。 拡張デバッグモードを有効にします (後述の組み込みコマンド shopt の extdebug オプションを参照)。
対話的シェルとして起動された場合、 個人用の標準の初期化ファイル ~/.bashrc の代わりに file からコマンドを実行します (後述の 起動 セクションを参照)。
シェルが対話的動作の場合、コマンドラインを読み込むときに GNU readline ライブラリを使用しません。
ログインシェルが終了するときには、 ~/.bash_logout ファイルがあれば、 bash はこれを読み込んで実行します。
ログインシェルでない対話的シェルとして起動されると、 ~/.bashrc ファイルがあれば、 bash はここからコマンドを読み込み、実行します。"""

# Keyword stuffing, the shape of Chinese SEO spam: a few target keywords repeated in any order
# (with punctuation, so that line rules alone do not catch it) around two lines of real text.
KEYWORDS = ["澳门赌场", "在线赌场", "网上赌博", "百家乐", "真人娱乐", "体育投注", "彩票开奖", "老虎机"]


def spam_page(seed: int) -> str:
    rng = random.Random(seed)
    lines = ZH_PAGE.splitlines()[seed % 8 : seed % 8 + 2]
    targets = rng.sample(KEYWORDS, 3)
    for _ in range(10):
        lines.append("，".join(rng.choice(targets) for _ in range(rng.randint(4, 9))) + "。")
    return "\n".join(lines)


def verdicts(text: str, lang: str | None) -> dict[str, str | None]:
    out = {}
    for name, (cls, _) in QUALITY_FAMILIES.items():
        out[name] = cls().check(DocView({"text": text, "lang": lang}))
    return out


def test_real_chinese_and_japanese_pages_pass_every_family_with_their_language_thresholds() -> None:
    assert verdicts(ZH_PAGE, "zh") == dict.fromkeys(QUALITY_FAMILIES)
    assert verdicts(JA_PAGE, "ja") == dict.fromkeys(QUALITY_FAMILIES)
    # The same page measured with English words and thresholds is removed: the bug this fixes.
    # (Documents without a `lang` keep the English rules: no language filter ran.)
    assert verdicts(ZH_PAGE, None)["gopher_quality"] == "gopher_below_alpha_threshold"
    assert verdicts(ZH_PAGE, None)["c4"] == "too_few_sentences"


def test_a_page_labelled_english_but_written_in_han_or_kana_is_measured_as_chinese_or_japanese() -> None:
    assert DocView({"text": ZH_PAGE, "lang": "en"}).lang == "zh"
    assert DocView({"text": JA_PAGE, "lang": "en"}).lang == "ja"
    assert verdicts(ZH_PAGE, "en") == dict.fromkeys(QUALITY_FAMILIES)
    # English with a Chinese name in it stays English.
    mixed = PARAGRAPHS[0] + " 中文名称：命令解释程序。"
    assert DocView({"text": mixed, "lang": "en"}).lang == "en"


def test_chinese_keyword_stuffing_is_removed() -> None:
    for seed in range(20):
        reasons = verdicts(spam_page(seed), "zh")
        assert any(reasons.values()), (seed, reasons)


def test_english_documents_take_exactly_the_default_path() -> None:
    for text in PARAGRAPHS:
        for name, (cls, _) in QUALITY_FAMILIES.items():
            none = cls().check(DocView({"text": text}))
            assert cls().check(DocView({"text": text, "lang": "en"})) == none, name


def test_languages_without_a_profile_get_the_rules_that_need_no_words() -> None:
    # German prose has none of the English stop words; only word-free rules apply to it.
    german = (
        "Die Shell liest Befehle von der Standardeingabe oder aus einer Datei und führt sie aus.\n" * 1
        + "Sie übernimmt außerdem nützliche Eigenschaften der Korn- und C-Shell.\n"
        + "Beim Start werden die folgenden Optionen ausgewertet, bevor ein Befehl gelesen wird.\n"
    ) * 3
    gq = QUALITY_FAMILIES["gopher_quality"][0]()
    assert gq.check(DocView({"text": german, "lang": None})) == "gopher_enough_stop_words"
    assert gq.check(DocView({"text": german, "lang": "de"})) is None
    rep = QUALITY_FAMILIES["gopher_repetition"][0]()
    assert rep.check(DocView({"text": german, "lang": "de"})) == "dup_line_frac"


def test_per_language_overrides_and_their_errors() -> None:
    cfg = from_dict(FilterConfig, {"languages": {"zh": {"gopher_quality": {"min_doc_words": 100_000}}}})
    by_lang = parse_languages(cfg.languages)
    gq = QUALITY_FAMILIES["gopher_quality"][0](None, by_lang["gopher_quality"])
    assert gq.check(DocView({"text": ZH_PAGE, "lang": "zh"})) == "gopher_short_doc"
    assert gq.check(DocView({"text": JA_PAGE, "lang": "ja"})) is None  # ja keeps its profile
    with pytest.raises(ValueError, match="unknown family 'gopher'"):
        from_dict(FilterConfig, {"languages": {"zh": {"gopher": {}}}})
    with pytest.raises(ValueError, match="languages.zh.c4"):
        from_dict(FilterConfig, {"languages": {"zh": {"c4": {"no_such_key": 1}}}})


def edit_chars(text: str, fraction: float, seed: int) -> str:
    """Replace `fraction` of the Han/Kana characters by others from the same text."""
    rng = random.Random(seed)
    chars = list(text)
    cjk = [i for i, c in enumerate(chars) if "\u3040" <= c <= "\u9fff"]
    for i in rng.sample(cjk, max(1, round(fraction * len(chars)))):
        chars[i] = rng.choice([chars[j] for j in cjk])
    return "".join(chars)


def signatures(texts: list[str]) -> np.ndarray:
    hashes, counts = batch_shingles(normalise_batch(texts), 5)
    return minhash(hashes, counts, 112, 1)


@pytest.mark.parametrize("page", [ZH_PAGE, JA_PAGE])
def test_near_duplicates_share_an_lsh_band_and_distinct_pages_do_not(page: str) -> None:
    copies = [
        "网站首页 | 文档\n" + edit_chars(page, f, s) + "\n版权所有" for f in (0.01, 0.03) for s in range(3)
    ]
    sig = signatures([page, *copies, ZH_PAGE if page is JA_PAGE else JA_PAGE, PARAGRAPHS[0] * 3])
    bands = band_hashes(sig, 14, 8)
    shares = (bands[:, 1:] == bands[:, :1]).any(axis=0)
    assert shares[:3].all()  # 1% of the characters changed: every copy found
    assert jaccard_estimate(sig[0], sig[4:7]).min() > 0.5  # 3% changed: still similar
    assert not shares[-2:].any()  # the other language's page and an English one
    # A whitespace-word shingle would see a 1% edit everywhere: one Chinese "word" is a clause.
    assert jaccard_estimate(sig[0], sig[1]) > 0.8


def test_a_chinese_benchmark_item_pasted_with_width_and_spacing_changes_is_found() -> None:
    question = "如果 bash 以名称 sh 启动，它试图模仿 (mimic) sh 历史版本的启动过程，这时它首先读取哪个文件？"
    choices = ["/etc/profile", "~/.bashrc", "~/.bash_logout", "环境变量 BASH_ENV 的值"]
    item = BenchmarkItem("zh-bench", "q1", "\n".join([question, *choices]))
    index = build_index([item], 13, 8, cjk_ngram=20)
    assert 20 in index.lengths
    pasted = question.replace("，", ",").replace("？", "?").replace("启动", "启 动")
    docs = [JA_PAGE, ZH_PAGE.replace("当一个登录", pasted + "\n当一个登录"), ZH_PAGE]
    _, matches = scan_texts(index, docs)
    assert matches[0] is None and matches[2] is None  # the clean pages: no false flag
    assert matches[1] is not None and matches[1].benchmarks(index) == {"zh-bench": matches[1].keys[0]}
    # An English-only index keeps its single 13-word key length.
    english = build_index([BenchmarkItem("en", "1", PARAGRAPHS[0])], 13, 8, cjk_ngram=20)
    assert english.lengths == [13]


def test_dedup_batches_split_han_and_kana_in_numpy_exactly_as_normalize_text() -> None:
    from curate.dedup.minhash import normalised_words

    texts = [
        ZH_PAGE,
        JA_PAGE,
        PARAGRAPHS[0],
        "",
        "ｶﾀｶﾅ abc",
        "a你b。",
        "㈱ 株",
        "𠀋𠀋x",
        "a\u2028b 中\u3000文",
        "Ａ\u0301中",
    ]
    # what the byte table cannot do for CJK text goes the long way: symbols, non-ASCII digits...
    texts += [
        "©2024 中文",
        "①②中",
        "ﬁ中",
        "Ⅻ中",
        "٣中",
        "中_文",
        "中\x1c文",
        "İ中",
        "〜中〜",
        "中…文",
        "ＡＢＣ、中。",
        "中゛文",  # U+309B: inside a Kana block, but a symbol (not a word character)
        "⺀中",  # a CJK radical: a symbol
    ]
    norm = normalise_batch(texts)
    first = np.concatenate([[0], np.cumsum(norm.doc_words)])
    for d, text in enumerate(texts):
        expected, expected_words = normalised_words(text)
        assert norm.buf[norm.doc_off[d] : norm.doc_off[d + 1]].tobytes().decode() == expected
        spans = zip(norm.word_start[first[d] : first[d + 1]], norm.word_len[first[d] : first[d + 1]])
        assert [norm.buf[s : s + n].tobytes().decode() for s, n in spans] == expected_words


def test_the_quick_scan_for_characters_the_byte_table_gets_wrong_agrees_with_the_full_one() -> None:
    """_needs_collapse (a negated class, then the full pattern from its first match) against
    _NOT_FOR_BYTES alone, for every character of the basic plane and of the Han/Kana ranges."""
    from curate.dedup.minhash import _NOT_FOR_BYTES, _needs_collapse
    from curate.text.words import CJK_RANGES

    codes = set(range(0xD800)) | set(range(0xE000, 0x10000))
    codes |= {c for lo, hi in CJK_RANGES for c in range(lo, hi + 1)}
    differ = [
        c
        for c in sorted(codes)
        if _needs_collapse(f"中{chr(c)}文") != bool(_NOT_FOR_BYTES.search(f"中{chr(c)}文"))
    ]
    assert differ == []
    for text in (ZH_PAGE, JA_PAGE, ZH_PAGE + "©", "Ａ" + JA_PAGE + "٣"):
        assert _needs_collapse(text) == bool(_NOT_FOR_BYTES.search(text))


def test_punctuation_taken_out_before_nfkc_normalises_to_what_is_taken_out_anyway() -> None:
    import re
    import sys
    import unicodedata

    from curate.text.normalize import _PUNCT, CJK_PUNCT_CHARS

    cjk_punct = re.compile(f"[{CJK_PUNCT_CHARS}]")
    for cp in range(sys.maxunicode + 1):
        c = chr(cp)
        if cjk_punct.match(c):
            assert unicodedata.category(c)[0] == "P", hex(cp)
            assert not _PUNCT.sub("", unicodedata.normalize("NFKC", c)).strip(), hex(cp)


def test_verified_dedup_with_t2s_keeps_traditional_and_simplified_copies_together() -> None:
    import tempfile
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.parquet as pq

    from curate.dedup.verify import ShingleJob, shingle_sets

    trad, simp = "這個選項說明了命令的執行過程。" * 4, "这个选项说明了命令的执行过程。" * 4
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.parquet"
        pq.write_table(pa.table({"text": [trad, simp]}), path)
        for t2s, same in ((False, False), (True, True)):
            vals, offs = shingle_sets(ShingleJob(str(path), np.array([0, 1]), 5, t2s))
            a, b = vals[offs[0] : offs[1]], vals[offs[1] : offs[2]]
            assert np.array_equal(a, b) == same  # verify rebuilds the shingles the signatures used

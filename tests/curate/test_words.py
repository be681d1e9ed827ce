"""Words per script (curate.text.words) and the normalisation of dedup / decontamination keys."""

from __future__ import annotations

from curate.text.normalize import normalize_text, words
from curate.text.words import cjk_fraction, split_words, split_words_cjk, words_for
from tests.warcs import PARAGRAPHS

# From Debian's manpages-zh, bash(1): Chinese prose with English names and options.
ZH = "Bash 是一个与 sh 兼容的命令解释程序，可以执行从标准输入或者文件中读取的命令。"


def test_han_and_kana_are_one_token_per_character_and_latin_runs_keep_english_rules() -> None:
    assert split_words_cjk(ZH)[:8] == ["Bash", "是", "一", "个", "与", "sh", "兼", "容"]
    assert split_words_cjk("用 pip 安装：don't 3.5 e.g.，见https://x.org/a获取。") == [
        "用", "pip", "安", "装", "：", "do", "n't", "3.5", "e.g.", "，", "见", "https://x.org/a", "获", "取", "。",
    ]  # fmt: skip
    assert split_words_cjk("カタカナーとひらがな、漢字。") == list("カタカナーとひらがな、漢字。")
    # Hangul is a spaced script: whole words, as in English.
    assert split_words_cjk("한국어 문장입니다.") == ["한국어", "문장입니다", "."]


def test_text_without_han_or_kana_splits_exactly_as_the_english_rules() -> None:
    for text in [*PARAGRAPHS, "It's 10am, isn't it? Visit https://example.com/a. Ça va... «naïve» 3,000"]:
        assert split_words_cjk(text) == split_words(text)


def test_the_splitter_follows_the_document_language() -> None:
    assert words_for("zh") is split_words_cjk and words_for("ja") is split_words_cjk
    assert (
        words_for("en") is split_words and words_for(None) is split_words and words_for("de") is split_words
    )
    assert cjk_fraction(ZH) > 0.7 and cjk_fraction(PARAGRAPHS[0]) == 0


def test_normalisation_folds_width_and_spacing_and_makes_characters_words() -> None:
    pasted = (
        "Bash 是 一个与 sh 兼容的命令解释程序, 可以执行从标准输入或者文件中读取的命令."  # half-width, spaces
    )
    assert normalize_text(pasted) == normalize_text(ZH)
    assert normalize_text("ＡＢＣ，１２３　ｶﾀｶﾅ") == "abc 000 カ タ カ ナ"
    assert words("命令 sh3") == ["命", "令", "sh0"]
    # Text without Han or Kana: unchanged by the CJK rules.
    assert normalize_text("Hello, Wörld! 2024 — naïve_x") == "hello wörld 0000 naïve x"


def test_traditional_to_simplified_is_an_option() -> None:
    trad, simp = "這個選項說明了命令的執行過程。", "这个选项说明了命令的执行过程。"
    assert normalize_text(trad) != normalize_text(simp)
    assert normalize_text(trad, t2s=True) == normalize_text(simp, t2s=True) == normalize_text(simp)

"""Quality thresholds per document language (`lang`, as the language filter writes it).

- English, and documents without a `lang`: the family's own parameters (datatrove's defaults,
  or the `quality:` overrides), on exactly the English code path.
- Chinese (`zh`, and lid.176's `wuu` / `yue`) and Japanese (`ja`): FineWeb-2's published values
  (github.com/huggingface/fineweb-2, configs/cmn_Hani.yml and jpn_Jpan.yml, and the filter
  arguments of its fineweb-2-pipeline.py: paragraph and line-character duplicate rules off,
  FineWeb's short-line rule off, char_duplicates_ratio 0.1, min_stop_words 2). FineWeb-2 measured
  them on segmenter words (jieba / SudachiPy); our Chinese and Japanese words are characters
  (see curate.text.words for why), so every word count and word n-gram length is converted with
  the characters per segmenter word measured by bench/cjk.py on real text (CHARS_PER_WORD), and
  ratios whose denominator is a word count are rescaled to keep the same decision. FineWeb-2
  does not use C4; here C4's line rules take CJK sentence-ending punctuation (。！？ and closing
  quotes) and Chinese / Japanese cookie and policy phrases, with line lengths in characters.
- Any other language: only the rules that do not depend on words or on English stop words.
  Kept: gopher_quality's bullet and end-ellipsis line ratios; gopher_repetition's duplicate
  line and paragraph fractions; C4's terminal punctuation, javascript, policy, lorem ipsum and
  curly-bracket rules; FineWeb's line punctuation, short line and duplicate character ratios.
  Off: word counts and lengths, symbol and alphabetic word ratios, stop words, word n-gram
  repetition, C4's words per line and sentence count, FineWeb's list ratio.

Per-language overrides: `filter: {languages: {zh: {gopher_quality: {min_stop_words: 1}}}}`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from curate.config import ConfigError, from_dict

# Characters per segmenter word in Han/Kana text: datatrove's own word tokenizers (spaCy + jieba
# for cmn_Hani 1.75, spaCy + SudachiPy for jpn_Jpan 1.85) on Debian's manpages-zh / manpages-ja,
# measured by `bench/cjk.py --segmenter-stats`; rounded down (a lower factor keeps more pages).
CHARS_PER_WORD = {"zh": 1.7, "ja": 1.8}

# FineWeb-2's per-language values, as published (word units).
FINEWEB2 = {
    "zh": {
        "dup_line_frac": 0.287,
        "top_n_grams": [[2, 0.256], [3, 0.201], [4, 0.171]],
        "dup_n_grams": [[5, 0.198], [6, 0.182], [7, 0.167], [8, 0.154], [9, 0.14], [10, 0.127]],
        "line_punct_thr": 0.106,
        "new_line_ratio": 0.178,
        "min_avg_word_length": 1,
        "max_avg_word_length": 5,
        "max_non_alpha_words_ratio": 0.735,
        "stopwords": list("的年在月是和日了於·為有被人中为他與後也而由"),
    },
    "ja": {
        "dup_line_frac": 0.375,
        "top_n_grams": [[2, 0.121], [3, 0.129], [4, 0.145]],
        "dup_n_grams": [[5, 0.307], [6, 0.283], [7, 0.264], [8, 0.248], [9, 0.234], [10, 0.223]],
        "line_punct_thr": 0.167,
        "new_line_ratio": 0.162,
        "min_avg_word_length": 1,
        "max_avg_word_length": 5,
        "max_non_alpha_words_ratio": 0.759,
        "stopwords": list("のにをはたてがとで年し・月れさ"),
    },
}
LANGUAGE_ALIASES = {"wuu": "zh", "yue": "zh"}


def _cjk_profile(lang: str) -> dict[str, dict[str, Any]]:
    fw, f = FINEWEB2[lang], CHARS_PER_WORD[lang]

    def chars(n: float) -> int:
        return max(1, round(n * f))

    # datatrove's top n-gram statistic joins the n words with n - 1 spaces; adjacent characters
    # have none, so the fraction is scaled by characters / (characters + n - 1) of one n-gram.
    top = [[chars(n), t * chars(n) / (chars(n) + n - 1)] for n, t in fw["top_n_grams"]]
    return {
        "gopher_quality": {
            "min_doc_words": chars(50),
            "max_doc_words": chars(100_000),
            "min_avg_word_length": fw["min_avg_word_length"],
            "max_avg_word_length": fw["max_avg_word_length"],
            # '#' per word: f times more words in characters
            "max_symbol_word_ratio": 0.1 / f,
            # FineWeb-2's value as is. Rescaled for f times more alphabetic tokens (t*f / (t*f + 1 - t),
            # 0.83 for zh) it removed 9 of 34 Chinese translations of kept English pages in
            # bench/cjk.py: code and option lists are the same tokens in both languages, so the
            # rescaling overshoots on the mixed pages that documentation is made of.
            "min_alpha_words_ratio": fw["max_non_alpha_words_ratio"],
            "stop_words": fw["stopwords"],
            "min_stop_words": 2,
        },
        "gopher_repetition": {
            "dup_para_frac": 0,
            "dup_para_char_frac": 0,
            "dup_line_char_frac": 0,
            "dup_line_frac": fw["dup_line_frac"],
            "top_n_grams": top,
            # characters of repeated n-grams: no separators in either count
            "dup_n_grams": [[chars(n), t] for n, t in fw["dup_n_grams"]],
        },
        "c4": {"min_words_per_line": chars(3)},
        "fineweb": {
            "short_line_thr": 999,
            "char_duplicates_ratio": 0.1,
            "line_punct_thr": fw["line_punct_thr"],
            "new_line_ratio": fw["new_line_ratio"] / f,  # newlines per word
        },
    }


PROFILES: dict[str, dict[str, dict[str, Any]]] = {lang: _cjk_profile(lang) for lang in FINEWEB2}

# Languages without a profile: the word-dependent rules off (see the module docstring).
GENERIC: dict[str, dict[str, Any]] = {
    "gopher_quality": {
        "min_doc_words": None,
        "max_doc_words": None,
        "min_avg_word_length": None,
        "max_avg_word_length": None,
        "max_symbol_word_ratio": None,
        "min_alpha_words_ratio": None,
        "min_stop_words": None,
    },
    "gopher_repetition": {"top_n_grams": [], "dup_n_grams": []},
    "c4": {"min_words_per_line": -1, "min_num_sentences": -1, "max_word_length": -1},
    "fineweb": {"new_line_ratio": float("inf")},
}
DEFAULT_LANGS = frozenset({None, "en"})


def profile_lang(lang: str | None) -> str | None:
    return LANGUAGE_ALIASES.get(lang, lang) if lang else None


def language_params(
    family: str, params_cls: type, overrides: dict[str, dict] | None = None
) -> dict[str, Any]:
    """{lang: params} of `family` for every language with a profile, `overrides[lang]` on top."""
    out = {}
    overrides = overrides or {}
    for lang in sorted(set(PROFILES) | set(overrides)):
        values = {**PROFILES.get(lang, {}).get(family, {}), **(overrides.get(lang) or {})}
        try:
            out[lang] = from_dict(params_cls, values, f"languages.{lang}.{family}")
        except ConfigError as e:
            raise ValueError(str(e)) from None
    return out


def generic_params(family: str, params: Any) -> Any:
    """`params` with the rules that need words switched off."""
    return dataclasses.replace(params, **GENERIC[family])


class LanguageParams:
    """The parameters of one family per document language (built once per filter)."""

    def __init__(self, family: str, params: Any, by_lang: dict[str, Any] | None = None) -> None:
        self.default = params
        self.by_lang = by_lang if by_lang is not None else language_params(family, type(params))
        self.generic = generic_params(family, params)

    def get(self, lang: str | None) -> Any:
        if lang in DEFAULT_LANGS:
            return self.default
        found = self.by_lang.get(profile_lang(lang))
        return found if found is not None else self.generic

"""ChunkEncoder on Chinese and Japanese text (issue 15): the ids of tokenizers, from chunks that are
cut inside whitespace-free runs only where tokenizers' byte-level split cuts too.

Real text: bash(1) of Debian's manpages-zh (zh_CN, zh_TW) and manpages-ja, false(1) of manpages-ja.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tokenizers import Tokenizer, pre_tokenizers

import curate.tokenization.chunks as tokenizer_mod
import curate.tokenization.pieces as pieces_mod
from curate.tokenization.bpe import EOT, load_tokenizer, save_tokenizer, train_tokenizer
from curate.tokenization.chunks import CharCheck, ChunkEncoder, chunk_pattern
from curate.tokenization.encode import _arrow, _arrow_strings, _numpy, encode_part
from tests.curate.test_cjk import JA_PAGE, ZH_PAGE
from tests.curate.test_tokenizer import DTYPE, TRICKY, ids_of, reference

ROOT = Path(__file__).resolve().parents[2]

ZH_TW_PAGE = """Bash 是一個與 sh 相容的命令解釋程式，可以執行從標準輸入或者檔案中讀取的命令。 Bash 也整合了 Korn 和 C Shell (ksh 和 csh) 中的優秀特性。
Bash 的目標是成為遵循 IEEE POSIX Shell and Tools specification (IEEE Working Group 1003.2，可移植作業系統規約： shell 和工具) 的實現。
除了在 set 內建命令的文件中講述的單字元選項 (option) 之外，bash 在啟動時還解釋下列選項。
-c string 如果有 -c 選項，那麼命令將從 string 中讀取。如果 string 後面有引數 (argument)，它們將用於給位置引數 (positional parameter，以 $0 起始) 賦值。
-i        如果有 -i 選項，shell 將互動地執行 ( interactive )。
-r        如果有 -r 選項，shell 成為受限的 ( restricted ) (參見下面的 受限的shell(RESTRICTED SHELL) 章節)。"""

JA_FALSE = """名前
false - 何もせず、失敗で終了する

書式
false [コマンドライン引数は無視されます]
false OPTION

説明
終了コードは失敗になります。

--help 使い方を表示して終了する

注意: 使用しているシェルによっては組み込みコマンドとして false を持っている 場合があり、通常はここで説明しているバージョンより優先的に使用されます。 シェルの文書を参照してオプションなどの詳細を確認してください。

GNU coreutils のオンラインヘルプ: <https://www.gnu.org/software/coreutils/> 翻訳に関するバグは <https://translationproject.org/team/ja.html> に連絡してください。 詳細な文書 <https://www.gnu.org/software/coreutils/false> (ローカルでは info '(coreutils) false invocation' で参照可能)。

作者
作者 Jim Meyering。

著作権
Copyright © 2020 Free Software Foundation, Inc. ライセンス GPLv3+: GNU GPL version 3 or later"""

# Chinese prose with code and English identifiers, full-width forms, CJK numerals and symbols,
# apostrophes and characters outside the basic plane next to Han (no cut may be made there).
MIXED = [
    "安装：`pip install -e .[dev]`，然后运行 `llmcli tokenize --input data/*.parquet`。\n"
    "```python\nx = {'键': [1, 2]}  # 注释：it's fine\nprint(f\"{x['键']}个\")\n```\n第3章，共12节。",
    "ＡＢＣ１２３！？（全角）\u3000ｶﾀｶﾅ\u3000①②③ ⅰⅱ 〇一二三 ㈱ 〜ー・ｰﾞﾟ「引用」『書名』【注】",
    "中'文 x's中 中's 日本'語'' 'ｓ ’s 漢\U00020000字 𠀀𠀁 a\U0001f600中 中😀。 👍🏽好",
    "か\u3099き\u309aく ｶﾞ e\u0301中\u0301 한국어 텍스트와 中文 混合 ㄅㄆㄇ ꀀꀁ",
    "価格は¥1,000（税込）、約3.5㎏、第２版、2024年12月1日。URL: https://例え.jp/パス?q=検索#節",
]
PAGES = [ZH_PAGE, JA_PAGE, ZH_TW_PAGE, JA_FALSE]


def cjk_texts(n: int = 200, seed: int = 0) -> list[str]:
    """Lines of the real pages, recombined, plus the mixed and tricky texts."""
    rng = random.Random(seed)
    lines = [line for page in PAGES + MIXED for line in page.splitlines() if line]
    out = ["".join(rng.sample(lines, rng.randint(1, 6))) for _ in range(n)]
    out += ["\n".join(rng.sample(lines, rng.randint(1, 6))) for _ in range(n)]
    return out + PAGES + MIXED + TRICKY


@pytest.fixture(scope="module")
def cjk_tok() -> Tokenizer:
    """A BPE trained on the CJK pages: merges inside Han and Kana runs, as a real corpus's has."""
    return train_tokenizer(iter(cjk_texts(100, seed=1)), vocab_size=1500)


def piece_ends(text: str) -> set[int]:
    pre = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    return {end for _, (_, end) in pre.pre_tokenize_str(text)}


def test_every_cut_is_one_the_byte_level_split_makes_too() -> None:
    rng = random.Random(3)
    alphabet = "中文日本語のテキストカタカナ，。、！？「」（）１２３123abc '’\n\u3000😀𠀀\u3099"
    randoms = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60))) for _ in range(500)]
    for text in cjk_texts(50) + randoms:
        chunks = chunk_pattern().findall(text)
        assert "".join(chunks) == text
        ends = np.cumsum([len(c) for c in chunks]).tolist()
        assert set(ends) <= piece_ends(text), text


def test_chinese_and_japanese_runs_are_cut_where_letters_numbers_and_punctuation_meet() -> None:
    assert chunk_pattern().findall("第3章，共12节。") == ["第", "3", "章", "，", "共", "12", "节", "。"]
    assert chunk_pattern().findall("「引用」のテキスト、カタカナ123と漢字！") == [
        "「",
        "引用",
        "」",
        "のテキスト",
        "、",
        "カタカナ",
        "123",
        "と漢字",
        "！",
    ]
    # no cut after an apostrophe ('s takes the letters after it), none next to a character
    # outside the basic plane: the rest of the whitespace-free run stays whole
    assert chunk_pattern().findall("中'文字。") == ["中", "'文字。"]
    assert chunk_pattern().findall("漢\U00020000字，好 文") == ["漢\U00020000字，好", " 文"]
    whitespace_cut = re.findall(r"\s*\S+|\s+", ZH_PAGE)
    assert len(chunk_pattern().findall(ZH_PAGE)) > 1.5 * len(whitespace_cut)


def test_ids_equal_tokenizers_on_real_chinese_and_japanese_cold_warm_and_reset(
    cjk_tok: Tokenizer,
) -> None:
    texts = cjk_texts()
    expected = reference(cjk_tok, texts)
    enc = ChunkEncoder(cjk_tok, DTYPE)
    assert enc.chunked
    assert ids_of(enc.encode(texts)) == expected
    assert ids_of(enc.encode(texts[::-1])) == expected[::-1]  # warm
    small = ChunkEncoder(cjk_tok, DTYPE, max_chunks=50)
    for lo in range(0, len(texts), 11):
        assert ids_of(small.encode(texts[lo : lo + 11])) == expected[lo : lo + 11]
    for text in PAGES:  # one text at a time, a fresh cache
        assert ids_of(ChunkEncoder(cjk_tok, DTYPE).encode([text])) == reference(cjk_tok, [text])


def test_ids_equal_tokenizers_with_a_tokenizer_not_trained_on_cjk() -> None:
    english = train_tokenizer(iter(TRICKY * 5 + [t for t in MIXED if t.isascii()]), vocab_size=400)
    texts = cjk_texts(60, seed=5)
    assert ids_of(ChunkEncoder(english, DTYPE).encode(texts)) == reference(english, texts)


def test_character_classes_are_tokenizers_own_over_the_basic_plane() -> None:
    bmp = "".join(chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF)
    bad = CharCheck().disagreeing(bmp)
    # Only characters Python's Unicode tables do not know yet (newer than its unicodedata), and
    # a text holding one goes to tokenizers whole.
    assert all(unicodedata.category(c) == "Cn" for c in bad), sorted(bad)
    assert len(bad) < 50


def test_the_batched_class_probe_is_the_one_character_split() -> None:
    # tokenizers' class of c, one character at a time: which of "a" + c, "1" + c, "!" + c is one
    # piece. The batched probe must give the same for every character of the basic plane and a
    # sample beyond it (unassigned, private use, emoji, supplementary ideographs).
    pre = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)

    def alone(c: str) -> str:
        one = [len(pre.pre_tokenize_str(x + c)) == 1 for x in "a1!"]
        return "L" if one[0] else "N" if one[1] else "O" if one[2] else "W"

    chars = [chr(c) for c in [*range(0xD800), *range(0xE000, 0x10000), *range(0x10000, 0x110000, 97)]]
    assert CharCheck().tokenizers_class(chars) == [alone(c) for c in chars]


def test_a_class_the_cut_misjudges_sends_its_text_to_tokenizers_whole(
    cjk_tok: Tokenizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A cut that takes katakana for punctuation would split runs tokenizers keeps whole ("のテ");
    # the per-character check must catch it, and the ids must not change.
    def char_class(c: str, real=pieces_mod._char_class) -> str:
        return "O" if "\u30a0" <= c <= "\u30ff" else real(c)

    katakana_cut = re.compile(r"[\u30a0-\u30ff]+|[^\u30a0-\u30ff]+")
    monkeypatch.setattr(pieces_mod, "_char_class", char_class)
    monkeypatch.setattr(tokenizer_mod, "chunk_pattern", lambda: katakana_cut)
    texts = [JA_PAGE, "のテキスト", ZH_PAGE, "漢字だけ"]
    enc = ChunkEncoder(cjk_tok, DTYPE)
    assert enc.chunked
    assert ids_of(enc.encode(texts)) == reference(cjk_tok, texts)
    assert not any(re.search("[\u30a0-\u30ff]", c) for c in enc._ids)
    assert "漢字だけ" in enc._ids


def test_encode_part_on_cjk_parquet_holds_tokenizers_ids(cjk_tok: Tokenizer, tmp_path: Path) -> None:
    texts = cjk_texts(80, seed=7)
    path = tmp_path / "zh.parquet"
    pq.write_table(pa.table({"text": texts, "lang": ["zh"] * len(texts)}), path, row_group_size=64)
    eot = cjk_tok.token_to_id(EOT)
    res = encode_part(cjk_tok, eot, path, tmp_path / "part", seed=0, val_fraction=0.2, test_fraction=0.1)
    docs = pq.read_table(res.files["docs.parquet"]).to_pylist()
    expected = reference(cjk_tok, texts)
    for s, split in enumerate(("train", "val", "test")):
        stream = np.fromfile(res.files[f"{split}.tok"], DTYPE).tolist()
        assert stream == [x for d in docs if d["split"] == s for x in [eot, *expected[d["row"]]]]
    assert [d["id"] for d in docs] == [f"zh.parquet:{d['row']}" for d in docs]
    assert {d["lang"] for d in docs} == {"zh"}


def test_arrow_columns_built_from_buffers() -> None:
    assert _arrow(np.array([True, False] * 9)).to_pylist() == [True, False] * 9
    assert _arrow(np.arange(10, dtype=np.int64)[::3]).to_pylist() == [0, 3, 6, 9]
    assert _arrow(np.array([1, 2], np.int8)).type == pa.int8()
    assert _arrow_strings(["a", "", "日本語", "😀"]).to_pylist() == ["a", "", "日本語", "😀"]
    assert _arrow_strings([]).to_pylist() == []
    col = pa.chunked_array([_arrow(np.arange(5, dtype=np.int64)), _arrow(np.arange(3, dtype=np.int64))])
    assert _numpy(col).tolist() == [0, 1, 2, 3, 4, 0, 1, 2]
    assert _numpy(col.slice(3, 3)).tolist() == [3, 4, 0]
    assert _numpy(pa.chunked_array([pa.array([1, None], pa.int32())])).tolist()[0] == 1


def test_a_tokenizer_file_is_loaded_once_until_it_changes(cjk_tok: Tokenizer, tmp_path: Path) -> None:
    path = tmp_path / "tokenizer.json"
    save_tokenizer(cjk_tok, path, {"made": "here"})
    assert load_tokenizer(path) is cjk_tok  # as saved: no reload
    other = train_tokenizer(iter(PAGES), vocab_size=300)
    path.write_text(other.to_str(), encoding="utf-8")  # rewritten in place
    again = load_tokenizer(path)
    assert again is not cjk_tok and again.get_vocab_size() == other.get_vocab_size()
    assert load_tokenizer(path) is again


def test_llmcli_tokenize_imports_no_other_stage_and_not_pandas(tmp_path: Path) -> None:
    """Start-up is a large part of a short `llmcli tokenize` run: it imports the tokenize stage
    only, and nothing of its path makes pyarrow import pandas (curate.tokenization.encode._arrow)."""
    inp = tmp_path / "in"
    inp.mkdir()
    pq.write_table(pa.table({"id": ["a", "b"], "text": [ZH_PAGE, JA_PAGE]}), inp / "part-00000.parquet")
    code = (
        "import sys\nfrom cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "print(sorted(m for m in sys.modules if m == 'pandas' or m.startswith(('curate.filters', "
        "'curate.dedup', 'curate.decontam', 'curate.pii', 'curate.stages.'))))"
    )
    args = ["tokenize", "--input", str(inp), "--out", str(tmp_path / "out"), "--vocab-size", "300"]
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "['curate.stages.tokenize']"

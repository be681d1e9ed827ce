"""ChunkEncoder: exactly the ids of `Tokenizer.encode`, whatever the text, the cache state or the tokenizer."""

from __future__ import annotations

import random
import re
import unicodedata
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tokenizers import Tokenizer, normalizers, pre_tokenizers

import curate.tokenization.chunks as tokenizer_mod
import curate.tokenization.pieces as pieces_mod
from curate.tokenization import unicode_classes
from curate.tokenization.bpe import EOT, train_tokenizer
from curate.tokenization.chunks import ChunkEncoder
from curate.tokenization.encode import _encoder, encode_part
from curate.tokenization.learner import SEPARATOR, ChunkLearner
from curate.tokenization.pieces import (
    SPACE,
    CharCheck,
    byte_level_table,
    chunk_pattern,
    map_bytes,
    plain_byte_level,
)
from tests.warcs import PARAGRAPHS

DTYPE = np.dtype("<u2")
# Whitespace of each kind tokenizers knows (some of U+2000..U+200A), then what only Python calls so.
SPACES = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2005\u200a\u2028\u2029\u202f\u205f\u3000\x1c\x1d\x1e\x1f"
TRICKY = [
    "",
    " ",
    "\n\n\n",
    "  leading spaces and trailing  ",
    "Windows\r\nline\r\nends\tand\ttabs \t \n  \r\n\n   x",
    "a literal <|endoftext|> inside a page must stay text, and<|endoftext|>glued too",
    f"the separator {SEPARATOR} of new chunks{SEPARATOR}inside a text",
    "Crème brûlée, naïve café — “quotes” and ½ ﬁ ligature, e\u0301 vs \u00e9",
    "日本語のテキストと emoji 😀👍🏽 and Ελληνικά, русский, العربية, हिन्दी",
    "they'll've 'twas I'M DON'T ' s '' it's 'S 're",
    "numbers 3.14159 1,000,000 ٣٤٥ ⅫⅣ ²³ 0x1F 1e-9",
    "x" * 300 + " " + "y" * 1000 + "\n" + "é" * 400,  # words longer than the cache keeps
    "https://example.com/a/b?c=d&e=f#g user@example.org C:\\path\\to\\file.txt",
    "def f(x):\n    return {'a': [1, 2, 3]}  # comment\n\n\tpass\n",
    "unassigned \U000107bb\U00010940 letters, private \ue000 use, noncharacter \ufffe\uffff",
    "".join(f"a{s}b{s}{s}c{s} {s}d {s}{s} e\n{s}" for s in SPACES),
]


def varied_texts(n: int = 300, seed: int = 0) -> list[str]:
    """Prose with every kind of whitespace run, punctuation and script mixed in."""
    rng = random.Random(seed)
    words = " ".join(PARAGRAPHS).split() + ["naïve", "日本", "😀", "٣٤", "<|endoftext|>", "it's"]
    seps = [" ", "  ", "\n", "\n\n", " \n", "\n ", "\t", "\u3000", "\xa0", "\x1c", ", ", ". ", ""]
    texts = []
    for _ in range(n):
        k = rng.randint(0, 80)
        texts.append("".join(rng.choice(words) + rng.choice(seps) for _ in range(k)))
    return texts + TRICKY


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return train_tokenizer(iter(varied_texts(200, seed=1)), vocab_size=700)


def reference(tok: Tokenizer, texts: list[str]) -> list[list[int]]:
    ref = Tokenizer.from_str(tok.to_str())
    ref.encode_special_tokens = True
    return [ref.encode(t, add_special_tokens=False).ids for t in texts]


def ids_of(encoded: list[bytes]) -> list[list[int]]:
    return [np.frombuffer(b, DTYPE).tolist() for b in encoded]


def test_ids_equal_tokenizers_cold_warm_and_after_the_cache_starts_over(tok: Tokenizer) -> None:
    texts = varied_texts()
    expected = reference(tok, texts)
    enc = ChunkEncoder(tok, DTYPE)
    assert enc.chunked
    assert ids_of(enc.encode(texts)) == expected  # cold: every chunk learned from tokenizers
    assert ids_of(enc.encode(texts)) == expected  # warm: every chunk from the cache
    assert ids_of(enc.encode(texts[::-1])) == expected[::-1]
    small = ChunkEncoder(tok, DTYPE, max_chunks=10)  # the cache starts over before most batches
    for lo in range(0, len(texts), 7):
        assert ids_of(small.encode(texts[lo : lo + 7])) == expected[lo : lo + 7]
        assert len(small._ids) <= 10 + sum(len(chunk_pattern().findall(t)) for t in texts[lo : lo + 7])


def test_ids_equal_tokenizers_when_slices_overlap_with_learning(
    tok: Tokenizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small slices: each is cut while tokenizers learns the one before, whose new chunks the
    # next must neither learn again nor miss; a text whose chunks are all cached is filled in
    # at once, one that needs another slice's chunks waits for them.
    monkeypatch.setattr(tokenizer_mod, "SLICE_CHARS", 40)
    monkeypatch.setattr(tokenizer_mod, "PROBE", 2)
    planned: list[str] = []
    plan = tokenizer_mod.ChunkLearner.plan
    monkeypatch.setattr(
        tokenizer_mod.ChunkLearner, "plan", lambda self, c, *a: (planned.extend(c), plan(self, c, *a))[1]
    )
    texts = varied_texts(120, seed=5) + [f"w{i} shared words, shared again 日本語 {i % 3}" for i in range(30)]
    expected = reference(tok, texts)
    enc = ChunkEncoder(tok, DTYPE)
    planned.clear()  # SELF_TEST's
    assert ids_of(enc.encode(texts)) == expected
    assert len(planned) == len(set(planned))  # no chunk learned twice
    cold = len(planned)
    assert " shared" in planned and ids_of(enc.encode(texts[::-1])) == expected[::-1]
    relearned = planned[cold:]  # warm: nothing new, but the long chunks not kept
    assert relearned and all(len(c) > tokenizer_mod.MAX_CHUNK_CHARS for c in relearned)


def test_a_stream_of_batches_gives_each_batch_its_ids_in_order(
    tok: Tokenizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Slices run from one batch into the next; an empty batch and a cache that starts over
    # between batches (max_chunks) must not lose or misplace a text.
    monkeypatch.setattr(tokenizer_mod, "SLICE_CHARS", 60)
    texts = varied_texts(90, seed=9)
    batches = [texts[:7], [], texts[7:8], texts[8:50], [], texts[50:]]
    expected = reference(tok, texts)
    for max_chunks in (1 << 19, 40):
        enc = ChunkEncoder(tok, DTYPE, max_chunks=max_chunks)
        got = [ids_of(ids) for ids in enc.encode_stream(iter(batches))]
        assert [len(b) for b in got] == [len(b) for b in batches]
        assert [ids for b in got for ids in b] == expected


def test_slices_hold_every_text_once_the_first_smaller() -> None:
    texts = ["x" * n for n in [5, 5, 5, 30, 40, 50, 5, 200, 1]]
    for first in (None, 8):
        bounds = list(tokenizer_mod._slices(texts, 60, first))
        assert [i for lo, hi in bounds for i in range(lo, hi)] == list(range(len(texts)))
        assert all(lo < hi for lo, hi in bounds)
    assert list(tokenizer_mod._slices(texts, 60, 8))[0] == (0, 2)  # 10 characters: past 8
    assert list(tokenizer_mod._slices(texts, 60))[0] == (0, 5)  # 85: past 60


def test_groups_whose_separators_do_not_match_are_learned_chunk_by_chunk(tok: Tokenizer) -> None:
    enc = ChunkEncoder(tok, DTYPE)
    enc._learner._sep = -1  # no separator found in any group: the safe way for all of them
    texts = varied_texts(40, seed=11)
    assert ids_of(enc.encode(texts)) == reference(tok, texts)


def test_ids_equal_tokenizers_on_random_characters_from_every_plane(tok: Tokenizer) -> None:
    rng = random.Random(7)
    pieces = [*SPACES, "<|endoftext|>", SEPARATOR, "'s", "'ll", " the", "123", "..."]

    def char() -> str:
        kind = rng.random()
        if kind < 0.5:
            return rng.choice(pieces)
        if kind < 0.8:
            return chr(rng.randint(32, 0x2FFF))
        code = rng.randint(0, 0x10FFFF)  # assigned or not
        return chr(code) if not 0xD800 <= code <= 0xDFFF else "x"

    texts = ["".join(char() for _ in range(rng.randint(0, 120))) for _ in range(400)]
    assert ids_of(ChunkEncoder(tok, DTYPE).encode(texts)) == reference(tok, texts)


def test_long_chunks_are_encoded_but_not_kept(tok: Tokenizer) -> None:
    enc = ChunkEncoder(tok, DTYPE)
    long_word = "z" * (tokenizer_mod.MAX_CHUNK_CHARS + 1)
    assert ids_of(enc.encode([f"a {long_word} b"])) == reference(tok, [f"a {long_word} b"])
    assert " " + long_word not in enc._ids and " b" in enc._ids


def test_a_character_the_cut_misjudges_sends_its_text_to_tokenizers_whole(
    tok: Tokenizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Python's own \s also takes U+001C..U+001F for whitespace, which tokenizers does not: a cut
    # on it would be wrong. The check must catch it, and the ids must not change.
    monkeypatch.setattr(pieces_mod, "SPACE", re.compile(r"\s"))
    monkeypatch.setattr(tokenizer_mod, "chunk_pattern", lambda: re.compile(r"\s*\S+|\s+"))
    texts = ["file\x1csep x", "a \x1d b", "\x1e\x1f", "plain text", "x\x1c\ny"]
    enc = ChunkEncoder(tok, DTYPE)
    assert enc.chunked
    assert ids_of(enc.encode(texts)) == reference(tok, texts)
    assert "plain" in enc._ids and not any("\x1c" in c or "\x1d" in c for c in enc._ids)
    monkeypatch.setattr(tokenizer_mod, "SLICE_CHARS", 4)  # a slice a text: each sent whole on its own
    assert ids_of(ChunkEncoder(tok, DTYPE).encode(texts)) == reference(tok, texts)


def test_whitespace_set_is_tokenizers_own_over_the_basic_plane() -> None:
    bmp = "".join(chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF)
    assert CharCheck(classes=False).agrees(bmp)  # each character probed against tokenizers' split
    white_space = set("\t\n\x0b\x0c\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000")
    assert {c for c in bmp if SPACE.fullmatch(c)} == white_space | {chr(c) for c in range(0x2000, 0x200B)}


def test_the_character_scan_finds_what_a_fresh_check_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    # After its first text the check scans for characters outside those it knew when its regex
    # was built; one that disagrees (Python's \s takes U+001C, tokenizers does not) must still be
    # found in a text of known ones, and characters learned since must not be missed either.
    monkeypatch.setattr(pieces_mod, "SPACE", re.compile(r"\s"))
    check = CharCheck()
    texts = [
        "plain ascii, 中文。",
        "x\x1cy " + "known text " * 2000,  # long: the scan, not set(text), is what finds \x1c
        "新しい文字と\x1d" + "中文。" * 3000,
        "".join(chr(c) for c in range(0x3040, 0x30FF)) + "\x1c",  # many new at once: rebuilt
        "ａｂｃ" + "known text " * 50 + "\x1e",
    ]
    for i, text in enumerate(texts):
        assert check.disagreeing(text) == CharCheck().disagreeing(text), i
        assert check._outside is not None
    assert check.disagreeing(texts[1]) == {"\x1c"} and not check.disagreeing("known 中文 ぁ")


def test_the_written_out_letter_and_number_tables_are_unicodedatas() -> None:
    if unicodedata.unidata_version != unicode_classes.UNIDATA_VERSION:
        pytest.skip(f"this Python's Unicode is {unicodedata.unidata_version}: the tables are computed")
    assert unicode_classes.computed() == (unicode_classes.LETTERS, unicode_classes.NUMBERS)
    letters = {chr(c) for a, b in zip(*[iter(unicode_classes.LETTERS)] * 2) for c in range(a, b + 1)}
    assert "中" in letters and "a" in letters and "1" not in letters and len(letters) > 48000


def test_byte_level_table_maps_bytes_as_tokenizers_does() -> None:
    table = byte_level_table()
    assert table is not None and len(set(table)) == 256
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    for text in [*TRICKY, *varied_texts(50, seed=2), "".join(map(chr, range(1, 0x800)))]:
        assert map_bytes(text, table) == "".join(p for p, _ in byte_level.pre_tokenize_str(text))


def test_a_chunk_is_one_piece_of_the_byte_level_split(tok: Tokenizer) -> None:
    # Outside apostrophes and characters beyond the basic plane (taken whole), each chunk is a
    # piece of tokenizers' own split, whitespace runs included: so the learner can hand
    # tokenizers chunks it does not split again, nearly all of them.
    split = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    table = byte_level_table()
    plain = re.compile("['\U00010000-\U0010ffff]")
    for text in (plain.sub("·", t) for t in [*TRICKY, *varied_texts(200, seed=4)]):
        chunks = chunk_pattern().findall(text)
        assert [map_bytes(c, table) for c in chunks] == [p for p, _ in split.pre_tokenize_str(text)], text
    learner = ChunkLearner(tok)
    chunks = list(dict.fromkeys(c for t in varied_texts(100, seed=6) for c in chunk_pattern().findall(t)))
    plan = learner.plan(chunks)
    split_whole = [c for g in plan.groups[plan.single :] for c in g]  # apostrophes, astral characters
    assert split_whole == [c for c in chunks if plain.search(c)] and 0 < len(split_whole) < 0.1 * len(chunks)
    out: dict[str, bytes] = {}
    learner.collect(plan, learner.run(plan), DTYPE, out)
    assert ids_of([out[c] for c in chunks]) == reference(tok, chunks)


@pytest.mark.parametrize(
    "change",
    [
        lambda t: setattr(t, "normalizer", normalizers.NFKC()),
        lambda t: setattr(t, "pre_tokenizer", pre_tokenizers.ByteLevel(add_prefix_space=True)),
        lambda t: setattr(t, "pre_tokenizer", pre_tokenizers.Whitespace()),
        lambda t: t.add_tokens(["library", " the"]),  # added tokens that are not special split texts
        lambda t: t.enable_truncation(16),
    ],
)
def test_other_tokenizers_are_encoded_whole_with_the_same_ids(tok: Tokenizer, change) -> None:
    other = Tokenizer.from_str(tok.to_str())
    change(other)
    enc = ChunkEncoder(other, DTYPE)
    assert not plain_byte_level(other) and not enc.chunked
    texts = varied_texts(40)
    assert ids_of(enc.encode(texts)) == reference(other, texts)


@pytest.mark.parametrize("read_rows, with_ids", [(512, True), (16, True), (16, False)])
def test_encode_part_streams_hold_tokenizers_ids(
    tok: Tokenizer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, read_rows: int, with_ids: bool
) -> None:
    import curate.tokenization.encode as encode_mod

    monkeypatch.setattr(encode_mod, "READ_ROWS", read_rows)  # batches within and across row groups
    texts = varied_texts(120, seed=3)
    path = tmp_path / "in.parquet"
    columns = {"id": [f"d{i}" for i in range(len(texts))]} if with_ids else {}
    pq.write_table(pa.table({**columns, "text": texts}), path, row_group_size=50)
    eot = tok.token_to_id(EOT)
    res = encode_part(tok, eot, path, tmp_path / "part", seed=0, val_fraction=0.3)
    docs = pq.read_table(res.files["docs.parquet"]).to_pylist()
    expected = reference(tok, texts)
    for s, split in enumerate(("train", "val")):
        stream = np.fromfile(res.files[f"{split}.tok"], DTYPE).tolist()
        want = [x for d in docs if d["split"] == s for x in [eot, *expected[d["row"]]]]
        assert stream == want
    assert res.empty_rows == [i for i, ids in enumerate(expected) if not ids]
    assert all(d["id"] == (f"d{d['row']}" if with_ids else f"in.parquet:{d['row']}") for d in docs)
    assert len(docs) == len(texts) - len(res.empty_rows)


def test_one_encoder_per_tokenizer_content_across_files(tok: Tokenizer) -> None:
    again = Tokenizer.from_str(tok.to_str())
    assert _encoder(tok, DTYPE) is _encoder(again, DTYPE)
    other = Tokenizer.from_str(tok.to_str())
    other.add_special_tokens(["<|pad|>"])
    assert _encoder(other, DTYPE) is not _encoder(tok, DTYPE)

"""Byte-level BPE: train one on a sample of documents, or load an existing `tokenizer.json`.

The tokenizer has no normalizer and a byte-level pre-tokenizer and decoder, so every string
encodes to bytes and decodes back to exactly itself (no Unicode normalisation, no added prefix
space). The file is the Hugging Face tokenizers format: it loads in `tokenizers.Tokenizer` and in
`transformers.PreTrainedTokenizerFast(tokenizer_file=...)`.

The training sample is a hash of (seed, document id) below a rate set from the corpus size, so
it is spread over every shard and is the same on every run whatever the shard layout.

`ChunkEncoder` encodes many texts to exactly the ids of `Tokenizer.encode`, faster (see there).
"""

from __future__ import annotations

import itertools
import json
import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import xxhash
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers

from curate.manifest import atomic_write_text

EOT = "<|endoftext|>"


@dataclass(frozen=True)
class TrainingSample:
    """How many documents, and at most how many UTF-8 bytes of text, to train the BPE on."""

    docs: int
    bytes: int
    seed: int


def unit(seed: int, doc_id: str) -> float:
    """A uniform number in [0, 1) fixed by (seed, document id)."""
    return xxhash.xxh64_intdigest(doc_id, seed=seed) / 2.0**64


def training_texts(paths: Sequence[str | Path], spec: TrainingSample) -> Iterator[str]:
    """Stream the training sample from Parquet shards (columns `id` and `text`), row group by row group."""
    total = sum(pq.ParquetFile(p).metadata.num_rows for p in paths)
    rate = 1.0 if total <= spec.docs else spec.docs / total
    budget = spec.bytes
    for p in paths:
        pf = pq.ParquetFile(p)
        has_id = "id" in pf.schema_arrow.names
        row = 0
        for g in range(pf.num_row_groups):
            try:
                table = pf.read_row_group(g, columns=["id", "text"] if has_id else ["text"])
            except (OSError, ValueError) as e:  # pyarrow's read errors do not name the file
                raise ValueError(f"{p}: row group {g} cannot be read ({e})") from None
            ids = table.column("id").to_pylist() if has_id else None
            for i, text in enumerate(table.column("text").to_pylist()):
                doc_id = ids[i] if ids is not None else f"{Path(p).name}:{row + i}"
                if not text or (rate < 1.0 and unit(spec.seed, doc_id) >= rate):
                    continue
                budget -= len(text.encode("utf-8"))
                if budget < 0:
                    return
                yield text
            row += table.num_rows


def new_tokenizer() -> Tokenizer:
    """An empty byte-level BPE that round-trips any text."""
    tok = Tokenizer(models.BPE())
    tok.normalizer = None  # explicit: nothing may alter the text before it is split
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    return tok


def train_tokenizer(
    texts: Iterator[str], vocab_size: int, min_frequency: int = 2, special_tokens: Sequence[str] = (EOT,)
) -> Tokenizer:
    """Train a byte-level BPE of at most `vocab_size` tokens (the 256 bytes and the specials included)."""
    tok = new_tokenizer()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(special_tokens),
        # Every byte is in the vocabulary even if the sample lacks it: no text is ever unencodable.
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def load_tokenizer(path: str | Path, eot: str = EOT) -> Tokenizer:
    """Load a tokenizer.json; it must know the end-of-text token that separates documents."""
    path = Path(path)
    try:
        tok = Tokenizer.from_file(str(path))
    except Exception as e:  # tokenizers raises a bare Exception on a bad file
        raise ValueError(f"{path}: not a tokenizers tokenizer.json ({e})") from None
    if tok.token_to_id(eot) is None:
        raise ValueError(f"{path}: the tokenizer has no {eot!r} token to separate documents")
    return tok


def eot_id(tok: Tokenizer, eot: str = EOT) -> int:
    i = tok.token_to_id(eot)
    if i is None:
        raise ValueError(f"the tokenizer has no {eot!r} token")
    return i


def save_tokenizer(tok: Tokenizer, path: Path, made_from: dict) -> None:
    """Write tokenizer.json and, beside it, what it was made from (for reuse on resume) and the
    vocabulary size it has: a small corpus fills fewer ids than `vocab_size` asks for."""
    atomic_write_text(path, tok.to_str(pretty=True))
    meta = {"made_from": made_from, "vocab_size": tok.get_vocab_size()}
    atomic_write_text(path.with_name(path.stem + ".meta.json"), json.dumps(meta, indent=1, sort_keys=True))


def reusable(path: Path, made_from: dict) -> bool:
    """A tokenizer.json made earlier from the same config (a resumed run does not retrain)."""
    meta_path = path.with_name(path.stem + ".meta.json")
    if not (path.is_file() and meta_path.is_file()):
        return False
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except ValueError:
        return False
    return isinstance(meta, dict) and meta.get("made_from") == json.loads(json.dumps(made_from))


# --------------------------------------------------------------------------- fast encoding

# Unicode White_Space: what `\s` matches in tokenizers' byte-level split (Oniguruma). Python's
# own `\s` differs (it adds U+001C..U+001F), hence the explicit set.
WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
SPACE = re.compile(f"[{WHITESPACE}]")
# A chunk: whitespace then non-whitespace, cut where non-whitespace meets whitespace (and the
# trailing whitespace of a text).
CHUNK = re.compile(f"[{WHITESPACE}]*[^{WHITESPACE}]+|[{WHITESPACE}]+")
MAX_CHUNKS = 1 << 19  # cached chunks (~80 MB); past this the cache starts over
MAX_CHUNK_CHARS = 256  # longer chunks (rarely repeated) are not kept past their batch
SEPARATOR = "\ufdd0"  # a Unicode noncharacter: the special token new chunks are joined with
LEARN_GROUP = 256  # new chunks per text handed to tokenizers
# Texts whose chunked encoding must equal tokenizers' for the shortcut to be used at all: runs of
# mixed whitespace, contractions, punctuation, digits, non-Latin scripts, a literal special token.
SELF_TEST = [
    "Hello world!  It's 2024;\tx = y\r\n\n   - item\n \n\nEnd. ",
    "naïve café — “quotes” ½ ﬁ 日本語 😀👍🏽 e\u0301 \u00a0nbsp\u3000ideographic\u2028line",
    "they'll've 'twas I'M ' s '' --x-- a.b,c;d\x1cfile\x1dsep \x85next <|endoftext|>",
    " \t leading and trailing \n\n ",
]


class ChunkEncoder:
    """Texts to the ids of `tok.encode(text, add_special_tokens=False)` with `encode_special_tokens`.

    The same ids, faster: tokenizers spends most of its time not in BPE but in per-text and
    per-piece bookkeeping (alignments, offsets, token strings), and text repeats itself. Its
    byte-level pre-tokenizer (GPT-2's regex) never puts a non-whitespace character and a
    following whitespace character in one piece, and BPE never merges across pieces; so a text's
    ids are, end to end, those of its chunks cut at each such place, each encoded alone (alone,
    a chunk splits as in the text: at its end the regex only ever looks for more of a class
    that the next character, whitespace, is not). This encoder cuts texts into chunks (CHUNK),
    looks them up in a bounded cache (chunk -> ids) and has tokenizers encode the chunks it has
    not seen, so every id still comes from tokenizers.

    Only the cut is ours, and it relies on the whitespace set, checked against tokenizers one
    character at a time (`WhitespaceCheck`): a text with a character where the two disagree goes
    to tokenizers whole, as do all texts if the tokenizer is not a plain byte-level BPE
    (`plain_byte_level`) or the shortcut fails SELF_TEST. Not thread-safe: one per thread.
    """

    def __init__(self, tok: Tokenizer, dtype: np.dtype, max_chunks: int = MAX_CHUNKS) -> None:
        # A literal "<|endoftext|>" inside a document is text, not a document boundary (like
        # tiktoken's encode_ordinary); otherwise a page could forge boundaries in the stream.
        tok.encode_special_tokens = True
        self.tok = tok
        self.dtype = np.dtype(dtype)
        self.max_chunks = max_chunks
        self._ids: dict[str, bytes] = {}  # chunk -> its ids, as the bytes of a `dtype` array
        self._check = WhitespaceCheck() if plain_byte_level(tok) else None
        self._learner = ChunkLearner(tok) if self._check else None
        if self._check and self.encode(SELF_TEST) != self.encode_whole(SELF_TEST):
            msg = "tokenizers no longer splits as ChunkEncoder assumes: encoding texts whole (slower)"
            warnings.warn(msg, stacklevel=2)
            self._check = None
        self._ids.clear()

    @property
    def chunked(self) -> bool:
        """Whether texts are encoded chunk by chunk (else all go to tokenizers whole)."""
        return self._check is not None

    def encode(self, texts: Sequence[str]) -> list[bytes]:
        """Each text's ids, as the bytes of a `dtype` array."""
        if self._check is None:
            return self.encode_whole(texts)
        if len(self._ids) > self.max_chunks:
            self._ids.clear()  # flat memory; the common chunks are back within a batch
        out: list[bytes] = [b""] * len(texts)
        pending: list[tuple[int, list[str]]] = []  # texts with chunks not in the cache
        unseen: set[str] = set()
        for i, text in enumerate(texts):
            chunks = CHUNK.findall(text)
            try:
                out[i] = b"".join(map(self._ids.__getitem__, chunks))
            except KeyError:
                pending.append((i, chunks))
                unseen |= set(chunks).difference(self._ids)  # in C: probes the dict per chunk
        if pending:
            self._finish(texts, pending, unseen, out)
        return out

    def _finish(
        self, texts: Sequence[str], pending: list[tuple[int, list[str]]], unseen: set[str], out: list[bytes]
    ) -> None:
        """Encode the unseen chunks, then the texts that have them."""
        doubtful = {c for c in unseen if not self._check.agrees(c)}
        new = [c for c in unseen if c not in doubtful]
        self._ids.update(self._learner.encode(new, self.dtype))
        whole = []  # texts with a character the cut may misjudge: tokenizers splits them
        for i, chunks in pending:
            if doubtful and not doubtful.isdisjoint(chunks):
                whole.append(i)
            else:
                out[i] = b"".join(map(self._ids.__getitem__, chunks))
        for i, ids in zip(whole, self.encode_whole([texts[i] for i in whole])):
            out[i] = ids
        for c in new:
            if len(c) > MAX_CHUNK_CHARS:
                del self._ids[c]

    def encode_whole(self, texts: Sequence[str]) -> list[bytes]:
        """tokenizers' own encoding of each text (its ids as `dtype` bytes)."""
        return _as_bytes(self.tok.encode_batch_fast(list(texts), add_special_tokens=False), self.dtype)


class ChunkLearner:
    """tokenizers' encoding of many short texts (new chunks), without its per-text overhead.

    Encoding each chunk as a text of its own costs tokenizers as much as a few hundred
    characters of a long text. So chunks are joined, LEARN_GROUP at a time, by SEPARATOR, added
    as a special token to a copy of the tokenizer: tokenizers cuts a text at its special tokens
    before anything else, so each chunk is encoded as if alone, and the separator's id, which
    BPE cannot produce, marks where the chunks' ids part. Chunks holding the text of a special
    token (which must stay text) are encoded alone.
    """

    def __init__(self, tok: Tokenizer) -> None:
        self.tok = tok
        self._joined = Tokenizer.from_str(tok.to_str())  # encode_special_tokens off: a copy
        self._joined.add_special_tokens([AddedToken(SEPARATOR, special=True, normalized=False)])
        self._sep = self._joined.token_to_id(SEPARATOR)
        specials = [t["content"] for t in json.loads(tok.to_str()).get("added_tokens") or []]
        self._special = re.compile("|".join(map(re.escape, [SEPARATOR, *specials])))

    def encode(self, chunks: Sequence[str], dtype: np.dtype) -> dict[str, bytes]:
        """Each chunk's ids, as the bytes of a `dtype` array."""
        size = np.dtype(dtype).itemsize
        joinable, alone = [], []
        for c in chunks:
            (alone if self._special.search(c) else joinable).append(c)
        groups = [joinable[i : i + LEARN_GROUP] for i in range(0, len(joinable), LEARN_GROUP)]
        encs = self._joined.encode_batch_fast([SEPARATOR.join(g) for g in groups], add_special_tokens=False)
        out: dict[str, bytes] = {}
        for group, enc in zip(groups, encs):
            ids = np.array(enc.ids, np.int64)
            cuts = np.flatnonzero(ids == self._sep)
            if len(cuts) != len(group) - 1:  # never seen; the safe way then
                alone += group
                continue
            raw = ids.astype(dtype).tobytes()
            starts, ends = [0, *(cuts + 1).tolist()], [*cuts.tolist(), len(ids)]
            out.update(zip(group, [raw[a * size : b * size] for a, b in zip(starts, ends)]))
        out.update(zip(alone, _as_bytes(self.tok.encode_batch_fast(alone, add_special_tokens=False), dtype)))
        return out


def _as_bytes(encodings: list, dtype: np.dtype) -> list[bytes]:
    """The ids of each encoding as the bytes of a `dtype` array."""
    ids = [e.ids for e in encodings]
    flat = np.fromiter(itertools.chain.from_iterable(ids), dtype).tobytes()
    ends = np.cumsum([len(i) for i in ids]).tolist()
    size = np.dtype(dtype).itemsize
    return [flat[a * size : b * size] for a, b in zip([0, *ends], ends)]


def plain_byte_level(tok: Tokenizer) -> bool:
    """A tokenizer whose encoding is BPE over the byte-level regex split alone (`new_tokenizer`'s)."""
    spec = json.loads(tok.to_str())
    pre, model = spec.get("pre_tokenizer") or {}, spec.get("model") or {}
    return (
        spec.get("normalizer") is None
        and pre.get("type") == "ByteLevel"
        and pre.get("use_regex", True)
        and not pre.get("add_prefix_space", True)
        and model.get("type") == "BPE"
        and model.get("dropout") is None
        and spec.get("truncation") is None
        and spec.get("padding") is None
        # encode_special_tokens makes special tokens plain text; other added tokens would split.
        and all(t.get("special") for t in spec.get("added_tokens") or [])
    )


class WhitespaceCheck:
    """Characters that are whitespace for CHUNK exactly when they are for tokenizers' split.

    A character c is whitespace to tokenizers if "a" + c, "1" + c and "!" + c all split in two:
    otherwise c is a letter, a number or other, and joins the piece of one of them.
    """

    def __init__(self) -> None:
        self._pre = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        self._known: dict[str, bool] = {}
        self._ok: set[str] = set()  # characters known to agree
        self._ascii = all(self._agrees(chr(c)) for c in range(128))

    def agrees(self, chunk: str) -> bool:
        if self._ascii and chunk.isascii():
            return True
        # Chinese / Japanese chunks are whole clauses of non-ASCII characters: one C-level subset
        # test instead of a Python call per character (a quarter of the encoder's time on CJK).
        chars = set(chunk)
        return chars <= self._ok or all(self._agrees(c) for c in chars)

    def _agrees(self, c: str) -> bool:
        ok = self._known.get(c)
        if ok is None:
            theirs = all(len(self._pre.pre_tokenize_str(x + c)) == 2 for x in "a1!")
            ok = self._known[c] = theirs == (SPACE.fullmatch(c) is not None)
            if ok:
                self._ok.add(c)
        return ok

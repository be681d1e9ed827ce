"""Byte-level BPE: train one on a sample of documents, or load an existing `tokenizer.json`.

The tokenizer has no normalizer and a byte-level pre-tokenizer and decoder, so every string
encodes to bytes and decodes back to exactly itself (no Unicode normalisation, no added prefix
space). The file is the Hugging Face tokenizers format: it loads in `tokenizers.Tokenizer` and in
`transformers.PreTrainedTokenizerFast(tokenizer_file=...)`.

The training sample is a hash of (seed, document id) below a rate set from the corpus size, so
it is spread over every shard and is the same on every run whatever the shard layout.

`curate.tokenization.chunks.ChunkEncoder` encodes many texts to exactly the ids of
`Tokenizer.encode`, faster.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import xxhash
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

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


# Tokenizers loaded in this process, by file (path, inode, size, mtime): `llmcli tokenize` loads
# the same tokenizer.json in prepare, per shard and in pack, ~0.1 s each for a 32k BPE.
_LOADED: dict[tuple, Tokenizer] = {}


def _file_key(path: Path) -> tuple:
    st = path.stat()
    return (str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns)


def load_tokenizer(path: str | Path, eot: str = EOT) -> Tokenizer:
    """Load a tokenizer.json; it must know the end-of-text token that separates documents.

    A file loaded (or saved by save_tokenizer) before in this process, unchanged since, gives the
    same Tokenizer object: callers must not change it (ChunkEncoder only sets
    `encode_special_tokens`, which encoding with it needs anyway).
    """
    path = Path(path)
    try:
        key = _file_key(path)
    except OSError:
        key = None
    tok = _LOADED.get(key) if key else None
    if tok is None:
        try:
            tok = Tokenizer.from_file(str(path))
        except Exception as e:  # tokenizers raises a bare Exception on a bad file
            raise ValueError(f"{path}: not a tokenizers tokenizer.json ({e})") from None
        if key:
            _LOADED.clear()  # one at a time: a process uses one tokenizer
            _LOADED[key] = tok
    if tok.token_to_id(eot) is None:
        raise ValueError(f"{path}: the tokenizer has no {eot!r} token to separate documents")
    return tok


def eot_id(tok: Tokenizer, eot: str = EOT) -> int:
    i = tok.token_to_id(eot)
    if i is None:
        raise ValueError(f"the tokenizer has no {eot!r} token")
    return i


def save_tokenizer(tok: Tokenizer, path: Path, made_from: dict, source: Path | None = None) -> None:
    """Write tokenizer.json and, beside it, what it was made from (for reuse on resume) and the
    vocabulary size it has: a small corpus fills fewer ids than `vocab_size` asks for.

    `source`: the file `tok` was loaded from, copied as it is (its own bytes, and no ~40 ms of
    serialising a 32k BPE again)."""
    atomic_write_text(path, Path(source).read_text(encoding="utf-8") if source else tok.to_str(pretty=True))
    _LOADED.clear()
    _LOADED[_file_key(path)] = tok  # what load_tokenizer(path) would give (the same content)
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

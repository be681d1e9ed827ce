"""tokenizers' encoding of many new chunks at once, for ChunkEncoder's cache.

Encoding each chunk as a text of its own costs tokenizers as much as a few hundred characters of
a long text, so `ChunkLearner` joins them, and skips what tokenizers would only do again: the
byte-level split of chunks that are one piece of it already.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from tokenizers import AddedToken, Tokenizer

from curate.tokenization.pieces import ASTRAL, byte_level_table, map_bytes

SEPARATOR = "\ufdd0"  # a Unicode noncharacter: the special token new chunks are joined with
LEARN_GROUP = 256  # new chunks per text handed to tokenizers
# What marks a chunk of chunk_pattern's that may be more than one piece of the byte-level split:
# an apostrophe (`'s`) or a character outside the basic plane, where it takes the run whole.
MULTI_PIECE = re.compile(f"['{ASTRAL}]")


@dataclass
class LearnPlan:
    """New chunks as ChunkLearner encodes them: joined in groups, or each alone."""

    groups: list[list[str]]  # LEARN_GROUP chunks each, joined by SEPARATOR
    single: int  # the first `single` groups hold single pieces: mapped, with no split
    alone: list[str]


class ChunkLearner:
    """tokenizers' encoding of many short texts (new chunks), without its per-text overhead.

    Chunks are joined, LEARN_GROUP at a time, by SEPARATOR, the only special token of a second
    tokenizer over the same model (shared, not copied) and the same split: tokenizers cuts a
    text at its special tokens before anything else, so each chunk is encoded as if alone, and
    the separator's id, which BPE cannot produce, marks where the chunks' ids part. Chunks
    holding the text of a special token (which must stay text) or the separator are encoded
    alone. Nearly every chunk is one piece of the byte-level split (chunk_pattern's): the split
    would only find that again and map the piece's bytes to the characters the vocabulary is
    written in. So those chunks are mapped here (`codecs.charmap_decode`, C), and their groups
    go to a third tokenizer with no split at all, its separator the mapped one (a quarter less
    of tokenizers' time on Chinese text; measured 2026-12-02). The others (an apostrophe, a
    character outside the basic plane) and all chunks with `pieces=False` (a cut other than
    chunk_pattern's) go through the split.
    """

    def __init__(self, tok: Tokenizer, pieces: bool = True) -> None:
        self.tok = tok
        self._joined = Tokenizer(tok.model)  # encode_special_tokens off: the separator splits
        self._joined.pre_tokenizer = tok.pre_tokenizer
        self._joined.add_special_tokens([AddedToken(SEPARATOR, special=True, normalized=False)])
        self._sep = self._joined.token_to_id(SEPARATOR)
        self._single: Tokenizer | None = None  # for single pieces, given as mapped bytes
        if pieces and (table := byte_level_table()) is not None:
            self._table, mapped_sep = table, map_bytes(SEPARATOR, table)
            self._single = Tokenizer(tok.model)  # no pre-tokenizer: all between separators is one word
            self._single.add_special_tokens([AddedToken(mapped_sep, special=True, normalized=False)])
            assert self._single.token_to_id(mapped_sep) == self._sep
        specials = [t.content for t in tok.get_added_tokens_decoder().values()]
        self._special = re.compile("|".join(map(re.escape, [SEPARATOR, *specials])))
        # A special token's text spanning two joined chunks cannot match: SEPARATOR is between.
        self._any_special = re.compile("|".join(map(re.escape, specials))) if specials else None
        assert not any(SEPARATOR in s for s in specials)

    def plan(self, chunks: Sequence[str], joined: str | None = None) -> LearnPlan:
        """The chunks in groups to encode joined, and those to encode alone. `joined`:
        SEPARATOR.join(chunks), if the caller has it."""
        everything = SEPARATOR.join(chunks) if joined is None else joined
        # One C-level scan for the rare chunk that must go alone.
        if everything.count(SEPARATOR) == max(len(chunks) - 1, 0) and not (
            self._any_special and self._any_special.search(everything)
        ):
            joinable, alone = chunks, []
        else:
            joinable, alone = [], []
            for c in chunks:
                (alone if self._special.search(c) else joinable).append(c)
            everything = SEPARATOR.join(joinable)
        single, split = _route(joinable, everything) if self._single is not None else ([], list(joinable))
        groups = [g[i : i + LEARN_GROUP] for g in (single, split) for i in range(0, len(g), LEARN_GROUP)]
        return LearnPlan(groups, -(-len(single) // LEARN_GROUP), alone)

    def run(self, plan: LearnPlan) -> tuple[list, list]:
        """tokenizers' encodings of the plan's joined groups and of its chunks alone. All but the
        joins is tokenizers' own work, without the GIL: this is what runs in a thread."""
        joined = [SEPARATOR.join(g) for g in plan.groups]
        k, fast = plan.single, {"add_special_tokens": False}
        encoded = []
        if k:
            encoded = self._single.encode_batch_fast([map_bytes(j, self._table) for j in joined[:k]], **fast)
        if k < len(joined):
            encoded += self._joined.encode_batch_fast(joined[k:], **fast)
        return encoded, self.tok.encode_batch_fast(plan.alone, **fast) if plan.alone else []

    def collect(
        self, plan: LearnPlan, encodings: tuple[list, list], dtype: np.dtype, out: dict[str, bytes]
    ) -> None:
        """Each chunk's ids from run's encodings, as the bytes of a `dtype` array, into `out`."""
        groups, unsplit = plan.groups, []
        if groups:
            # All groups at once: a chunk ends at a separator or at its group's end.
            id_lists = [e.ids for e in encodings[0]]
            lengths = np.fromiter(map(len, id_lists), np.int64, len(id_lists))
            ids = np.fromiter(itertools.chain.from_iterable(id_lists), np.int64, int(lengths.sum()))
            seps = np.flatnonzero(ids == self._sep)
            group_ends = np.cumsum(lengths)
            per_group = np.diff(np.searchsorted(seps, np.concatenate([[0], group_ends])))
            chunks_per_group = np.fromiter(map(len, groups), np.int64, len(groups))
            if np.array_equal(per_group, chunks_per_group - 1):
                ends = np.sort(np.concatenate([seps, group_ends]))
                starts = np.concatenate([[0], ends[:-1] + np.isin(ends[:-1], seps)])
                raw, size = ids.astype(dtype).tobytes(), np.dtype(dtype).itemsize
                spans = zip((starts * size).tolist(), (ends * size).tolist())
                out.update(zip(itertools.chain.from_iterable(groups), [raw[a:b] for a, b in spans]))
            else:  # never seen; the safe way then
                unsplit = [c for g in groups for c in g]
        out.update(zip(plan.alone, as_bytes(encodings[1], dtype)))
        if unsplit:
            encoded = self.tok.encode_batch_fast(unsplit, add_special_tokens=False)
            out.update(zip(unsplit, as_bytes(encoded, dtype)))


def _route(chunks: Sequence[str], joined: str) -> tuple[list[str], list[str]]:
    """The chunks that are single pieces of the byte-level split and the others, from one scan
    of SEPARATOR.join(chunks) (~1 ns a character) and a count of separators up to each find."""
    split_at, pos, index = [], 0, 0
    for m in MULTI_PIECE.finditer(joined):
        index += joined.count(SEPARATOR, pos, m.start())
        pos = m.start()
        if not split_at or split_at[-1] != index:
            split_at.append(index)
    if not split_at:
        return list(chunks), []
    if len(split_at) * 64 < len(chunks):  # the usual few: taken out of a copy
        single = list(chunks)
        for i in reversed(split_at):
            del single[i]
        return single, [chunks[i] for i in split_at]
    multi = np.zeros(len(chunks), bool)
    multi[split_at] = True
    every = np.array(chunks, dtype=object)
    return every[~multi].tolist(), every[multi].tolist()


def as_bytes(encodings: list, dtype: np.dtype) -> list[bytes]:
    """The ids of each encoding as the bytes of a `dtype` array."""
    ids = [e.ids for e in encodings]
    flat = np.fromiter(itertools.chain.from_iterable(ids), dtype).tobytes()
    ends = np.cumsum([len(i) for i in ids]).tolist()
    size = np.dtype(dtype).itemsize
    return [flat[a * size : b * size] for a, b in zip([0, *ends], ends)]

"""Exact fast encoding: many texts to the ids `Tokenizer.encode` gives them, cut into chunks.

`ChunkEncoder` cuts texts where tokenizers' byte-level split cuts too (`chunk_pattern`), keeps
each chunk's ids in a bounded cache and has tokenizers encode only the chunks it has not seen
(`ChunkLearner`, in a thread while the next texts are cut). The cut relies on character classes,
checked against tokenizers one character at a time (`CharCheck`); a tokenizer that is not a plain
byte-level BPE (`plain_byte_level`) is encoded by tokenizers whole. The split itself is modelled
in `curate.tokenization.pieces`, the learning in `curate.tokenization.learner`.
"""

from __future__ import annotations

import operator
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from tokenizers import Tokenizer

from curate.tokenization import pieces
from curate.tokenization.learner import SEPARATOR, ChunkLearner, LearnPlan, as_bytes
from curate.tokenization.pieces import CharCheck, chunk_pattern, plain_byte_level

MAX_CHUNKS = 1 << 19  # cached chunks (~80 MB); past this the cache starts over
MAX_CHUNK_CHARS = 256  # longer chunks (rarely repeated) are not kept past their slice
LONG_CHUNK = re.compile(f"[^{SEPARATOR}]{{{MAX_CHUNK_CHARS + 1},}}")
SLICE_CHARS = 1 << 18  # characters of text cut while tokenizers learns the previous slice's chunks
FIRST_SLICE_CHARS = 1 << 14  # the stream's first slice: tokenizers starts sooner
PROBE = 16  # texts per slice always looked up whole in the cache (see ChunkEncoder._start)
# Texts whose chunked encoding must equal tokenizers' for the shortcut to be used at all: runs of
# mixed whitespace, contractions, punctuation, digits, non-Latin scripts, a literal special token.
SELF_TEST = [
    "Hello world!  It's 2024;\tx = y\r\n\n   - item\n \n\nEnd. ",
    "naïve café — “quotes” ½ ﬁ 日本語 😀👍🏽 e\u0301 \u00a0nbsp\u3000ideographic\u2028line",
    "they'll've 'twas I'M ' s '' --x-- a.b,c;d\x1cfile\x1dsep \x85next <|endoftext|>",
    " \t leading and trailing \n\n ",
    "中文（简体）：第3章，共12节。「日本語」のテキスト、カタカナ123と漢字！Ｆｕｌｌ－ｗｉｄｔｈ＇ｓ",
    "x'sy 中'文 !'s '!a 1'2 \U00020000漢\U00020001 a\U0001f600b 𠀀字",
]


@dataclass
class _Slice:
    """One slice of a batch of texts: those whose chunks were not all cached, the chunks being
    learned for them, and the texts sent to tokenizers whole."""

    out: list[bytes]  # its batch's ids, filled in slice by slice
    last: bool  # the batch's last slice: once it is finished, so is the batch
    pending: list[tuple[int, list[str]]]  # (text's index, its chunks): joined once learned
    new: set[str]  # chunks being learned and then kept: the next slice takes them as seen
    long: list[str]  # chunks being learned that are too long to keep past this slice
    plan: LearnPlan | None  # its new chunks, as ChunkLearner encodes them
    whole: list[int]  # texts encoded by tokenizers whole
    encoding: Future | None  # -> (ChunkLearner.run's encodings, the whole texts' encodings)


def _slices(texts: Sequence[str], chars: int, first: int | None = None) -> Iterator[tuple[int, int]]:
    """(lo, hi) ranges of consecutive texts of about `chars` characters each (at least one text),
    the first of about `first`."""
    lo, size, want = 0, 0, chars if first is None else first
    for i, text in enumerate(texts):
        size += len(text)
        if size >= want:
            yield lo, i + 1
            lo, size, want = i + 1, 0, chars
    if lo < len(texts):
        yield lo, len(texts)


class ChunkEncoder:
    """Texts to the ids of `tok.encode(text, add_special_tokens=False)` with `encode_special_tokens`.

    The same ids, faster: tokenizers spends most of its time not in BPE but in per-text and
    per-piece bookkeeping (alignments, offsets, token strings), and text repeats itself. BPE never
    merges across the pieces of its byte-level pre-tokenizer (GPT-2's regex); so a text's ids are,
    end to end, those of its chunks cut at places where that regex cuts too, each encoded alone
    (alone, a chunk splits as in the text: at its end the regex only ever looks for more of a
    class that the next character is not). This encoder cuts texts into chunks (chunk_pattern:
    at whitespace and, inside whitespace-free runs such as Chinese and Japanese text, where
    letters, numbers and other characters meet), looks them up in a bounded cache
    (chunk -> ids) and has tokenizers encode the chunks it has not seen, so every id still comes
    from tokenizers.

    Only the cut is ours, and it relies on the whitespace set and the character classes, checked
    against tokenizers one character at a time (`CharCheck`): a text with a character where the
    two disagree goes to tokenizers whole, as do all texts if the tokenizer is not a plain
    byte-level BPE (`plain_byte_level`) or the shortcut fails SELF_TEST. Not thread-safe: one per
    thread.
    """

    def __init__(self, tok: Tokenizer, dtype: np.dtype, max_chunks: int = MAX_CHUNKS) -> None:
        # A literal "<|endoftext|>" inside a document is text, not a document boundary (like
        # tiktoken's encode_ordinary); otherwise a page could forge boundaries in the stream.
        tok.encode_special_tokens = True
        self.tok = tok
        self.dtype = np.dtype(dtype)
        self.max_chunks = max_chunks
        self._ids: dict[str, bytes] = {}  # chunk -> its ids, as the bytes of a `dtype` array
        plain = plain_byte_level(tok)
        self._check = CharCheck() if plain else None
        self._chunk = chunk_pattern() if plain else None
        # Pieces (ChunkLearner) only under chunk_pattern's own cut (a test may give another).
        self._learner = ChunkLearner(tok, self._chunk is pieces.chunk_pattern()) if plain else None
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
        return list(self.encode_stream([texts]))[0]

    def encode_stream(self, batches: Iterable[Sequence[str]]) -> Iterator[list[bytes]]:
        """Each batch's ids, as `encode` gives them, in order, one batch read ahead.

        The texts go through in slices of about SLICE_CHARS characters, one slice ahead: while
        tokenizers encodes one slice's new chunks in a thread (it lets go of the GIL), this
        thread cuts the next slice and looks its chunks up, so both cores work, from one batch
        into the next without a pause.
        """
        if self._check is None:
            yield from map(self.encode_whole, batches)
            return
        # A pool per call, not per encoder: a thread does not survive a fork into a worker.
        with ThreadPoolExecutor(1, thread_name_prefix="chunk-learner") as pool:
            ahead: _Slice | None = None
            first = True
            for texts in batches:
                if ahead is not None and (not texts or len(self._ids) > self.max_chunks):
                    if (done := self._finish(ahead)) is not None:  # nothing in flight now
                        yield done
                    ahead = None
                if len(self._ids) > self.max_chunks:
                    self._ids.clear()  # flat memory; the common chunks are back within a batch
                if not texts:
                    yield []
                    continue
                out: list[bytes] = [b""] * len(texts)
                # The stream's first slice small: tokenizers starts on it while the rest is cut.
                bounds = list(_slices(texts, SLICE_CHARS, FIRST_SLICE_CHARS if first else None))
                first = False
                for j, (lo, hi) in enumerate(bounds):
                    current = self._start(texts, lo, hi, out, j == len(bounds) - 1, pool, ahead)
                    if ahead is not None and (done := self._finish(ahead)) is not None:
                        yield done
                    ahead = current
            if ahead is not None and (done := self._finish(ahead)) is not None:
                yield done

    def _start(
        self,
        texts: Sequence[str],
        lo: int,
        hi: int,
        out: list[bytes],
        last: bool,
        pool: Executor,
        ahead: _Slice | None,
    ) -> _Slice:
        """Cut texts[lo:hi], fill in those whose chunks are all cached, and start tokenizers on
        the rest's new chunks (not those `ahead` is learning and keeping already)."""
        cut, ids = self._chunk.findall, self._ids
        pending: list[tuple[int, list[str]]] = []  # texts with chunks not in the cache
        # Trying a text whose chunks are not all cached wastes the join up to its first unseen
        # one; so the first PROBE texts tell whether trying the others is worth it.
        probe = min(lo + PROBE, hi)
        for i in range(lo, hi):
            chunks = cut(texts[i])
            if i >= probe and len(pending) * 2 > PROBE:  # mostly new (cold cache, new text)
                pending.append((i, chunks))
                continue
            try:
                out[i] = _joined(ids, chunks)
            except KeyError:
                pending.append((i, chunks))
        if not pending:
            return _Slice(out, last, [], set(), [], None, [], None)
        unseen = set().union(*(c for _, c in pending)).difference(self._ids)  # C loops
        if ahead is not None:
            unseen.difference_update(ahead.new)
        whole: list[int] = []  # texts with a character the cut may misjudge: tokenizers splits them
        new = list(unseen)
        joined = SEPARATOR.join(new)  # scanned in C: characters, long chunks, the plan
        if bad := self._check.disagreeing(joined):
            doubtful = {c for c in unseen if not bad.isdisjoint(c)}
            unseen.difference_update(doubtful)
            whole = [i for i, chunks in pending if not doubtful.isdisjoint(chunks)]
            pending = [(i, chunks) for i, chunks in pending if doubtful.isdisjoint(chunks)]
            new = list(unseen)
            joined = SEPARATOR.join(new)
        long: list[str] = []
        if LONG_CHUNK.search(joined):
            long = [c for c in new if len(c) > MAX_CHUNK_CHARS]
            unseen.difference_update(long)
        plan = self._learner.plan(new, joined) if new else None
        encoding = pool.submit(self._tokenizers, plan, [texts[i] for i in whole])
        return _Slice(out, last, pending, unseen, long, plan, whole, encoding)

    def _tokenizers(self, plan: LearnPlan | None, whole: list[str]) -> tuple:
        """What runs in the thread: tokenizers' own work, without the GIL."""
        learned = self._learner.run(plan) if plan is not None else None
        return learned, self.tok.encode_batch_fast(whole, add_special_tokens=False) if whole else []

    def _finish(self, s: _Slice) -> list[bytes] | None:
        """Take in the slice's new chunks and join the ids of its texts that have them; its
        batch's ids, if this was the batch's last slice."""
        if s.encoding is not None:
            chunks_encoded, whole_encoded = s.encoding.result()
            if s.plan is not None:
                self._learner.collect(s.plan, chunks_encoded, self.dtype, self._ids)
            for i, chunks in s.pending:
                s.out[i] = _joined(self._ids, chunks)
            for i, ids in zip(s.whole, as_bytes(whole_encoded, self.dtype)):
                s.out[i] = ids
            for c in s.long:  # rarely seen twice: not kept (a later slice learns it again)
                del self._ids[c]
        return s.out if s.last else None

    def encode_whole(self, texts: Sequence[str]) -> list[bytes]:
        """tokenizers' own encoding of each text (its ids as `dtype` bytes)."""
        return as_bytes(self.tok.encode_batch_fast(list(texts), add_special_tokens=False), self.dtype)


def _joined(ids: dict[str, bytes], chunks: list[str]) -> bytes:
    """The chunks' ids end to end (KeyError if one is not in `ids`); itemgetter looks them all up
    in one call, a third faster than a map over `ids.__getitem__`."""
    if len(chunks) > 1:
        return b"".join(operator.itemgetter(*chunks)(ids))
    return ids[chunks[0]] if chunks else b""

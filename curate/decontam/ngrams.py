"""Vectorised hashing of the word n-grams of normalised text.

Hashing every 13-gram of every document in Python is the hot path of decontamination, so a
batch of documents is normalised (`curate.text.normalize.normalize_text`, as in dedup), encoded to
UTF-8 and joined by single spaces into one byte buffer. A polynomial prefix hash over that
buffer gives the hash of any byte span in O(1):

    H[k] = sum_{j<k} (b_j + 1) * P^j   (mod 2^64)
    hash(a, b) = (H[b] - H[a]) * P^-a   (P odd, so invertible mod 2^64)

An n-gram is the span from the start of word i to the end of word i+n-1, so all n-gram hashes
of a batch are a handful of numpy operations, and benchmark items and documents are hashed by
the very same code. The hash is of the normalised n-gram text "w1 w2 ... wn" (single spaces).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from curate.text.normalize import normalize_text

_P = 0x9E3779B97F4A7C15  # odd: invertible modulo 2^64
_PINV = pow(_P, -1, 1 << 64)
_U64 = np.uint64

_POW: np.ndarray = np.ones(1, dtype=_U64)
_IPOW: np.ndarray = np.ones(1, dtype=_U64)


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """P^j and P^-j for j < n (cached and grown by doubling)."""
    global _POW, _IPOW
    if len(_POW) < n:
        size = max(n, 2 * len(_POW), 1 << 16)
        pw = np.full(size, _P, dtype=_U64)
        pw[0] = 1
        ipw = np.full(size, _PINV, dtype=_U64)
        ipw[0] = 1
        with np.errstate(over="ignore"):
            _POW, _IPOW = np.cumprod(pw, dtype=_U64), np.cumprod(ipw, dtype=_U64)
    return _POW, _IPOW


def _ascii_table() -> bytes:
    """bytes.translate table doing for ASCII what normalize_text does: lowercase, digits to 0,
    everything that is neither a letter/digit nor whitespace (punctuation, '_', controls) to a space.
    Characters str.isspace counts as whitespace but bytes.split does not (\x1c-\x1f) become spaces."""
    out = bytearray(range(256))
    for c in range(128):
        ch = chr(c)
        if ch.isalnum():
            out[c] = ord("0") if ch.isdigit() else ord(ch.lower())
        elif not ch.isspace() or c >= 0x1C:
            out[c] = ord(" ")
    return bytes(out)


_ASCII = _ascii_table()


def normalized_bytes(text: str, t2s: bool = False) -> bytes:
    """UTF-8 of `normalize_text(text, t2s)`; plain ASCII text takes a bytes.translate fast path
    (normalisation was the slowest step), anything else goes through normalize_text itself."""
    if text.isascii():
        return b" ".join(text.encode("ascii").translate(_ASCII).split())
    return normalize_text(text, t2s).encode("utf-8")


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads the weak low bits of the polynomial hash over all 64."""
    with np.errstate(over="ignore"):
        h = (h ^ (h >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> _U64(27))) * _U64(0x94D049BB133111EB)
        return h ^ (h >> _U64(31))


@dataclass
class TextBatch:
    """Normalised words of a batch of texts, ready to hash any run of consecutive words."""

    buf: np.ndarray  # uint8: the normalised texts joined by single spaces
    prefix: np.ndarray  # uint64, len(buf) + 1: the polynomial prefix hash
    word_start: np.ndarray  # int64 byte offset of each word in buf
    word_end: np.ndarray  # int64 byte offset just past each word
    word_doc: np.ndarray  # int64 index (into the batch's texts) of each word's text
    doc_first_word: np.ndarray  # int64, len(texts) + 1: the first word of each text

    @classmethod
    def from_texts(cls, texts: list[str], t2s: bool = False) -> TextBatch:
        encoded = [normalized_bytes(t or "", t2s) for t in texts]
        keep = [i for i, b in enumerate(encoded) if b]  # empty texts have no words
        joined = b" ".join(encoded[i] for i in keep)
        buf = np.frombuffer(joined, dtype=np.uint8)
        n = len(buf)
        pw, ipw = _powers(n + 1)
        prefix = np.zeros(n + 1, dtype=_U64)
        with np.errstate(over="ignore"):
            np.cumsum((buf.astype(_U64) + _U64(1)) * pw[:n], out=prefix[1:])
        if n:
            spaces = np.flatnonzero(buf == 32)
            word_start = np.concatenate(([0], spaces + 1)).astype(np.int64)
            word_end = np.concatenate((spaces, [n])).astype(np.int64)
        else:
            word_start = word_end = np.zeros(0, dtype=np.int64)
        # word counts per kept text: its spaces + 1; texts were joined by one more space each
        counts = np.zeros(len(texts), dtype=np.int64)
        for i in keep:
            counts[i] = encoded[i].count(b" ") + 1
        doc_first_word = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(counts, out=doc_first_word[1:])
        word_doc = np.repeat(np.arange(len(texts), dtype=np.int64), counts)
        return cls(buf, prefix, word_start, word_end, word_doc, doc_first_word)

    @property
    def num_words(self) -> int:
        return len(self.word_start)

    def span_hash(self, first_word: np.ndarray, last_word: np.ndarray) -> np.ndarray:
        """Hashes of the word runs first_word..last_word (inclusive, global word indices)."""
        a, b = self.word_start[first_word], self.word_end[last_word]
        _, ipw = _powers(len(self.buf) + 1)
        with np.errstate(over="ignore"):
            return _mix((self.prefix[b] - self.prefix[a]) * ipw[a])

    def ngrams(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(hashes, first word) of every n-gram that lies inside one text."""
        if self.num_words < n:
            empty = np.zeros(0, dtype=np.int64)
            return empty.astype(_U64), empty
        first = np.arange(self.num_words - n + 1, dtype=np.int64)
        first = first[self.word_doc[first] == self.word_doc[first + n - 1]]
        return self.span_hash(first, first + n - 1), first

    def wordy(self, first_word: np.ndarray, n: int | np.ndarray) -> np.ndarray:
        """Whether at least half of the n words from each `first_word` are not pure numbers.

        Digits are folded to 0, so runs of numbers ("1.0, 2.0, 3.0, ...") hash alike in every
        text: as benchmark keys they would only make false positives.
        """
        numeric = (self.buf == 48) | (self.buf == 32)  # '0' or the separating space
        non_num = np.zeros(len(self.buf) + 1, dtype=np.int64)
        np.cumsum(~numeric, out=non_num[1:])
        is_word = (non_num[self.word_end] - non_num[self.word_start]) > 0
        words_cs = np.zeros(self.num_words + 1, dtype=np.int64)
        np.cumsum(is_word, out=words_cs[1:])
        return 2 * (words_cs[first_word + n] - words_cs[first_word]) >= n

    def text_of(self, first_word: int, n: int) -> str:
        """The normalised text of n words from `first_word` (for example matches)."""
        a, b = self.word_start[first_word], self.word_end[first_word + n - 1]
        return self.buf[a:b].tobytes().decode("utf-8", "replace")


class NgramHasher:
    """Hashes of benchmark items: the n-grams of long items, the whole text of short ones.

    An item whose normalised words are mostly Han/Kana characters (a Chinese or Japanese item)
    is keyed by `cjk_n`-grams, character n-grams of about the same span of text as `n` English
    words; the others by `n`-grams. Keys made mostly of numbers are left out (`TextBatch.wordy`)."""

    def __init__(self, n: int, min_words: int = 1, cjk_n: int | None = None, t2s: bool = False) -> None:
        self.n = n
        self.min_words = min_words
        self.cjk_n = cjk_n or n
        self.t2s = t2s

    def key_lengths(self, batch: TextBatch, n_texts: int) -> np.ndarray:
        """The key length of each item: `cjk_n` where most words are Han/Kana, else `n`."""
        out = np.full(n_texts, self.n, dtype=np.int64)
        if self.cjk_n == self.n or not batch.num_words:
            return out
        # A normalised Han/Kana word is one 3-byte (or 4-byte) character starting at 0xE2..0xF0;
        # other words of that shape (a lone Greek or Thai letter...) are rare enough to ignore.
        first = batch.buf[batch.word_start]
        cjk = ((first >= 0xE2) & (batch.word_end - batch.word_start <= 4)).astype(np.int64)
        per_doc = np.zeros(n_texts, dtype=np.int64)
        np.add.at(per_doc, batch.word_doc, cjk)
        counts = np.diff(batch.doc_first_word)
        out[(2 * per_doc >= counts) & (counts > 0)] = self.cjk_n
        return out

    def item_hashes(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(hashes, item index, word length of the key) of every key of every item."""
        batch = TextBatch.from_texts(texts, self.t2s)
        key_len = self.key_lengths(batch, len(texts))
        parts_h, parts_item, parts_len = [], [], []
        for m in np.unique(key_len).tolist():
            hashes, first = batch.ngrams(m)
            mine = key_len[batch.word_doc[first]] == m
            hashes, first = hashes[mine], first[mine]
            wordy = batch.wordy(first, m)
            parts_h.append(hashes[wordy])
            parts_item.append(batch.word_doc[first[wordy]])
            parts_len.append(np.full(int(wordy.sum()), m, dtype=np.int32))
        counts = np.diff(batch.doc_first_word)
        short = np.flatnonzero((counts < key_len) & (counts >= self.min_words))
        if len(short):
            short = short[batch.wordy(batch.doc_first_word[short], counts[short])]
        if len(short):
            s_first, s_last = batch.doc_first_word[short], batch.doc_first_word[short + 1] - 1
            parts_h.append(batch.span_hash(s_first, s_last))
            parts_item.append(short)
            parts_len.append(counts[short].astype(np.int32))
        if not parts_h:
            return np.zeros(0, dtype=_U64), np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32)
        hashes = np.concatenate(parts_h).astype(_U64)
        return hashes, np.concatenate(parts_item).astype(np.int32), np.concatenate(parts_len).astype(np.int32)

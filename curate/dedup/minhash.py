"""Vectorised MinHash over word n-gram shingles of normalised text (character n-grams in Han/Kana).

datasketch hashes every shingle in Python (sha1) and applies the permutations per document;
that is most of its time. Here a whole batch of documents is handled in numpy, with no Python
object per word: texts are normalised as bytes (`normalise_batch`), each word is hashed 8 bytes
at a time (`word_hashes`), shingle hashes are combined from word hashes and mixed with
splitmix64's finaliser, and the permutations are `(a * h + b) mod 2^32` over uint32 of the
mixed hash (a odd: a bijection; uint32 arithmetic is SIMD on AVX2, uint64 multiplies are not),
reduced per document with `minimum.reduceat`. The inputs are already uniform 32-bit values, so
each permutation's minimum is a uniform pick from the union and the estimate of Jaccard
similarity is the same statistic as datasketch's (tests compare them, and its bias and spread
against the binomial sd sqrt(J(1-J)/num_perm)).

Chinese and Japanese: every Han/Kana character is a word (curate.text.normalize), so shingles
are character 5-grams there. Spacing the characters with a regex was the slowest step on that
text (bench/cjk.py: normalisation at 9 MB/s against 22 on English). Instead `_prenormalise`
leaves them unspaced, skips NFKC when the text is NFKC once its CJK punctuation is out, leaves
ASCII punctuation and digits to the byte table, and `_split_cjk` cuts the words at each
character's UTF-8 bytes in numpy: 15-18 MB/s, the signature pass within 0.8x of English's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from curate.text.normalize import collapse, has_cjk, nfkc_lower_cjk, normalize_text
from curate.text.words import CJK_RANGES

U64 = np.uint64
# Distinct odd multipliers per position in the n-gram, so "a b" and "b a" hash differently.
_POS = np.array([0x9E3779B97F4A7C15 ^ (k * 0xBF58476D1CE4E5B9 % (1 << 64)) | 1 for k in range(64)], U64)
MAX_HASH = np.uint32(0xFFFFFFFF)
# Shingles per permutation block: (num_perm, _BLOCK) uint32 reused, ~3.7 MB at 112 perms. Fresh
# arrays this size cost more in page faults than the arithmetic; blocks of 1-2k shingles pay
# numpy's per-call overhead (3x slower measured), 16k ones fall out of cache (2x).
_BLOCK = 8192


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, in place on a uint64 array: spreads every input bit over the output."""
    with np.errstate(over="ignore"):
        x ^= x >> U64(30)
        x *= U64(0xBF58476D1CE4E5B9)
        x ^= x >> U64(27)
        x *= U64(0x94D049BB133111EB)
        x ^= x >> U64(31)
    return x


def exact_key(norm: str) -> tuple[int, int]:
    """128-bit hash of normalised text, as (high, low) 64-bit halves."""
    h = xxhash.xxh3_128_intdigest(norm)
    return h >> 64, h & 0xFFFFFFFFFFFFFFFF


@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) of each permutation: a odd (a bijection mod 2^32), shape (num_perm, 1) uint32."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2**32, size=(num_perm, 1), dtype=np.uint32, endpoint=False) | np.uint32(1)
    b = rng.integers(0, 2**32, size=(num_perm, 1), dtype=np.uint32, endpoint=False)
    return a, b


@lru_cache(maxsize=4)
def _offsets_block(num_perm: int, seed: int, width: int) -> np.ndarray:
    """b repeated over a block: numpy adds a same-shape array with SIMD, a (num_perm, 1) one 3x slower."""
    return np.ascontiguousarray(np.broadcast_to(permutations(num_perm, seed)[1], (num_perm, width)))


def shingle_hashes(word_lists: Sequence[list[str]], ngram: int) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of the word n-grams of each document (word lists as `normalised_words` gives).

    Returns (hashes, counts): document d owns hashes[offsets[d]:offsets[d] + counts[d]] with
    offsets the exclusive cumsum of counts. A document shorter than `ngram` words has one shingle
    (its whole text), an empty one none: the same rule as `curate.text.normalize.word_ngrams`.
    """
    norm = normalise_batch([" ".join(w) for w in word_lists])
    return batch_shingles(norm, ngram)


def batch_shingles(norm: Normalised, ngram: int) -> tuple[np.ndarray, np.ndarray]:
    """`shingle_hashes` of a normalised batch."""
    return combine_shingles(word_hashes(norm.buf, norm.word_start, norm.word_len), norm.doc_words, ngram)


def combine_shingles(words: np.ndarray, lens: np.ndarray, ngram: int) -> tuple[np.ndarray, np.ndarray]:
    """Shingle hashes from word hashes (concatenated, `lens` words per document)."""
    total = len(words)
    # s[i] = sum_k words[i + k] * POS[k]: the shingle starting at word i (wrapping arithmetic).
    padded = np.concatenate([words, np.zeros(ngram - 1, U64)])
    s = np.zeros(total, U64)
    with np.errstate(over="ignore"):
        for k in range(ngram):
            s += padded[k : k + total] * _POS[k]
    counts = np.where(lens >= ngram, lens - ngram + 1, np.minimum(lens, 1))
    word_off = np.concatenate([[0], np.cumsum(lens)[:-1]]) if len(lens) else lens
    shingle_off = np.concatenate([[0], np.cumsum(counts)[:-1]]) if len(lens) else lens
    # Index of each kept shingle start: document offset + 0..count-1.
    idx = np.repeat(word_off - shingle_off, counts) + np.arange(int(counts.sum()))
    out = s[idx]
    # Short documents: the window at their start ran into the next document; recompute alone.
    for d in np.flatnonzero((lens > 0) & (lens < ngram)):
        o, n = int(word_off[d]), int(lens[d])
        with np.errstate(over="ignore"):
            out[shingle_off[d]] = (words[o : o + n] * _POS[:n]).sum(dtype=U64)
    return mix64(out), counts


def minhash(hashes: np.ndarray, counts: np.ndarray, num_perm: int, seed: int) -> np.ndarray:
    """MinHash signatures (n_docs, num_perm) uint32 of the shingle hashes per document.

    Only the low 32 bits of each (mixed) shingle hash are used, as datasketch's sha1_hash32; a
    document without shingles gets MAX_HASH everywhere (callers keep it out of LSH).
    """
    a, b = permutations(num_perm, seed)
    n = len(counts)
    sig = np.full((n, num_perm), MAX_HASH, np.uint32)
    h32 = hashes.astype(np.uint32)  # the low 32 bits
    nonempty = np.flatnonzero(counts > 0)
    ends = np.cumsum(counts)[nonempty]
    starts = ends - counts[nonempty]
    width = max(_BLOCK, int(counts.max(initial=0)))
    buf = np.empty((num_perm, width), np.uint32)
    b_block = _offsets_block(num_perm, seed, width)
    i = 0
    while i < len(nonempty):
        # A block of documents with at most _BLOCK shingles in all (at least one document).
        j = max(int(np.searchsorted(ends, starts[i] + _BLOCK, side="right")), i + 1)
        lo, hi = int(starts[i]), int(ends[j - 1])
        x = buf[:, : hi - lo]  # (num_perm, S)
        np.multiply(a, h32[lo:hi], out=x)  # wraps mod 2^32: no overflow check on unsigned arrays
        np.add(x, b_block[:, : hi - lo], out=x)
        sig[nonempty[i:j]] = np.minimum.reduceat(x, starts[i:j] - lo, axis=1).T
        i = j
    return sig


def band_hashes(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit key per (band, document): shape (bands, n_docs); equal bands give equal keys."""
    n = sig.shape[0]
    out = np.empty((bands, n), U64)
    with np.errstate(over="ignore"):
        for band in range(bands):
            h = np.full(n, 0x243F6A8885A308D3, U64)
            for col in range(band * rows, (band + 1) * rows):
                h ^= sig[:, col].astype(U64)
                h = mix64(h)
            out[band] = h
    return out


def jaccard_estimate(sig_a: np.ndarray, sig_b: np.ndarray) -> np.ndarray:
    """The fraction of equal signature values (row-wise for 2-D inputs)."""
    return (sig_a == sig_b).mean(axis=-1)


# ASCII fast path of curate.text.normalize.normalize_text: NFKC is the identity on ASCII, and one
# str.translate does lowercase + punctuation/underscore -> space + digits -> 0 (3x faster than
# the three regex passes). tests check it against normalize_text on every ASCII character.
_ASCII = {c: " " for c in range(128) if not chr(c).isalnum() and not chr(c).isspace()}
_ASCII.update({ord(c): c.lower() for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"})
_ASCII.update({ord(d): "0" for d in "123456789"})
_ASCII_TABLE = str.maketrans(_ASCII)


def normalised_words(text: str | None, t2s: bool = False) -> tuple[str, list[str]]:
    """(normalised text, its words): the same as `normalize_text(text, t2s)` and its split."""
    text = text or ""
    if text.isascii():
        ws = text.translate(_ASCII_TABLE).split()
        return " ".join(ws), ws
    norm = normalize_text(text, t2s)
    return norm, (norm.split(" ") if norm else [])


@lru_cache(maxsize=64)
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) minimising false positive + false negative area at `threshold` (datasketch)."""
    from datasketch.lsh import _optimal_param

    return _optimal_param(threshold, num_perm, 0.5, 0.5)


def approx_threshold(bands: int, rows: int) -> float:
    """The similarity at which a pair becomes a candidate with probability ~1/2: (1/b)^(1/r)."""
    return (1.0 / bands) ** (1.0 / rows)


# ASCII normalisation as a byte table, for whole batches: every byte that is not a letter or digit
# -> space, A-Z -> a-z, 1-9 -> 0. Bytes >= 128 map to themselves: they only occur in non-ASCII
# documents, which are normalised by `normalize_text` first (its output is a fixed point of the
# table: lowercase letters, '0', single spaces and non-ASCII letters).
_BYTE_TABLE = np.arange(256, dtype=np.uint8)
_BYTE_TABLE[:128] = [ord(chr(c).translate(_ASCII_TABLE)) if chr(c).isalnum() else 32 for c in range(128)]
_SPACE = np.uint8(32)
_K_LEN = U64(0x9FB21C651E98DF25)


class Normalised(NamedTuple):
    """A batch of normalised texts as bytes: document d is buf[doc_off[d]:doc_off[d + 1]] (UTF-8 of
    `normalize_text`), its words start at word_start[w] with word_len[w] bytes, doc_words per document."""

    buf: np.ndarray  # uint8
    doc_off: np.ndarray  # int64, n + 1
    word_start: np.ndarray  # int64, positions in buf
    word_len: np.ndarray  # int64
    doc_words: np.ndarray  # int64, n


def normalise_batch(texts: pa.Array | Sequence[str | None], t2s: bool = False) -> Normalised:
    """Normalise a batch of texts in numpy: the same words as `normalised_words` on each text.

    ASCII texts (the bulk of a crawl) go through the byte table; the others through
    `normalize_text` one by one (NFKC and Unicode classes have no byte-level shortcut). Han and
    Kana characters are words of their own there, so shingles of Chinese and Japanese text are
    character n-grams (curate.text.normalize).
    """
    arr = texts if isinstance(texts, (pa.Array, pa.ChunkedArray)) else pa.array(texts, pa.large_string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks else pa.array([], pa.large_string())
    arr = pc.fill_null(arr.cast(pa.large_string()), "")
    ascii_ = pc.string_is_ascii(arr).to_numpy(zero_copy_only=False)
    if not ascii_.all():
        other = np.flatnonzero(~ascii_)
        fixed = [_prenormalise(t, t2s) for t in arr.take(pa.array(other)).to_pylist()]
        arr = pc.replace_with_mask(arr, pa.array(~ascii_), pa.array(fixed, pa.large_string()))
        arr = arr.cast(pa.large_string())
    n = len(arr)
    if n == 0:
        z = np.zeros(0, np.int64)
        return Normalised(np.zeros(0, np.uint8), np.zeros(1, np.int64), z, z, z)
    _, off_buf, data_buf = arr.buffers()
    offs = np.frombuffer(off_buf, np.int64, n + 1, arr.offset * 8)
    size = int(offs[-1] - offs[0])
    raw = np.frombuffer(data_buf, np.uint8, size, int(offs[0])) if size else np.zeros(0, np.uint8)
    offs = offs - offs[0]
    b = _BYTE_TABLE[raw]
    if not ascii_.all():
        cjk = _cjk_chars(b)
        if cjk is not None:
            return _split_cjk(b, offs, n, *cjk)
    keep = b != _SPACE
    word = keep.view(np.int8)
    # Space->word and word->space transitions alternate: the starts and ends of words, paired.
    edges = np.flatnonzero(np.diff(word, prepend=np.int8(0), append=np.int8(0)) != 0)
    starts, ends = edges[0::2], edges[1::2]
    # A word running over a document boundary is two words: split it there.
    inner = offs[1:-1]
    cross = inner[(inner > 0) & (inner < len(b))]
    cross = np.unique(cross[keep[cross - 1] & keep[cross]])
    if len(cross):
        starts = np.insert(starts, np.searchsorted(starts, cross), cross)
        ends = np.insert(ends, np.searchsorted(ends, cross), cross)
    lens = ends - starts
    first_word = np.searchsorted(starts, offs)  # of each document; the last entry = all words
    doc_words = np.diff(first_word)
    doc = np.repeat(np.arange(n), doc_words)
    # Positions in the normalised text (words joined by one space), from word-level sums only.
    chars = np.concatenate([[0], np.cumsum(lens)])
    norm_len = chars[first_word[1:]] - chars[first_word[:-1]] + np.maximum(doc_words - 1, 0)
    norm_off = np.concatenate([[0], np.cumsum(norm_len)])
    step = np.concatenate([[0], np.cumsum(lens + 1)])  # word w starts step[w] - step[first] into its doc
    norm_start = norm_off[doc] + step[:-1] - step[first_word[doc]]
    # The bytes: every word byte and the space after each word but the last of its document.
    keep[ends[np.flatnonzero(doc[:-1] == doc[1:])]] = True
    return Normalised(b[keep], norm_off, norm_start, lens, doc_words)


# What the byte table below cannot do for a non-ASCII text: a non-ASCII character that is not
# a word character (punctuation, symbols, spaces) or a non-ASCII digit.
_NOT_FOR_BYTES = re.compile(r"[^\w\x00-\x7f]|(?![0-9])\d")


@lru_cache(maxsize=1)
def _other_chars() -> re.Pattern[str]:
    """Any character but ASCII and the Han/Kana word characters (never a match of _NOT_FOR_BYTES).

    A negated class is scanned several times faster than _NOT_FOR_BYTES's alternation with a
    lookahead, and in Chinese and Japanese text it seldom matches: _NOT_FOR_BYTES then looks only
    from there. Built from this Python's own \\w and \\d, so a Unicode update cannot make it wrong.
    """
    chars = "".join(chr(c) for lo, hi in CJK_RANGES for c in range(lo, hi + 1))
    unsafe = {ord(c) for c in re.findall(r"\W|\d", chars)}
    safe, run = [], None
    for lo, hi in CJK_RANGES:
        for c in range(lo, hi + 2):
            if c <= hi and c not in unsafe:
                run = run if run is not None else c
            elif run is not None:
                safe.append(f"{chr(run)}-{chr(c - 1)}")
                run = None
    return re.compile(f"[^\\x00-\\x7f{''.join(safe)}]")


def _needs_collapse(text: str) -> bool:
    """Whether `text` holds a character that the byte table would get wrong (_NOT_FOR_BYTES)."""
    m = _other_chars().search(text)
    return m is not None and _NOT_FOR_BYTES.search(text, m.start()) is not None


def _prenormalise(text: str, t2s: bool) -> str:
    """A non-ASCII text made ready for the byte table: its words are those of `normalize_text`.

    Han/Kana are left unspaced (`_split_cjk` makes each one a word, in numpy). Chinese and
    Japanese text is mostly Han/Kana and ASCII once its CJK punctuation is out: then only NFKC
    and lowercase are done here, and the byte table does the ASCII punctuation and digits.
    """
    if not has_cjk(text):
        return normalize_text(text, t2s, split_cjk=False)
    text = nfkc_lower_cjk(text, t2s)
    return collapse(text) if _needs_collapse(text) else text


_CJK_LO = np.array([lo for lo, _ in CJK_RANGES], np.int64)
_CJK_HI = np.array([hi for _, hi in CJK_RANGES], np.int64)


def _cjk_chars(b: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(first byte, width) of every Han/Kana character (curate.text.words.CJK_RANGES) in UTF-8
    bytes, or None when there is none. They are 3- and 4-byte sequences: decode just those."""
    size = len(b)
    starts, widths = [], []
    for width, mask, bits in ((3, 0xF0, 0xE0), (4, 0xF8, 0xF0)):
        pos = np.flatnonzero((b & np.uint8(mask)) == np.uint8(bits))
        pos = pos[pos + width <= size]
        if not len(pos):
            continue
        cp = (b[pos] & np.uint8(0xFF >> (width + 1))).astype(np.int64)
        for k in range(1, width):
            cp = (cp << 6) | (b[pos + k] & np.uint8(0x3F))
        r = np.searchsorted(_CJK_LO, cp, side="right") - 1  # the range starting at or below cp
        hit = (r >= 0) & (cp <= _CJK_HI[np.maximum(r, 0)])
        starts.append(pos[hit])
        widths.append(np.full(int(hit.sum()), width, np.int64))
    if not starts or not sum(len(s) for s in starts):
        return None
    return np.concatenate(starts), np.concatenate(widths)


def _split_cjk(b: np.ndarray, offs: np.ndarray, n: int, cjk: np.ndarray, width: np.ndarray) -> Normalised:
    """`normalise_batch` for a batch with Han/Kana: each such character is a word of its own, as
    if `normalize_text` had put spaces around it, and the texts are rebuilt with single spaces."""
    size = len(b)
    keep = b != _SPACE
    cut = np.zeros(size + 1, bool)  # a word boundary just before byte i
    cut[cjk] = True
    cut[cjk + width] = True
    cut[offs[1:-1]] = True  # a word never runs over into the next document
    kp = np.concatenate([[False], keep, [False]])  # kp[i] = keep[i - 1]
    starts = np.flatnonzero(kp[1:-1] & (~kp[:-2] | cut[:-1]))
    ends = np.flatnonzero(kp[:-1] & (~kp[1:] | cut))
    lens = ends - starts
    # From here as in normalise_batch: positions in the texts joined by single spaces.
    first_word = np.searchsorted(starts, offs)
    doc_words = np.diff(first_word)
    doc = np.repeat(np.arange(n), doc_words)
    chars = np.concatenate([[0], np.cumsum(lens)])
    norm_len = chars[first_word[1:]] - chars[first_word[:-1]] + np.maximum(doc_words - 1, 0)
    norm_off = np.concatenate([[0], np.cumsum(norm_len)])
    step = np.concatenate([[0], np.cumsum(lens + 1)])
    norm_start = norm_off[doc] + step[:-1] - step[first_word[doc]]
    # The bytes: every word byte and one space after each word but the last of its document: the
    # space byte that follows it where there is one, else one inserted (a Han/Kana cut).
    sep = ends[np.flatnonzero(doc[:-1] == doc[1:])]
    inside = keep[sep]
    keep[sep[~inside]] = True
    ins = sep[inside]
    out = np.insert(b, ins, _SPACE)[np.insert(keep, ins, True)]
    return Normalised(out, norm_off, norm_start, lens, doc_words)


def exact_keys(norm: Normalised) -> np.ndarray:
    """(n, 2) uint64: `exact_key` of each normalised text."""
    data, off = norm.buf.tobytes(), norm.doc_off.tolist()
    keys = [xxhash.xxh3_128_intdigest(data[off[i] : off[i + 1]]) for i in range(len(off) - 1)]
    out = np.empty((len(keys), 2), U64)
    out[:, 0] = [k >> 64 for k in keys]
    out[:, 1] = [k & 0xFFFFFFFFFFFFFFFF for k in keys]
    return out


def word_hashes(buf: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each word's bytes, 8 bytes at a time for all words at once.

    h = mix(length); per 8-byte chunk h = mix(h ^ chunk): mix64 is a bijection, so two different
    words of up to 8 bytes never collide, and longer ones as a good 64-bit hash.
    """
    padded = np.zeros(len(buf) + 8, np.uint8)
    padded[: len(buf)] = buf
    # Every position's next 8 bytes as one little-endian uint64 (an unaligned, overlapping view).
    win = np.ndarray((len(buf) + 1,), "<u8", padded, 0, (1,))
    with np.errstate(over="ignore"):
        h = mix64(length.astype(U64) * _K_LEN)
        sel = None  # the first chunk: every word (all have at least one byte)
        k = 0
        while sel is None or len(sel):
            rest = length - k if sel is None else length[sel] - k
            chunk = win[start + k if sel is None else start[sel] + k]
            short = np.flatnonzero(rest < 8)
            chunk[short] &= (U64(1) << (rest[short].astype(U64) * U64(8))) - U64(1)
            if sel is None:
                h ^= chunk
                mix64(h)
                sel = np.flatnonzero(rest > 8)
            else:
                h[sel] = mix64(h[sel] ^ chunk)
                sel = sel[rest > 8]
            k += 8
    return h

"""Exact fast encoding: many texts to the ids `Tokenizer.encode` gives them, cut into chunks.

`ChunkEncoder` cuts texts where tokenizers' byte-level split cuts too (`chunk_pattern`), keeps
each chunk's ids in a bounded cache and has tokenizers encode only the chunks it has not seen
(`ChunkLearner`, in a thread while the next texts are cut). The cut relies on character classes,
checked against tokenizers one character at a time (`CharCheck`); a tokenizer that is not a plain
byte-level BPE (`plain_byte_level`) is encoded by tokenizers whole.
"""

from __future__ import annotations

import functools
import itertools
import operator
import re
import unicodedata
import warnings
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers

# Unicode White_Space: what `\s` matches in tokenizers' byte-level split (Oniguruma). Python's
# own `\s` differs (it adds U+001C..U+001F), hence the explicit set.
WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
SPACE = re.compile(f"[{WHITESPACE}]")
ASTRAL = "\U00010000-\U0010ffff"  # outside the basic plane: never cut next to (see chunk_pattern)
MAX_CHUNKS = 1 << 19  # cached chunks (~80 MB); past this the cache starts over
MAX_CHUNK_CHARS = 256  # longer chunks (rarely repeated) are not kept past their slice
SEPARATOR = "\ufdd0"  # a Unicode noncharacter: the special token new chunks are joined with
LEARN_GROUP = 256  # new chunks per text handed to tokenizers
SLICE_CHARS = 1 << 18  # characters of text cut while tokenizers learns the previous slice's chunks
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


def _class_body(codes: list[int]) -> str:
    """A regex character-class body for these (sorted) code points, as ranges."""
    out, i = [], 0
    while i < len(codes):
        j = i
        while j + 1 < len(codes) and codes[j + 1] == codes[j] + 1:
            j += 1
        a, b = re.escape(chr(codes[i])), re.escape(chr(codes[j]))
        out.append(a if i == j else f"{a}-{b}")
        i = j + 1
    return "".join(out)


@functools.cache
def chunk_pattern() -> re.Pattern[str]:
    r"""Where ChunkEncoder cuts a text: a place where tokenizers' byte-level split cuts too.

    Its split is GPT-2's regex, `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|
    \s+(?!\S)|\s+`: runs of one class, letters (L), numbers (N), other (O) or whitespace. So
    besides where non-whitespace meets whitespace, it cuts wherever two non-whitespace classes
    meet, except after an apostrophe (`'s` takes the letters after it). Chinese and Japanese text
    has little whitespace: a whitespace-cut chunk is a whole clause or line, seldom seen twice,
    while its class runs (a run of Han/Kana letters, the 。「」（） and digits around it) repeat.
    A chunk is optional whitespace, then one class run that ends where the next class starts
    (not after an apostrophe); next to a character outside the basic plane (whose class is not
    in the tables below), or after an apostrophe, the rest of the whitespace-free run is taken
    whole, which is a safe cut (the whitespace one). The classes are Python's unicodedata
    categories (L*, N*, the rest) over the basic plane, built once (~40 ms); each character's
    class is also checked against tokenizers' own split before a chunk holding it is trusted
    (CharCheck).
    """
    letters, numbers = [], []
    for code in range(0x10000):
        cat = unicodedata.category(chr(code))[0]
        if cat == "L":
            letters.append(code)
        elif cat == "N":
            numbers.append(code)
    W, L, N, X = WHITESPACE, _class_body(letters), _class_body(numbers), ASTRAL
    return re.compile(
        f"[{W}]*(?:[{L}]+(?![{L}{X}])|[{N}]+(?![{N}{X}])|[^{W}{L}{N}{X}]+(?<!')(?![^{W}{L}{N}])|[^{W}]+)"
        f"|[{W}]+"
    )


def _char_class(c: str) -> str:
    """The class chunk_pattern gives a character: W(hitespace), L, N, O(ther), or X (outside the
    basic plane: only whether it is whitespace matters, no cut is made next to it)."""
    if SPACE.fullmatch(c):
        return "W"
    if c > "\uffff":
        return "X"
    cat = unicodedata.category(c)[0]
    return cat if cat in "LN" else "O"


@dataclass
class _Slice:
    """One slice of a batch of texts: those whose chunks were not all cached, the chunks being
    learned for them, and the texts sent to tokenizers whole."""

    out: list[bytes]  # its batch's ids, filled in slice by slice
    last: bool  # the batch's last slice: once it is finished, so is the batch
    pending: list[tuple[int, list[str]]]  # (text's index, its chunks): joined once learned
    new: set[str]  # chunks being learned and then kept: the next slice takes them as seen
    long: list[str]  # chunks being learned that are too long to keep past this slice
    groups: list[list[str]]  # ChunkLearner.plan's
    alone: list[str]
    whole: list[int]  # texts encoded by tokenizers whole
    encoding: Future | None  # -> (ChunkLearner.run's encodings, the whole texts' encodings)


def _slices(texts: Sequence[str], chars: int) -> Iterator[tuple[int, int]]:
    """(lo, hi) ranges of consecutive texts of about `chars` characters each (at least one text)."""
    lo, size = 0, 0
    for i, text in enumerate(texts):
        size += len(text)
        if size >= chars:
            yield lo, i + 1
            lo, size = i + 1, 0
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
        self._learner = ChunkLearner(tok) if plain else None
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
                bounds = list(_slices(texts, SLICE_CHARS))
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
            return _Slice(out, last, [], set(), [], [], [], [], None)
        unseen = set().union(*(c for _, c in pending)).difference(self._ids)  # C loops
        if ahead is not None:
            unseen.difference_update(ahead.new)
        whole: list[int] = []  # texts with a character the cut may misjudge: tokenizers splits them
        bad = self._check.disagreeing("".join(unseen))  # one set difference when all are known
        if bad:
            doubtful = {c for c in unseen if not bad.isdisjoint(c)}
            unseen.difference_update(doubtful)
            whole = [i for i, chunks in pending if not doubtful.isdisjoint(chunks)]
            pending = [(i, chunks) for i, chunks in pending if doubtful.isdisjoint(chunks)]
        new = list(unseen)
        lengths = np.fromiter(map(len, new), np.int64, len(new))
        long = [new[i] for i in np.flatnonzero(lengths > MAX_CHUNK_CHARS).tolist()]
        unseen.difference_update(long)
        groups, alone = self._learner.plan(new) if new else ([], [])
        encoding = pool.submit(self._tokenizers, groups, alone, [texts[i] for i in whole])
        return _Slice(out, last, pending, unseen, long, groups, alone, whole, encoding)

    def _tokenizers(self, groups: list[list[str]], alone: list[str], whole: list[str]) -> tuple:
        """What runs in the thread: tokenizers' own work, without the GIL."""
        learned = self._learner.run(groups, alone) if groups or alone else ([], [])
        return learned, self.tok.encode_batch_fast(whole, add_special_tokens=False) if whole else []

    def _finish(self, s: _Slice) -> list[bytes] | None:
        """Take in the slice's new chunks and join the ids of its texts that have them; its
        batch's ids, if this was the batch's last slice."""
        if s.encoding is not None:
            chunks_encoded, whole_encoded = s.encoding.result()
            if s.groups or s.alone:
                self._learner.collect(s.groups, s.alone, chunks_encoded, self.dtype, self._ids)
            for i, chunks in s.pending:
                s.out[i] = _joined(self._ids, chunks)
            for i, ids in zip(s.whole, _as_bytes(whole_encoded, self.dtype)):
                s.out[i] = ids
            for c in s.long:  # rarely seen twice: not kept (a later slice learns it again)
                del self._ids[c]
        return s.out if s.last else None

    def encode_whole(self, texts: Sequence[str]) -> list[bytes]:
        """tokenizers' own encoding of each text (its ids as `dtype` bytes)."""
        return _as_bytes(self.tok.encode_batch_fast(list(texts), add_special_tokens=False), self.dtype)


class ChunkLearner:
    """tokenizers' encoding of many short texts (new chunks), without its per-text overhead.

    Encoding each chunk as a text of its own costs tokenizers as much as a few hundred
    characters of a long text. So chunks are joined, LEARN_GROUP at a time, by SEPARATOR, the
    only special token of a second tokenizer over the same model (shared, not copied) and the
    same split: tokenizers cuts a text at its special tokens before anything else, so each chunk
    is encoded as if alone, and the separator's id, which BPE cannot produce, marks where the
    chunks' ids part. Chunks holding the text of a special token (which must stay text) or the
    separator are encoded alone.
    """

    def __init__(self, tok: Tokenizer) -> None:
        self.tok = tok
        self._joined = Tokenizer(tok.model)  # encode_special_tokens off: the separator splits
        self._joined.pre_tokenizer = tok.pre_tokenizer
        self._joined.add_special_tokens([AddedToken(SEPARATOR, special=True, normalized=False)])
        self._sep = self._joined.token_to_id(SEPARATOR)
        specials = [t.content for t in tok.get_added_tokens_decoder().values()]
        self._special = re.compile("|".join(map(re.escape, [SEPARATOR, *specials])))
        # A special token's text spanning two joined chunks cannot match: SEPARATOR is between.
        self._any_special = re.compile("|".join(map(re.escape, specials))) if specials else None
        assert not any(SEPARATOR in s for s in specials)

    def plan(self, chunks: Sequence[str]) -> tuple[list[list[str]], list[str]]:
        """The chunks in groups to encode joined, and those to encode alone."""
        everything = SEPARATOR.join(chunks)  # one C-level scan for the rare chunk that must go alone
        if everything.count(SEPARATOR) == max(len(chunks) - 1, 0) and not (
            self._any_special and self._any_special.search(everything)
        ):
            joinable, alone = list(chunks), []
        else:
            joinable, alone = [], []
            for c in chunks:
                (alone if self._special.search(c) else joinable).append(c)
        return [joinable[i : i + LEARN_GROUP] for i in range(0, len(joinable), LEARN_GROUP)], alone

    def run(self, groups: list[list[str]], alone: list[str]) -> tuple[list, list]:
        """tokenizers' encodings of the joined groups and of the chunks alone. All but the
        joins is tokenizers' own work, without the GIL: this is what runs in a thread."""
        joined = [SEPARATOR.join(g) for g in groups]
        return (
            self._joined.encode_batch_fast(joined, add_special_tokens=False),
            self.tok.encode_batch_fast(alone, add_special_tokens=False),
        )

    def collect(
        self,
        groups: list[list[str]],
        alone: list[str],
        encodings: tuple[list, list],
        dtype: np.dtype,
        out: dict[str, bytes],
    ) -> None:
        """Each chunk's ids from run's encodings, as the bytes of a `dtype` array, into `out`."""
        unsplit: list[str] = []
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
        out.update(zip(alone, _as_bytes(encodings[1], dtype)))
        if unsplit:
            encoded = self.tok.encode_batch_fast(unsplit, add_special_tokens=False)
            out.update(zip(unsplit, _as_bytes(encoded, dtype)))


def _joined(ids: dict[str, bytes], chunks: list[str]) -> bytes:
    """The chunks' ids end to end (KeyError if one is not in `ids`); itemgetter looks them all up
    in one call, a third faster than a map over `ids.__getitem__`."""
    if len(chunks) > 1:
        return b"".join(operator.itemgetter(*chunks)(ids))
    return ids[chunks[0]] if chunks else b""


def _as_bytes(encodings: list, dtype: np.dtype) -> list[bytes]:
    """The ids of each encoding as the bytes of a `dtype` array."""
    ids = [e.ids for e in encodings]
    flat = np.fromiter(itertools.chain.from_iterable(ids), dtype).tobytes()
    ends = np.cumsum([len(i) for i in ids]).tolist()
    size = np.dtype(dtype).itemsize
    return [flat[a * size : b * size] for a, b in zip([0, *ends], ends)]


def plain_byte_level(tok: Tokenizer) -> bool:
    """A tokenizer whose encoding is BPE over the byte-level regex split alone (`new_tokenizer`'s)."""
    pre, model = tok.pre_tokenizer, tok.model
    return (
        tok.normalizer is None
        and isinstance(pre, pre_tokenizers.ByteLevel)
        and pre.use_regex
        and not pre.add_prefix_space
        and isinstance(model, models.BPE)
        and model.dropout is None
        and tok.truncation is None
        and tok.padding is None
        # encode_special_tokens makes special tokens plain text; other added tokens would split.
        and all(t.special for t in tok.get_added_tokens_decoder().values())
    )


class CharCheck:
    """Characters whose class for chunk_pattern is theirs for tokenizers' split.

    tokenizers' class of a character c: a letter if " a" + c is one piece, a number if " 1" + c
    is, other if " !" + c is, whitespace if none is (`tokenizers_class`). Ours is `_char_class`;
    outside the basic plane (no cut is made next to such a character) only whether it is
    whitespace has to agree. With `classes=False`, only whitespace is compared (what a
    whitespace-only cut relies on).
    """

    def __init__(self, classes: bool = True) -> None:
        self._pre = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        self._classes = classes
        self._known: dict[str, bool] = {}
        self._ok: set[str] = set()  # characters known to agree

    def disagreeing(self, text: str) -> set[str]:
        """The characters of `text` the cut would misjudge; one C-level set difference when all
        are known (Chinese and Japanese chunks are mostly characters seen before)."""
        new = set(text).difference(self._ok)
        if not new:
            return set()
        unknown = [c for c in new if c not in self._known]
        for c, theirs in zip(unknown, self.tokenizers_class(unknown)):
            ours = _char_class(c)
            if ours == "X" or not self._classes:
                ok = (theirs == "W") == (ours == "W")
            else:
                ok = theirs == ours
            self._known[c] = ok
            if ok:
                self._ok.add(c)
        return {c for c in new if not self._known[c]}

    def agrees(self, text: str) -> bool:
        return not self.disagreeing(text)

    def tokenizers_class(self, chars: Sequence[str]) -> list[str]:
        """tokenizers' class of each character, L, N, O or W, from at most three splits of all of
        them: in " x" + c + " x" + d ..., " x" + c is one piece when c is of x's class (the
        space after it ends the piece whatever c is). Letters, most of a Chinese or Japanese
        text's ~3,000 new characters, are known after the first split."""
        classes = dict.fromkeys(chars, "W")
        rest = list(classes)
        for x, cls in (("a", "L"), ("1", "N"), ("!", "O")):
            if not rest:
                break
            pieces = self._pre.pre_tokenize_str("".join(f" {x}{c}" for c in rest))
            single = {start // 3 for _, (start, end) in pieces if end - start == 3 and start % 3 == 0}
            for i in single:
                classes[rest[i]] = cls
            rest = [c for i, c in enumerate(rest) if i not in single]
        return [classes[c] for c in chars]

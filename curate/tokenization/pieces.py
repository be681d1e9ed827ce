r"""Where tokenizers' byte-level split cuts, in Python, checked against tokenizers itself.

The split is GPT-2's regex, `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|
\s+(?!\S)|\s+`: runs of one class, letters (L), numbers (N), other (O) or whitespace, then each
piece's UTF-8 bytes written in the 256 characters BPE's vocabulary is made of. ChunkEncoder cuts
texts into pieces of it (`chunk_pattern`), and ChunkLearner hands tokenizers new ones already
mapped to those characters (`byte_level_table`). Both rely on the whitespace set and the character classes, which `CharCheck`
compares with tokenizers' own split, one character at a time; a tokenizer that is not a plain
byte-level BPE (`plain_byte_level`) is encoded by tokenizers whole.
"""

from __future__ import annotations

import codecs
import functools
import re
import unicodedata
from collections.abc import Sequence

from tokenizers import Tokenizer, models, pre_tokenizers

from curate.tokenization import unicode_classes

# Unicode White_Space: what `\s` matches in tokenizers' byte-level split (Oniguruma). Python's
# own `\s` differs (it adds U+001C..U+001F), hence the explicit set.
WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
SPACE = re.compile(f"[{WHITESPACE}]")
ASTRAL = "\U00010000-\U0010ffff"  # outside the basic plane: never cut next to (see chunk_pattern)


def _class_body(codes: list[int]) -> str:
    """A regex character-class body for these (sorted) code points, as ranges."""
    return _ranges_body(unicode_classes.runs(codes))


@functools.cache
def _classes() -> tuple[str, str]:
    """Regex class bodies of the letters and numbers of the basic plane (unicodedata's L* and
    N*), from the tables written out for this Unicode version or else computed (~20 ms)."""
    same = unicodedata.unidata_version == unicode_classes.UNIDATA_VERSION
    letters, numbers = (
        (unicode_classes.LETTERS, unicode_classes.NUMBERS) if same else unicode_classes.computed()
    )
    return _ranges_body(letters), _ranges_body(numbers)


def _ranges_body(flat: Sequence[int]) -> str:
    """A regex character-class body for (first, last) code point pairs, laid out flat."""
    out = []
    for a, b in zip(flat[::2], flat[1::2]):
        out.append(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}")
    return "".join(out)


@functools.cache
def chunk_pattern() -> re.Pattern[str]:
    r"""Where ChunkEncoder cuts a text: a place where tokenizers' byte-level split cuts too.

    The split cuts where non-whitespace meets whitespace and wherever two non-whitespace classes
    meet, except after an apostrophe (`'s` takes the letters after it). Chinese and Japanese text
    has little whitespace: a whitespace-cut chunk is a whole clause or line, seldom seen twice,
    while its class runs (a run of Han/Kana letters, the 。「」（） and digits around it) repeat.
    A chunk is one piece of the split: an optional space, then one class run that ends where the
    next class starts (not after an apostrophe), or a run of whitespace, cut as the split cuts
    it (`\s+(?!\S)` leaves the last space to the word after it, `\s+` takes the rest). Next
    to a character outside the basic plane (whose class is not in the tables), or after an
    apostrophe, the rest of the whitespace-free run is taken whole, which is a safe cut (the
    whitespace one): such a chunk is more than one piece. Cut as the split cuts, a Chinese
    line's first words are the same chunk as anywhere else, and new chunks go to tokenizers as
    pieces it need not split again (ChunkLearner): on Chinese news a tenth faster than with the
    whitespace before a word kept with it, at 8% more chunks in English (2026-12-02). Each
    character's class is checked (CharCheck) before a chunk holding it is trusted.
    """
    W, (L, N), X = WHITESPACE, _classes(), ASTRAL
    return re.compile(
        f" ?(?:[{L}]+(?![{L}{X}])|[{N}]+(?![{N}{X}])|[^{W}{L}{N}{X}]+(?<!')(?![^{W}{L}{N}])|[^{W}]+)"
        f"|[{W}]+(?![^{W}])|[{W}]+"
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


def map_bytes(text: str, table: str) -> str:
    """The text's UTF-8 bytes, each as the character `table` gives it (byte_level_table)."""
    return codecs.charmap_decode(text.encode("utf-8"), "strict", table)[0]


@functools.cache
def byte_level_table() -> str | None:
    """The character tokenizers' ByteLevel pre-tokenizer writes each byte as (GPT-2's table: the
    printable ones as themselves, the others as 256, 257, ... in byte order), 256 of them; None if
    tokenizers does not agree on every byte that UTF-8 text can hold."""
    keep = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    chars, extra = {b: chr(b) for b in keep}, 0x100
    for b in range(256):
        if b not in chars:
            chars[b], extra = chr(extra), extra + 1
    table = "".join(chars[b] for b in range(256))
    # A text whose UTF-8 holds every byte valid UTF-8 can (all but C0, C1 and F5..FF): ASCII,
    # U+0080..U+00BF (C2 and each continuation byte), then a character for each lead byte.
    codes = [*range(0xC0), *((lead & 0x1F) << 6 for lead in range(0xC2, 0xE0))]
    codes += [(lead & 0x0F) << 12 | (0x800 if lead == 0xE0 else 0) for lead in range(0xE0, 0xF0)]
    codes += [(lead & 0x07) << 18 | (0x10000 if lead == 0xF0 else 0) for lead in range(0xF0, 0xF5)]
    sample = "".join(map(chr, codes))
    pieces = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False).pre_tokenize_str(sample)
    theirs = "".join(p for p, _ in pieces)
    return table if theirs == map_bytes(sample, table) else None


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
        self._outside: re.Pattern[str] | None = None  # a character not in _ok when it was built
        self._built = 0  # len(_ok) then

    def disagreeing(self, text: str) -> set[str]:
        """The characters of `text` the cut would misjudge. Chinese and Japanese chunks are
        mostly characters seen before: a regex scan (C, ~3 ns a character) picks out those not
        known when it was built, where `set(text)` would hash every character (~27 ns)."""
        outside = self._outside.findall(text) if self._outside is not None else text
        new = set(outside).difference(self._ok)
        if new:
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
        # Built again (~8 ms for 5,000 characters) when characters known since are frequent.
        stale = self._outside is None or len(outside) > max(len(text) >> 5, 1 << 12)
        if stale and len(self._ok) > self._built:
            self._outside = re.compile(f"[^{_class_body(sorted(map(ord, self._ok)))}]")
            self._built = len(self._ok)
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

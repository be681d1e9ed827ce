"""HTML bytes -> Unicode -> main text.

Charset order: the HTTP header, then the HTML meta tag, then detection. A declared charset
that does not decode the bytes (servers lie) falls through to the next source.
"""

from __future__ import annotations

import codecs
import re
import signal
import threading

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.IGNORECASE)


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None


def decode_html(body: bytes, header_charset: str | None) -> tuple[str, str]:
    """Decode an HTML payload; returns (text, how) where `how` names the source of the charset."""
    m = _META_CHARSET.search(body[:4096])
    candidates = [
        ("header", _codec(header_charset)),
        ("meta", _codec(m.group(1).decode("ascii", "ignore")) if m else None),
    ]
    for how, enc in candidates:
        if enc is None:
            continue
        # latin-1 decodes anything: accept it only when it is what was declared *and* the bytes
        # are not valid UTF-8 (pages that say iso-8859-1 but send UTF-8 are common).
        if enc in ("latin-1", "iso8859-1", "cp1252") and _is_utf8(body):
            return body.decode("utf-8"), f"{how}_overridden_utf8"
        try:
            return body.decode(enc), how
        except (UnicodeDecodeError, LookupError):
            continue
    if _is_utf8(body):
        return body.decode("utf-8"), "detected"
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding

    enc = detect_encoding(body)
    return bytes_to_str(body, enc, fallback_encodings=("utf-8", "cp1252")), "detected"


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


MAX_DEPTH = 1000
DEPTH_CHECK_BYTES = 16_384
_TOO_DEEP = " > ".join(["*"] * MAX_DEPTH)  # an element with MAX_DEPTH - 1 ancestors


class ExtractTimeout(Exception):
    """A page took longer than its extraction budget."""


def _on_alarm(signum, frame) -> None:
    raise ExtractTimeout


def extract_with_budget(html: str, extractor: str, seconds: float) -> str:
    """`extract_text` that gives up after `seconds` (raises ExtractTimeout).

    A hostile page (deep nesting, pathological markup) must not stall a shard. The budget is a
    real-time interval timer, so it only works in a process's main thread (our workers); elsewhere
    the page is extracted without one. The record size limit bounds the work of the C extractors,
    whose calls a signal cannot interrupt; the timer catches the Python ones (trafilatura).
    Pages over the budget are dropped, so the default must sit far above any normal page (ms).
    """
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        return extract_text(html, extractor)
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return extract_text(html, extractor)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def extract_text(html: str, extractor: str = "resiliparse") -> str:
    """Main-content text of a page, paragraphs separated by newlines."""
    if extractor == "resiliparse":
        from resiliparse.extract.html2text import extract_plain_text
        from resiliparse.parse.html import HTMLTree

        tree = HTMLTree.parse(html)
        # Main-content extraction is quadratic in nesting depth (20,000 nested divs: 29 s) and a
        # signal cannot interrupt it, so such pages are refused before extraction. Pages under
        # DEPTH_CHECK_BYTES cannot nest deep enough to take long, and skip the check.
        if len(html) > DEPTH_CHECK_BYTES and tree.document is not None:
            if tree.document.query_selector(_TOO_DEEP) is not None:
                raise ExtractTimeout(f"nested deeper than {MAX_DEPTH} elements")
        return extract_plain_text(
            tree, main_content=True, alt_texts=False, links=False, list_bullets=True, preserve_formatting=True
        ).strip()
    if extractor == "trafilatura":
        import trafilatura

        return (
            trafilatura.extract(html, favor_precision=True, include_comments=False, deduplicate=False) or ""
        ).strip()
    if extractor == "none":
        return html
    raise ValueError(f"unknown extractor {extractor!r}")

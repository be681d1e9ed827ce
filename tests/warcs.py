"""Small WARC files for tests: real WARC/HTTP framing, one gzip member per record."""

from __future__ import annotations

import gzip
from pathlib import Path

PARAGRAPHS = [
    "The committee met on Tuesday to discuss the budget for the coming year, and most members agreed "
    "that the library should receive more money for new books and longer opening hours.",
    "Researchers at the university have found that regular walks in the park improve the mood of people "
    "who work in offices, especially when they take the walk during the lunch break.",
    "The recipe calls for two cups of flour, a pinch of salt and three eggs; mix them slowly and let the "
    "dough rest for an hour before you roll it out on the table.",
    "Der Ausschuss hat am Dienstag über den Haushalt gesprochen, und die meisten Mitglieder waren der "
    "Meinung, dass die Bibliothek mehr Geld für neue Bücher bekommen sollte.",
    "Le comité s'est réuni mardi pour discuter du budget de l'année prochaine, et la plupart des membres "
    "ont convenu que la bibliothèque devrait recevoir plus d'argent.",
]


def html_page(title: str, paragraphs: list[str]) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<html><head><title>{title}</title></head><body><nav><a href='/'>Home</a></nav>"
        f"<article><h1>{title}</h1>{body}</article><footer>Contact us</footer></body></html>"
    )


def warc_record(
    i: int, url: str, body: bytes, content_type: str = "text/html; charset=utf-8", status: str = "200 OK"
) -> bytes:
    http = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    head = (
        "WARC/1.0\r\nWARC-Type: response\r\n"
        f"WARC-Record-ID: <urn:uuid:{i:08d}-0000-4000-8000-000000000000>\r\n"
        f"WARC-Target-URI: {url}\r\nWARC-Date: 2024-03-01T00:00:00Z\r\n"
        f"Content-Type: application/http; msgtype=response\r\nContent-Length: {len(http)}\r\n\r\n"
    ).encode()
    return gzip.compress(head + http + b"\r\n\r\n", mtime=0)


def write_warc(path: Path, records: list[bytes]) -> Path:
    path.write_bytes(b"".join(records))
    return path


def small_crawl(directory: Path, files: int = 3, pages_per_file: int = 12) -> list[Path]:
    """A few WARC files with good pages, short pages, a 404 and a non-HTML record in each."""
    directory.mkdir(parents=True, exist_ok=True)
    out, n = [], 0
    for f in range(files):
        recs = []
        for p in range(pages_per_file):
            paras = [PARAGRAPHS[(f + p + k) % len(PARAGRAPHS)] + f" Page {f}-{p}." for k in range(1 + p % 3)]
            if p % 5 == 4:
                paras = ["Short page."]
            recs.append(
                warc_record(
                    n, f"https://site{f}.example.com/page/{p}", html_page(f"Page {f}-{p}", paras).encode()
                )
            )
            n += 1
        recs.append(
            warc_record(n, f"https://site{f}.example.com/missing", b"not found", status="404 Not Found")
        )
        n += 1
        recs.append(
            warc_record(
                n,
                f"https://site{f}.example.com/logo.png",
                b"\x89PNG\r\n\x1a\n" + bytes(64),
                content_type="image/png",
            )
        )
        n += 1
        out.append(write_warc(directory / f"crawl-{f:02d}.warc.gz", recs))
    return out

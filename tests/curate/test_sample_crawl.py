"""The sample crawl: deterministic, valid WARC, and labels that tell the truth about every page."""

from __future__ import annotations

import json
import random
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastwarc.warc import ArchiveIterator, WarcRecordType
from resiliparse.extract.html2text import extract_plain_text

from curate.extract import decode_html
from curate.text.normalize import words
from scripts.sample_crawl import KINDS, LABELS_NAME, N_FILES, build_sample_crawl, humaneval_problems, jaccard

LID_MODEL = Path(__file__).resolve().parents[2] / "models" / "lid.176.ftz"


@dataclass
class Response:
    file: str
    status: int
    content_type: str
    http_length: str | None
    body: bytes
    payload_ok: bool

    @property
    def charset(self) -> str | None:
        return self.content_type.split("charset=")[-1] if "charset=" in self.content_type else None

    def text(self) -> str:
        return extract_plain_text(decode_html(self.body, self.charset)[0], main_content=True)


@pytest.fixture(scope="module")
def crawl_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample") / "sample"
    build_sample_crawl(out, seed=0)
    return out


@pytest.fixture(scope="module")
def labels(crawl_dir: Path) -> dict[str, dict]:
    rows = [json.loads(line) for line in (crawl_dir / LABELS_NAME).read_text("utf-8").splitlines()]
    by_url = {r["url"]: r for r in rows}
    assert len(by_url) == len(rows), "label URLs must be unique"
    return by_url


@pytest.fixture(scope="module")
def records(crawl_dir: Path) -> tuple[dict[str, Response], Counter]:
    """Every response by URL, plus a count of record types per file; asserts framing on the way."""
    responses: dict[str, Response] = {}
    types: Counter = Counter()
    ids: set[str] = set()
    for path in sorted(crawl_dir.glob("*.warc.gz")):
        with open(path, "rb") as f:
            for k, rec in enumerate(ArchiveIterator(f, parse_http=True)):
                types[(path.name, rec.headers["WARC-Type"])] += 1
                assert rec.record_id not in ids
                ids.add(rec.record_id)
                if k == 0:
                    assert rec.record_type == WarcRecordType.warcinfo
                if rec.record_type != WarcRecordType.response:
                    continue
                url = rec.headers["WARC-Target-URI"]
                assert url not in responses, f"duplicate WARC-Target-URI {url}"
                payload_ok = rec.verify_payload_digest()
                h = rec.http_headers
                responses[url] = Response(
                    path.name, h.status_code, h.get("Content-Type", ""), h.get("Content-Length"),
                    rec.reader.read(), payload_ok,
                )  # fmt: skip
    return responses, types


CJK = ("zh", "ja")


def _gzip_members(data: bytes) -> int:
    n = 0
    while data:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        d.decompress(data)
        data, n = d.unused_data, n + 1
    return n


def test_same_seed_is_byte_identical_and_other_seed_differs(crawl_dir: Path, tmp_path: Path) -> None:
    again = build_sample_crawl(tmp_path / "again", seed=0)
    assert [p.name for p in again] == [f"crawl-{i:05d}.warc.gz" for i in range(N_FILES)]
    for name in [p.name for p in again] + [LABELS_NAME]:
        assert (tmp_path / "again" / name).read_bytes() == (crawl_dir / name).read_bytes(), name
    other = build_sample_crawl(tmp_path / "other", seed=1)
    assert other[0].read_bytes() != again[0].read_bytes()


def test_rebuild_in_place_leaves_files_untouched(crawl_dir: Path) -> None:
    before = {p.name: p.stat().st_mtime_ns for p in crawl_dir.iterdir()}
    build_sample_crawl(crawl_dir, seed=0)
    assert {p.name: p.stat().st_mtime_ns for p in crawl_dir.iterdir()} == before


def test_size_and_one_gzip_member_per_record(crawl_dir: Path, records) -> None:
    _, types = records
    total = 0
    for path in sorted(crawl_dir.glob("*.warc.gz")):
        data = path.read_bytes()
        total += len(data)
        n_records = sum(v for (name, _), v in types.items() if name == path.name)
        assert _gzip_members(data) == n_records
    assert 2_000_000 < total < 8_000_000


def test_records_match_labels(records, labels) -> None:
    responses, types = records
    assert set(responses) == set(labels)
    per_file = Counter(r["file"] for r in labels.values())
    for name, n in per_file.items():
        assert types[(name, "response")] == n
        assert types[(name, "request")] == n
        assert types[(name, "warcinfo")] == 1
    for url, r in responses.items():
        assert r.file == labels[url]["file"]
        assert r.payload_ok, url
        assert r.http_length == str(len(r.body)), url


def test_block_digests(crawl_dir: Path) -> None:
    for path in sorted(crawl_dir.glob("*.warc.gz")):
        with open(path, "rb") as f:
            kinds = WarcRecordType.request | WarcRecordType.response
            recs = ArchiveIterator(f, record_types=kinds, parse_http=False)
            assert all(rec.verify_block_digest() for rec in recs), path


def test_kinds_languages_and_volume(labels) -> None:
    kinds = Counter(r["kind"] for r in labels.values())
    assert set(kinds) == set(KINDS)
    assert 1500 <= len(labels) <= 2500
    assert kinds["exact_duplicate"] >= 50 and kinds["near_duplicate"] >= 70 and kinds["spam"] >= 50
    assert kinds["boilerplate"] >= 30 and kinds["humaneval"] >= 15
    langs = Counter(r["lang"] for r in labels.values() if r["lang"])
    assert {"en", "de", "fr", "es"} <= set(langs)
    assert 0.6 <= langs["en"] / len(labels) <= 0.8
    assert len({r["domain"] for r in labels.values()}) >= 12


def test_http_headers(records, labels) -> None:
    responses, _ = records
    for url, r in responses.items():
        kind = labels[url]["kind"]
        if kind == "good":
            assert r.status == 200 and r.content_type == "text/html; charset=utf-8"
        elif kind == "non_html":
            assert r.content_type.split(";")[0] in {"application/pdf", "image/png", "application/json"}
        elif kind == "http_error":
            assert r.status in (301, 404)


def test_good_pages_have_real_length(records, labels) -> None:
    responses, _ = records
    counts = [
        len(responses[u].text().split())
        for u, r in labels.items()
        if r["kind"] == "good" and r["lang"] not in CJK
    ]
    assert min(counts) >= 150 and max(counts) <= 1300
    # Chinese and Japanese pages (scripts/sample_cjk.py): their length in Han/Kana characters
    chars = [
        len(words(responses[u].text())) for u, r in labels.items() if r["kind"] == "good" and r["lang"] in CJK
    ]
    assert len(chars) >= 50 and min(chars) >= 200 and max(chars) <= 2000


def test_language_id_agrees_with_labels(records, labels) -> None:
    if not LID_MODEL.exists():
        pytest.skip(f"{LID_MODEL} not found (make install puts it there)")
    import fasttext

    model = fasttext.load_model(str(LID_MODEL))
    responses, _ = records
    goods = [u for u, r in labels.items() if r["kind"] == "good"]
    hits = 0
    for url in goods:
        (label,), _ = model.predict(responses[url].text().replace("\n", " "))
        hits += label == f"__label__{labels[url]['lang']}"
    assert hits / len(goods) >= 0.95


def test_duplicates_against_their_sources(records, labels) -> None:
    responses, _ = records
    for url, r in labels.items():
        if r["kind"] == "exact_duplicate":
            assert responses[url].text() == responses[r["source"]].text()
            assert responses[url].body != responses[r["source"]].body  # boilerplate differs
        elif r["kind"] == "near_duplicate":
            if r["lang"] in CJK:  # character 5-grams: a whitespace "word" is a clause there
                a, b = words(responses[url].text()), words(responses[r["source"]].text())
                j = jaccard(" ".join(a), " ".join(b))
            else:
                j = jaccard(responses[url].text(), responses[r["source"]].text())
            assert 0.7 <= j <= 0.98, (url, j)


def test_unrelated_pages_are_far_apart(records, labels) -> None:
    responses, _ = records
    goods = sorted(u for u, r in labels.items() if r["kind"] == "good")
    rng = random.Random(0)
    texts = {u: responses[u].text() for u in rng.sample(goods, 120)}
    urls = list(texts)
    worst = max(jaccard(texts[a], texts[b]) for a, b in (rng.sample(urls, 2) for _ in range(300)))
    assert worst < 0.1


def test_charset_cases_decode(records, labels) -> None:
    responses, _ = records
    cases = {r["notes"]: responses[u] for u, r in labels.items() if r["kind"] == "wrong_charset"}
    assert len(cases) >= 4
    for note, r in cases.items():
        text, _ = decode_html(r.body, r.charset)
        assert any(c in text for c in "äöüßéèàçñáó"), note
        with pytest.raises(UnicodeDecodeError):
            r.body.decode("utf-8")
    liar = next(r for note, r in cases.items() if "utf-8 but" in note)
    assert liar.charset == "utf-8"
    meta_only = next(r for note, r in cases.items() if "meta" in note)
    assert meta_only.charset is None and b"<meta charset=" in meta_only.body


def test_humaneval_pages_quote_problems(records, labels) -> None:
    responses, _ = records
    prompts = {p["task_id"]: p for p in humaneval_problems()}
    pages = [(u, r) for u, r in labels.items() if r["kind"] == "humaneval"]
    assert len({r["source"] for _, r in pages}) == len(pages)
    for url, r in pages:
        problem = prompts[r["source"]]
        html = responses[url].body.decode("utf-8")
        assert "<pre><code" in html
        assert problem["entry_point"].lower() in html.lower()
        if "variant=full" in r["notes"]:
            text = responses[url].text()
            assert problem["prompt"].strip().splitlines()[-1].strip() in text

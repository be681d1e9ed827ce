from __future__ import annotations

import json
import random
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasketch import MinHash

from curate.config import ConfigError
from curate.dedup.clusters import exact_originals, representatives, size_histogram
from curate.dedup.lsh import above_floor, candidate_probability
from curate.dedup.minhash import (
    band_hashes,
    exact_key,
    exact_keys,
    jaccard_estimate,
    minhash,
    mix64,
    normalise_batch,
    normalised_words,
    shingle_hashes,
    word_hashes,
)
from curate.errors import StageFailed
from curate.manifest import Manifest
from curate.pipeline import load_pipeline
from curate.runner import Pipeline
from curate.stages.dedup import DedupConfig, MinhashConfig
from curate.text.normalize import normalize_text, word_ngrams

RNG = random.Random(7)
VOCAB = ["".join(RNG.choices("abcdefghijklmnopqrstuvwxyz", k=RNG.randint(3, 9))) for _ in range(3000)]


def doc_words(rng: random.Random, n: int = 200) -> list[str]:
    return rng.choices(VOCAB, k=n)


def mutate(words: list[str], changes: int, rng: random.Random) -> list[str]:
    out = list(words)
    for i in rng.sample(range(len(out)), changes):
        out[i] = rng.choice(VOCAB)
    return out


def true_jaccard(a: str, b: str, n: int = 5) -> float:
    sa, sb = (set(word_ngrams(normalised_words(t)[1], n)) for t in (a, b))
    return len(sa & sb) / len(sa | sb)


# --------------------------------------------------------------------------- signatures


def test_shingle_hashes_follow_the_shingle_strings() -> None:
    texts = ["The cat sat on the mat, and the cat sat.", "the CAT sat on the mat!", "two words", "", "one"]
    words = [normalised_words(t)[1] for t in texts]
    hashes, counts = shingle_hashes(words, 3)
    assert counts.tolist() == [len(word_ngrams(w, 3)) for w in words]
    seen: dict[str, int] = {}
    pos = 0
    for w, c in zip(words, counts):
        for s, h in zip(word_ngrams(w, 3), hashes[pos : pos + c].tolist()):
            assert seen.setdefault(s, h) == h  # the same shingle hashes the same in every document
        pos += c
    assert len(set(seen.values())) == len(seen)  # and different shingles differently


def test_jaccard_estimates_match_datasketch() -> None:
    rng = random.Random(1)
    base = " ".join(doc_words(rng, 300))
    others = [" ".join(mutate(base.split(), k, rng)) for k in (0, 3, 10, 25, 50, 100)]
    words = [normalised_words(t)[1] for t in [base, *others]]
    hashes, counts = shingle_hashes(words, 5)
    sig = minhash(hashes, counts, 112, seed=1)

    def datasketch_sig(w: list[str]) -> MinHash:
        m = MinHash(num_perm=112, seed=1)
        m.update_batch([s.encode() for s in word_ngrams(w, 5)])
        return m

    ref = datasketch_sig(words[0])
    ours, theirs, truth = [], [], []
    for i, w in enumerate(words[1:], start=1):
        ours.append(float(jaccard_estimate(sig[0], sig[i])))
        theirs.append(ref.jaccard(datasketch_sig(w)))
        truth.append(true_jaccard(" ".join(words[0]), " ".join(w)))
    # Both are unbiased estimates with sd ~ sqrt(J(1-J)/112) <= 0.047.
    assert np.max(np.abs(np.array(ours) - np.array(theirs))) < 0.2
    assert np.mean(np.abs(np.array(ours) - np.array(truth))) < 0.06
    assert ours[0] == 1.0 and truth[-1] < 0.2


def test_minhash_estimates_are_unbiased_with_binomial_spread() -> None:
    # Each permutation's minimum must be a uniform pick from the union of the two shingle sets,
    # independently across permutations: then the estimate has mean J, sd sqrt(J(1-J)/112).
    rng = np.random.default_rng(0)
    for jac in (0.5, 0.8, 0.95):
        n, pairs = 150, 300
        inter = round(2 * n * jac / (1 + jac))
        hashes = []
        for _ in range(pairs):  # pair p is documents 2p, 2p + 1 sharing `inter` shingles
            h = mix64(rng.integers(0, 2**63, 2 * n - inter, dtype=np.uint64))
            hashes += [h[:n], h[n - inter :]]
        sig = minhash(np.concatenate(hashes), np.full(2 * pairs, n), 112, seed=3)
        errors = jaccard_estimate(sig[0::2], sig[1::2]) - inter / (2 * n - inter)
        sd = np.sqrt(jac * (1 - jac) / 112)
        assert abs(np.mean(errors)) < 4 * sd / np.sqrt(pairs), jac
        assert 0.8 * sd < np.std(errors) < 1.2 * sd, jac


def test_batch_normalisation_matches_normalize_text() -> None:
    every = "".join(chr(c) for c in range(128))
    rng = random.Random(2)
    texts = [every, "", None, "  ", "Hello, World! 2024", "a", "ab\x1ccd", "snake_case x1y2"]
    texts += ["Ünïcödé ﬁ ligature, ２０２４ full-width", "İstanbul STRASSE straße", "naïve\u00a0café\u2028٣"]
    texts += ["".join(rng.choices(every + "aaaa    éü٣\u00a0", k=rng.randint(0, 40))) for _ in range(400)]
    for arr in (
        pa.array(texts, pa.string()),
        pa.array(texts, pa.large_string()).slice(7),  # an offset into the buffers
        pa.chunked_array([pa.array(texts[:100]), pa.array(texts[100:])]),
        texts,
    ):
        norm = normalise_batch(arr)
        got_words = [bytes(norm.buf[s : s + n]).decode() for s, n in zip(norm.word_start, norm.word_len)]
        keys = exact_keys(norm)
        w = 0
        for i, text in enumerate(arr.to_pylist() if not isinstance(arr, list) else arr):
            want = normalize_text(text or "")
            assert bytes(norm.buf[norm.doc_off[i] : norm.doc_off[i + 1]]).decode() == want, repr(text)
            assert got_words[w : w + norm.doc_words[i]] == (want.split(" ") if want else []), repr(text)
            assert tuple(int(k) for k in keys[i]) == exact_key(want)
            w += norm.doc_words[i]
        assert w == len(got_words)
    assert len(normalise_batch([]).doc_off) == 1


def test_word_hashes_are_equal_exactly_for_equal_words() -> None:
    rng = random.Random(4)
    # Long words that share 8- and 16-byte prefixes, and short ones that differ in one byte.
    words = ["".join(rng.choices("ab", k=rng.randint(1, 40))) for _ in range(5000)]
    words += ["abcdefgh", "abcdefghx", "abcdefghy", "abcdefgh" * 2, "abcdefgh" * 2 + "z", "a", "b", "0"]
    norm = normalise_batch([" ".join(words[: len(words) // 2]), " ".join(words[len(words) // 2 :])])
    h = word_hashes(norm.buf, norm.word_start, norm.word_len).tolist()
    seen: dict[str, int] = {}
    for word, x in zip(words, h):
        assert seen.setdefault(word, x) == x
    assert len(set(seen.values())) == len(seen)


def test_band_hashes_equal_only_for_equal_bands() -> None:
    sig = np.arange(4 * 16, dtype=np.uint32).reshape(4, 16)
    sig[1] = sig[0]
    sig[2, :8] = sig[0, :8]  # band 0 agrees, band 1 does not
    b = band_hashes(sig, 2, 8)
    assert b[0, 0] == b[0, 1] == b[0, 2] and b[1, 0] == b[1, 1] != b[1, 2]
    assert b[0, 3] != b[0, 0]


def test_empty_documents_get_no_signature() -> None:
    hashes, counts = shingle_hashes([[], ["a", "b"]], 5)
    sig = minhash(hashes, counts, 16, seed=0)
    assert counts.tolist() == [0, 1] and (sig[0] == 0xFFFFFFFF).all() and (sig[1] != 0xFFFFFFFF).any()


def test_clusters_keep_the_earliest_document() -> None:
    assert representatives(6, np.array([[1, 4], [4, 5], [0, 2]])).tolist() == [0, 1, 0, 3, 1, 1]
    keys = np.array([[1, 2], [3, 4], [1, 2], [5, 5], [3, 4], [1, 2]], np.uint64)
    assert exact_originals(keys, 0).tolist() == [-1, -1, 0, -1, 1, 0]
    assert exact_originals(keys, 2).tolist() == [0, -1, 1, 0]  # ordinals 0, 1 are an index
    assert size_histogram(np.array([0, 0, 2, 3, 3, 3, 3])) == {"1": 1, "2": 1, "3-4": 1}


def test_components_match_scipy_connected_components() -> None:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    rng = np.random.default_rng(1)
    for _ in range(200):
        n = int(rng.integers(1, 200))
        edges = rng.integers(0, n, (int(rng.integers(1, 2 * n)), 2))
        graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
        labels = connected_components(graph, directed=False)[1]
        rep = representatives(n, edges)
        smallest = {int(lab): int(np.flatnonzero(labels == lab)[0]) for lab in np.unique(labels)}
        assert rep.tolist() == [smallest[int(lab)] for lab in labels]
    chain = np.stack([np.arange(1, 5000), np.arange(4999)], axis=1)[rng.permutation(4999)]
    assert (representatives(5000, chain) == 0).all()


def test_config_checks_and_threshold_derivation() -> None:
    assert DedupConfig(minhash=False).minhash is None
    assert isinstance(DedupConfig(minhash=True).minhash, MinhashConfig)
    assert MinhashConfig().band_rows == (14, 8)
    b, r = MinhashConfig(threshold=0.8).band_rows
    assert b * r <= 112 and 0.6 < (1 / b) ** (1 / r) < 0.9
    with pytest.raises(ValueError):
        DedupConfig(exact=False, minhash=None)
    with pytest.raises(ValueError):
        MinhashConfig(bands=4)
    with pytest.raises(ValueError):
        DedupConfig(keep="longest")


# --------------------------------------------------------------------------- the stage


def corpus(seed: int = 0, distinct: int = 60) -> tuple[list[dict], dict[str, str]]:
    """Distinct pages plus planted copies; returns docs and url -> url of the page it copies."""
    rng = random.Random(seed)
    docs, copies = [], {}
    for i in range(distinct):
        docs.append({"url": f"https://s{seed}.example/{i}", "text": " ".join(doc_words(rng))})
    for j in range(distinct // 3):
        src = docs[rng.randrange(distinct)]
        words = src["text"].split()
        if j % 2:  # exact after normalisation: case, punctuation and digits differ
            text = ", ".join(w.upper() for w in words[:10]) + " " + " ".join(words[10:]) + " !!"
        else:  # near: 2 words of 200 replaced (Jaccard ~ 0.9)
            text = " ".join(mutate(words, 2, rng))
        url = f"https://s{seed}.example/copy-{j}"
        docs.append({"url": url, "text": text})
        copies[url] = src["url"]
    return docs, copies


def run(
    tmp_path: Path,
    docs: list[dict],
    dedup: str,
    workers: int = 1,
    shards: int = 3,
    name: str = "run",
    executor: str = "local",
) -> Path:
    inp = tmp_path / f"{name}-in"
    inp.mkdir(parents=True, exist_ok=True)
    for s in range(shards):
        rows = docs[s * len(docs) // shards : (s + 1) * len(docs) // shards]
        (inp / f"part-{s}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    yaml_path = tmp_path / f"{name}.yaml"
    yaml_path.write_text(
        textwrap.dedent(f"""
        name: test
        workdir: {tmp_path / name}
        input: {{paths: ["{inp}/*.jsonl"], format: jsonl}}
        executor: {{type: {executor}, workers: {workers}}}
        allow_outside_paths: true
        stages:
          - ingest: {{extractor: none}}
          - dedup: {dedup}
        """)
    )
    Pipeline(load_pipeline(yaml_path), verbose=False).run()
    return tmp_path / name / "01_dedup"


def rows(stage_dir: Path, removed: bool = False) -> list[dict]:
    pattern = "removed/part-*.parquet" if removed else "part-*.parquet"
    return [r for p in sorted(stage_dir.glob(pattern)) for r in pq.read_table(p).to_pylist()]


def test_removes_planted_duplicates_and_keeps_the_first(tmp_path: Path) -> None:
    docs, copies = corpus()
    out = run(tmp_path, docs, "{exact: true, minhash: {ngram: 5, bands: 14, rows: 8}}", workers=2)
    kept, removed = rows(out), rows(out, removed=True)
    assert len(kept) + len(removed) == len(docs)
    by_url = {r["url"]: r for r in kept + removed}
    assert {r["url"] for r in removed} == set(copies)
    for r in removed:
        assert r["duplicate_of"] == by_url[copies[r["url"]]]["id"]
        want = "exact_duplicate" if r["url"].endswith(("1", "3", "5", "7", "9")) else "minhash_duplicate"
        assert r["reason"] == want, r["url"]
    stats = Manifest.load(out).steps["finalize"]["summary"]
    assert stats["exact_duplicates"] + stats["minhash_duplicates"] == len(copies)
    assert sum(stats["cluster_sizes"].values()) == len(kept)
    # The same result whatever the number of workers.
    again = run(
        tmp_path, docs, "{exact: true, minhash: {ngram: 5, bands: 14, rows: 8}}", workers=1, name="w1"
    )

    def summary(rs: list[dict], kept_rows: list[dict]) -> list[tuple]:
        url_of = {r["id"]: r["url"] for r in kept_rows}  # ids depend on the input path
        return [(r["url"], r["reason"], url_of[r["duplicate_of"]]) for r in rs]

    assert summary(rows(again, removed=True), rows(again)) == summary(removed, kept)


def test_exact_only_and_minhash_off(tmp_path: Path) -> None:
    docs, copies = corpus(seed=1)
    out = run(tmp_path, docs, "{exact: true, minhash: false}")
    removed = rows(out, removed=True)
    assert {r["reason"] for r in removed} == {"exact_duplicate"}
    assert len(removed) == len(copies) // 2 and not (out / "_pairs").exists()


def pair_at_half_and_pair_near_one() -> list[dict]:
    """b is a at Jaccard ~ 0.5 (a candidate with 56 bands of 2 rows), c is a at ~ 0.95; six others."""
    rng = random.Random(3)
    base = doc_words(rng, 200)
    docs = [
        {"url": "https://x.example/a", "text": " ".join(base)},
        {"url": "https://x.example/b", "text": " ".join(base[:100] + doc_words(rng, 100))},
        {"url": "https://x.example/c", "text": " ".join(mutate(base, 1, rng))},
    ]
    return docs + [{"url": f"https://x.example/z{i}", "text": " ".join(doc_words(rng))} for i in range(6)]


def test_verify_drops_pairs_below_the_threshold(tmp_path: Path) -> None:
    docs = pair_at_half_and_pair_near_one()
    # min_estimate: 0 keeps every LSH candidate, so that only verification can drop b.
    loose = "{exact: true, minhash: {bands: 56, rows: 2, threshold: 0.8, min_estimate: 0, verify: VERIFY}}"
    plain = rows(run(tmp_path, docs, loose.replace("VERIFY", "false"), name="plain"), removed=True)
    checked_dir = run(tmp_path, docs, loose.replace("VERIFY", "true"), name="checked")
    checked = rows(checked_dir, removed=True)
    assert {r["url"] for r in plain} == {"https://x.example/b", "https://x.example/c"}
    assert {r["url"] for r in checked} == {"https://x.example/c"}
    stats = Manifest.load(checked_dir).steps["finalize"]["summary"]
    assert stats["verified_pairs"] < stats["candidate_pairs"]


def test_estimate_floor_drops_lsh_collisions_below_it(tmp_path: Path) -> None:
    """The default floor (threshold - 3 sd) drops the loose LSH's candidate at Jaccard ~0.5."""
    docs = pair_at_half_and_pair_near_one()
    out = run(tmp_path, docs, "{exact: true, minhash: {bands: 56, rows: 2, threshold: 0.8}}")
    assert {r["url"] for r in rows(out, removed=True)} == {"https://x.example/c"}
    stats = Manifest.load(out).steps["finalize"]["summary"]
    assert stats["below_floor_edges"] >= 1
    assert stats["estimate_floor"] == pytest.approx(0.8 - 3 * (0.8 * 0.2 / 112) ** 0.5, abs=1e-4)


def test_estimate_floor_config() -> None:
    assert MinhashConfig().estimate_floor == pytest.approx(0.591, abs=0.001)  # 14 x 8, t = 0.7186
    assert MinhashConfig(min_estimate=0).estimate_floor == 0
    assert MinhashConfig(bands=20, rows=5, min_estimate=0.5).estimate_floor == 0.5
    with pytest.raises(ValueError, match="min_estimate"):
        MinhashConfig(min_estimate=1.5)


def test_above_floor_reads_signatures_of_index_and_shards(tmp_path: Path) -> None:
    """Edges between an index document (ordinal < first) and a new one, and between new ones."""
    rng = np.random.default_rng(0)
    index, shard = tmp_path / "index", tmp_path / "shard"
    index.mkdir(), shard.mkdir()
    old = rng.integers(0, 2**32, (3, 100), dtype=np.uint32)
    new = rng.integers(0, 2**32, (4, 100), dtype=np.uint32)
    new[0, :70] = old[2, :70]  # estimate 0.70 with index doc 2
    new[1, :40] = old[0, :40]  # 0.40 with index doc 0
    new[3, :95] = new[2, :95]  # 0.95 between two new ones
    np.save(index / "sig.npy", old)
    np.save(shard / "sig.npy", new)
    edges = np.array([[2, 3], [0, 4], [5, 6], [1, 6]], np.int64)  # new ordinals start at 3
    offsets = np.array([0, 3], np.int64)
    kept = above_floor(edges, offsets, [str(index), str(shard)], 0.6)
    assert kept.tolist() == [[2, 3], [5, 6]]
    assert above_floor(edges, offsets, [str(index), str(shard)], 0.0).tolist() == edges.tolist()


def test_against_an_index_of_other_normalisation_is_an_error(tmp_path: Path) -> None:
    """t2s changes every exact and band key: an index built with it cannot serve a run without."""
    first, _ = corpus(seed=2, distinct=10)
    first_dir = run(tmp_path, first, "{t2s: true}", name="first")
    meta = json.loads((first_dir / "_index" / "meta.json").read_text(encoding="utf-8"))
    assert meta["t2s"] is True
    with pytest.raises(StageFailed, match=r"built with t2s: true, this run uses t2s: false"):
        run(tmp_path, first, f"{{against: {first_dir}}}", name="second")
    again = run(tmp_path, first, f"{{t2s: true, against: {first_dir}}}", name="third")
    assert len(rows(again)) == 0  # every document is in the index


def test_incremental_against_an_earlier_run(tmp_path: Path) -> None:
    first, _ = corpus(seed=2, distinct=30)
    first_dir = run(tmp_path, first, "{}", name="first")
    first_kept = {r["url"]: r["id"] for r in rows(first_dir)}
    rng = random.Random(5)
    old = [d for d in first if d["url"] in first_kept][:10]
    fresh = [{"url": f"https://new.example/{i}", "text": " ".join(doc_words(rng))} for i in range(12)]
    second = fresh[:6] + [{"url": d["url"] + "?again", "text": d["text"]} for d in old[:5]]
    second += [
        {"url": d["url"] + "?edited", "text": " ".join(mutate(d["text"].split(), 2, rng))} for d in old[5:]
    ]
    second += fresh[6:]
    out = run(tmp_path, second, f"{{against: {first_dir}}}", name="second")
    removed = rows(out, removed=True)
    assert {r["url"] for r in removed} == {d["url"] + "?again" for d in old[:5]} | {
        d["url"] + "?edited" for d in old[5:]
    }
    for r in removed:
        assert r["duplicate_of"] == first_kept[r["url"].split("?")[0]]
    # The second index covers both runs: a third crawl against it alone still finds first-run copies.
    third = [
        {"url": "https://t.example/1", "text": old[0]["text"]},
        {"url": "https://t.example/2", "text": fresh[0]["text"]},
    ]
    third += [{"url": "https://t.example/3", "text": " ".join(doc_words(rng))}]
    gone = rows(run(tmp_path, third, f"{{against: {out / '_index'}}}", shards=1, name="third"), removed=True)
    assert sorted(r["url"] for r in gone) == ["https://t.example/1", "https://t.example/2"]


def test_against_with_other_parameters_is_refused(tmp_path: Path) -> None:
    docs, _ = corpus(seed=4, distinct=9)
    first = run(tmp_path, docs, "{}", name="a")
    with pytest.raises(Exception, match="ngram"):
        run(tmp_path, docs, f"{{minhash: {{ngram: 3}}, against: {first}}}", name="b")


def test_unknown_key_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ngrams"):
        run(tmp_path, corpus()[0][:3], "{minhash: {ngrams: 5}}")


def test_ascii_fast_path_matches_normalize_text() -> None:
    from curate.text.normalize import normalize_text

    every = "".join(chr(c) for c in range(128))
    rng = random.Random(0)
    samples = [every, "", "  ", "Hello, World! 2024", "snake_case_name x1y2"]
    samples += ["".join(rng.choices(every + "aaaa    ", k=rng.randint(0, 40))) for _ in range(500)]
    samples += ["Ünïcödé ﬁ ligature, ２０２４ full-width"]  # the non-ASCII path
    for text in samples:
        norm = normalize_text(text)
        assert normalised_words(text) == (norm, norm.split(" ") if norm else []), repr(text)


def test_prepare_resumes_from_the_files_on_disk(tmp_path: Path) -> None:
    from curate.stage import Shard, StageContext
    from curate.stages.dedup import Dedup

    docs, copies = corpus(seed=6, distinct=30)
    out = run(tmp_path, docs, "{}")
    shards = [
        Shard(i, str(p))
        for i, p in enumerate(sorted((tmp_path / "run" / "00_ingest").glob("part-*.parquet")))
    ]
    before = {p.name: p.stat().st_mtime_ns for p in (out / "_sig").iterdir()}
    clusters = [pq.read_table(p) for p in sorted((out / "_clusters").glob("*.parquet"))]
    # As if killed after the signatures of shard 1 and the band pass: the rest is redone, not those.
    import shutil

    shutil.rmtree(out / "_sig" / "part-00002")
    (out / "_clusters" / "_stats.json").unlink()
    shutil.rmtree(out / "_index")
    stage = Dedup(
        DedupConfig(), StageContext(tmp_path / "run", out, 1, "test", "jsonl", tmp_path / "run" / "00_ingest")
    )
    stage.prepare(shards, lambda fn, items: [fn(x) for x in items])
    after = {p.name: p.stat().st_mtime_ns for p in (out / "_sig").iterdir()}
    assert after["part-00000"] == before["part-00000"] and after["part-00002"] != before["part-00002"]
    assert [pq.read_table(p) for p in sorted((out / "_clusters").glob("*.parquet"))] == clusters
    assert (out / "_index" / "meta.json").exists()


@pytest.mark.parametrize("jaccard", [0.5, 0.6, 0.7])
def test_candidate_probability_matches_real_signatures(jaccard: float) -> None:
    """The documented detection curve, with and without the floor, against our MinHash on pairs
    of shingle sets of exactly known Jaccard similarity (2000 pairs: sd <= 0.011)."""
    rng = np.random.default_rng(7)
    pairs, union = 2000, 600
    inter = round(jaccard * union)
    own = (union - inter) // 2
    hashes = []
    for _ in range(pairs):
        h = rng.integers(0, 2**63, union, dtype=np.uint64)
        hashes += [h[: inter + own], np.concatenate([h[:inter], h[inter + own : inter + 2 * own]])]
    counts = np.array([len(h) for h in hashes], np.int64)
    sig = minhash(np.concatenate(hashes), counts, 112, 1)
    a, b = sig[0::2], sig[1::2]
    shared = (a.reshape(pairs, 14, 8) == b.reshape(pairs, 14, 8)).all(axis=2).any(axis=1)
    est = (a == b).mean(axis=1)
    j = inter / (inter + 2 * own)
    floor = MinhashConfig().estimate_floor
    assert shared.mean() == pytest.approx(candidate_probability(j, 14, 8), abs=0.035)
    assert (shared & (est >= floor)).mean() == pytest.approx(
        candidate_probability(j, 14, 8, floor), abs=0.035
    )
    assert candidate_probability(j, 14, 8) == pytest.approx(1 - (1 - j**8) ** 14)

"""`resample`: change the mixture of groups (domains, categories, classifier labels) in the data.

Each document gets a group, and each group a weight w: a document is written floor(w) times plus
once more with probability frac(w). The draw is a hash of (seed, document id), so the output
is the same for a seed whatever the number of workers or the shard layout. Copies after the
first get the id `<id>~<k>` and `copy = k`; a document drawn zero times goes to removed/ as
`resample_downsampled`.

Weights are given per group (`weights`), or solved from target token shares (`target_shares`):
`prepare` counts tokens per group over all shards (a cheap proxy: whitespace-separated words,
or UTF-8 bytes with `token_proxy: bytes`) and the exact per-document draws, then sets each
group's weight so that the tokens actually written hit its share (to within one document).
"""

from __future__ import annotations

import fnmatch
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import xxhash

from curate.config import ConfigPath
from curate.document import iter_documents
from curate.manifest import atomic_write_text
from curate.stage import MultiPassStage, Shard, ShardOutput, ShardStats, register

KEYS = ("domain", "category", "classifier")
PROXIES = ("words", "bytes")
DEFAULT = "*"


@dataclass
class DomainClassifierConfig:
    """A fastText model whose labels are the groups (trained like the quality classifier)."""

    model: ConfigPath
    label_prefix: str = "__label__"
    min_score: float = 0.0  # below this the group is `fallback`
    fallback: str = "other"

    def __post_init__(self) -> None:
        self.model = str(self.model)  # checked by the loader; a plain str for the saved YAML


@dataclass
class ResampleConfig:
    key: str = "domain"  # domain | category | classifier
    weights: dict[str, float] | None = None  # group -> up/down-sampling factor; "*": every other group
    target_shares: dict[str, float] | None = None  # group -> token share; "*": the other groups together
    # domain, host or URL glob pattern -> category (key: category); "*" names the rest (default "other")
    categories: dict[str, str] | None = None
    classifier: DomainClassifierConfig | None = None
    seed: int = 0
    token_proxy: str = "words"

    def __post_init__(self) -> None:
        if self.key not in KEYS:
            raise ValueError(f"key {self.key!r} is not one of {', '.join(KEYS)}")
        if self.token_proxy not in PROXIES:
            raise ValueError(f"token_proxy {self.token_proxy!r} is not one of {', '.join(PROXIES)}")
        if self.weights is not None and self.target_shares is not None:
            raise ValueError("give either weights or target_shares, not both")
        for g, w in (self.weights or {}).items():
            if w < 0 or math.isinf(w) or math.isnan(w):
                raise ValueError(f"weights.{g}: {w} must be a finite number >= 0")
        if self.target_shares is not None:
            bad = [g for g, s in self.target_shares.items() if not 0 <= s <= 1]
            if bad:
                raise ValueError(f"target_shares.{bad[0]}: a share is between 0 and 1")
            total = sum(self.target_shares.values())
            if abs(total - 1) > 1e-6:
                raise ValueError(f"target_shares must sum to 1, not {total:g}")
        if self.key == "category" and not self.categories:
            raise ValueError("key: category needs a categories mapping (domain or URL pattern -> category)")
        if self.key == "classifier" and self.classifier is None:
            raise ValueError("key: classifier needs classifier: {model: path.bin}")


# --------------------------------------------------------------------------- groups


# scheme://[userinfo@]host[:port]...; 4x faster than urlsplit, which was a third of the stage's time
_HOST = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?(\[[^\]]*\]|[^/?#:]*)")


def _host(url: str | None) -> str:
    m = _HOST.match(url or "")
    return m.group(1).strip("[]").lower() if m else ""


class Grouper:
    """The group of a document; weight keys may name a host (docs.python.org) or a domain."""

    def __init__(self, cfg: ResampleConfig) -> None:
        self.cfg = cfg
        self.named = set((cfg.weights or cfg.target_shares or {}).keys()) - {DEFAULT}
        cats = cfg.categories or {}
        self.patterns = [(p, c) for p, c in cats.items() if any(ch in p for ch in "*?[/")]
        self.exact = {p.lower(): c for p, c in cats.items() if (p, c) not in self.patterns}
        self._model = None

    def __call__(self, doc: dict) -> str:
        host, domain = _host(doc.get("url")), doc.get("domain") or ""
        if self.cfg.key == "domain":
            if host in self.named:
                return host
            return domain or host or "unknown"
        if self.cfg.key == "category":
            for name in (host, host.removeprefix("www."), domain):
                if name and name in self.exact:
                    return self.exact[name]
            url = doc.get("url") or ""
            for pattern, cat in self.patterns:
                if fnmatch.fnmatch(url, pattern) or fnmatch.fnmatch(host, pattern):
                    return cat
            return self.exact.get(DEFAULT, "other")
        return self._classify(doc.get("text") or "")

    def _classify(self, text: str) -> str:
        clf = self.cfg.classifier
        if self._model is None:
            import fasttext

            self._model = fasttext.load_model(str(clf.model))
        labels, scores = self._model.predict(" ".join(text.split())[:100_000])
        if not labels or float(scores[0]) < clf.min_score:
            return clf.fallback
        return labels[0].removeprefix(clf.label_prefix)


def tokens_of(text: str | None, proxy: str) -> int:
    """The token proxy: whitespace-separated words (default) or UTF-8 bytes."""
    if not text:
        return 0
    return len(text.split()) if proxy == "words" else len(text.encode("utf-8"))


def draw(seed: int, doc_id: str) -> float:
    """A uniform number in [0, 1) fixed by (seed, document id): no dependence on workers or order."""
    return xxhash.xxh64_intdigest(doc_id, seed=seed) / 2.0**64


def copies(weight: float, u: float) -> int:
    return int(math.floor(weight)) + (1 if u < weight - math.floor(weight) else 0)


# --------------------------------------------------------------------------- target shares


def count_groups(job: tuple[ResampleConfig, str]) -> dict[str, tuple[list[float], list[int]]]:
    """Prepare pass (a worker task): per group, each document's draw and token count."""
    cfg, path = job
    grouper = Grouper(cfg)
    out: dict[str, tuple[list[float], list[int]]] = {}
    for doc in iter_documents(path, columns=["id", "text", "url", "domain"]):
        us, ts = out.setdefault(grouper(doc), ([], []))
        us.append(draw(cfg.seed, doc["id"]))
        ts.append(tokens_of(doc["text"], cfg.token_proxy))
    return out


def solve_weights(groups: dict[str, tuple[np.ndarray, np.ndarray]], shares: dict[str, float]) -> dict:
    """Weights per group so that the tokens written (with these exact draws) match `shares`.

    The total is kept at the input's token count. A group's target T_g = share_g * total is
    reached with floor(T_g / t_g) whole copies and a Bernoulli threshold chosen on the sorted
    draws so that the sampled remainder is as close to the rest as one document allows.
    Groups not named share the "*" share in proportion to their size (nothing when there is no "*").
    """
    total = sum(int(t.sum()) for _, t in groups.values())
    rest = [g for g in groups if g not in shares]
    rest_tokens = sum(int(groups[g][1].sum()) for g in rest)
    present = {g: s for g, s in shares.items() if g in groups or g == DEFAULT}
    norm = sum(present.values()) or 1.0  # shares of absent groups are spread over the others
    weights: dict[str, float] = {}
    for g, (u, t) in sorted(groups.items()):
        tg = int(t.sum())
        if g in shares:
            target = present[g] / norm * total
        else:
            target = present.get(DEFAULT, 0.0) / norm * total * (tg / rest_tokens if rest_tokens else 0)
        if tg == 0:
            weights[g] = 1.0
            continue
        whole = math.floor(target / tg)
        need = target - whole * tg
        order = np.argsort(u, kind="stable")
        cum = np.concatenate(([0], np.cumsum(t[order])))
        k = int(np.argmin(np.abs(cum - need)))  # take the k documents with the smallest draws
        if k == 0:
            frac = 0.0
        elif k == len(order):
            frac = 1.0 - 1e-12
        else:
            frac = float((u[order][k - 1] + u[order][k]) / 2)  # a threshold between two draws
        weights[g] = whole + frac
    return {
        "weights": weights,
        "missing_groups": sorted(g for g in shares if g not in groups and g != DEFAULT),
    }


# --------------------------------------------------------------------------- the stage


@dataclass
class ResampleSummary:
    """Groups before and after re-weighting, by a token proxy, largest group first."""

    token_proxy: str = ""
    shares_before: dict[str, float] = field(default_factory=dict)
    shares_after: dict[str, float] = field(default_factory=dict)
    docs_before: dict[str, int] = field(default_factory=dict)
    docs_after: dict[str, int] = field(default_factory=dict)
    tokens_before: int = 0
    tokens_after: int = 0
    weights: dict[str, float] = field(default_factory=dict)
    target_shares: dict[str, float] | None = None
    missing_groups: list[str] | None = None  # target groups the corpus does not have


@register
class Resample(MultiPassStage):
    name = "resample"
    config_class = ResampleConfig
    summary_class = ResampleSummary
    extra_fields = [pa.field("resample_group", pa.string()), pa.field("copy", pa.int32())]

    def __init__(self, config: ResampleConfig, ctx) -> None:
        super().__init__(config, ctx)
        self.grouper = Grouper(config)
        self._weights: dict[str, float] | None = None
        self._groups: dict[str, list[int]] = {}

    @property
    def weights_path(self) -> Path:
        return self.ctx.stage_dir / "_weights.json"

    def hash_inputs(self) -> dict | None:
        clf = self.config.classifier
        if self.config.key == "classifier" and clf is not None and Path(clf.model).is_file():
            st = Path(clf.model).stat()
            return {"classifier": [st.st_size, st.st_mtime_ns]}
        return None

    def prepare(self, shards: list[Shard], map_fn) -> None:
        if self.config.target_shares is None or self.weights_path.exists():
            return
        merged: dict[str, tuple[list[float], list[int]]] = {}
        for part in map_fn(count_groups, [(self.config, s.input) for s in shards]):
            for g, (us, ts) in part.items():
                mu, mt = merged.setdefault(g, ([], []))
                mu.extend(us)
                mt.extend(ts)
        arrays = {
            g: (np.array(u, dtype=np.float64), np.array(t, dtype=np.int64)) for g, (u, t) in merged.items()
        }
        solved = solve_weights(arrays, self.config.target_shares)
        atomic_write_text(self.weights_path, json.dumps(solved, indent=1, sort_keys=True))

    def weight(self, group: str) -> float:
        if self._weights is None:
            if self.config.target_shares is not None:
                self._weights = json.loads(self.weights_path.read_text(encoding="utf-8"))["weights"]
            else:
                self._weights = dict(self.config.weights or {})
        if group in self._weights:
            return self._weights[group]
        return 0.0 if self.config.target_shares is not None else self._weights.get(DEFAULT, 1.0)

    # ----------------------------------------------------------------- shard pass
    def write_shard(self, shard: Shard, out: ShardOutput, stats: ShardStats) -> None:
        self._groups = {}
        super().write_shard(shard, out, stats)
        out.write_json(f"_groups/{shard.name}.json", self._groups)

    def process(self, docs: Iterator[dict], stats: ShardStats) -> Iterator[tuple[dict, str | None]]:
        cfg = self.config
        for doc in docs:
            group = self.grouper(doc)
            n = copies(self.weight(group), draw(cfg.seed, doc["id"]))
            t = tokens_of(doc.get("text"), cfg.token_proxy)
            # [docs before, tokens before, docs after, tokens after]
            rec = self._groups.setdefault(group, [0, 0, 0, 0])
            rec[0] += 1
            rec[1] += t
            rec[2] += n
            rec[3] += n * t
            doc["resample_group"] = group
            doc["copy"] = 0
            if n == 0:
                yield doc, "resample_downsampled"
                continue
            yield doc, None
            for k in range(1, n):
                stats.count("copies")
                yield {**doc, "id": f"{doc['id']}~{k}", "copy": k}, None

    # ----------------------------------------------------------------- finalize
    def finalize(self, shards: list[Shard], map_fn) -> ResampleSummary:
        totals: dict[str, list[int]] = {}
        for s in shards:
            path = self.ctx.stage_dir / "_groups" / f"{s.name}.json"
            for g, rec in json.loads(path.read_text(encoding="utf-8")).items():
                acc = totals.setdefault(g, [0, 0, 0, 0])
                for i, v in enumerate(rec):
                    acc[i] += v
        before = sum(r[1] for r in totals.values()) or 1
        after = sum(r[3] for r in totals.values()) or 1
        order = sorted(totals, key=lambda g: -totals[g][1])
        out = ResampleSummary(
            token_proxy=self.config.token_proxy,
            shares_before={g: round(totals[g][1] / before, 6) for g in order},
            shares_after={g: round(totals[g][3] / after, 6) for g in order},
            docs_before={g: totals[g][0] for g in order},
            docs_after={g: totals[g][2] for g in order},
            tokens_before=before if totals else 0,
            tokens_after=after if totals else 0,
            weights={g: round(self.weight(g), 6) for g in order},
        )
        if self.config.target_shares is not None:
            out.target_shares = dict(self.config.target_shares)
            solved = json.loads(self.weights_path.read_text(encoding="utf-8"))
            out.missing_groups = solved["missing_groups"]
        return out

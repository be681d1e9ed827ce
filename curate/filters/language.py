"""`language`: fastText language identification (lid.176 by default), keep-list and minimum score.

Every document gets `lang` and `lang_score`, whether it is kept or removed, so the report can
show the language mix before and after. The model loads once per worker process, on first use.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

from curate.config import ConfigPath
from curate.filters.base import DocView, Filter
from curate.models import FETCH_HINT, KNOWN_MODELS, find_model, model_dirs

DEFAULT_LID_MODEL = "lid.176.ftz"  # found in the model folders (curate.models)
LID_HINT = FETCH_HINT
_PROJECT = Path(__file__).resolve().parents[2]
# The opening of a page identifies its language; the rest adds time, not accuracy
# (bench/filter.py measures the accuracy on the sample crawl's labelled pages).
MAX_CHARS = 5_000


@dataclass
class LanguageConfig:
    keep: list[str] = field(default_factory=list)  # ISO 639 codes as the model labels them; [] keeps all
    min_score: float = 0.0
    model: ConfigPath | None = None  # a fastText LID model; default lid.176.ftz (`llmcli models fetch`)

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_score <= 1.0:
            raise ValueError("min_score must be between 0 and 1")
        if self.model is not None:
            self.model = str(self.model)
        # A missing model is a configuration error: found before any shard runs.
        resolve_model(self.model, DEFAULT_LID_MODEL, LID_HINT)


def resolve_model(path: str | None, default: str, hint: str) -> Path:
    """A model file: `path` as given (relative to the working directory, else the project root),
    or with no path the default one, from the model folders (curate.models)."""
    if path is None and default in KNOWN_MODELS:
        found = find_model(default)
        if found is None:
            where = ", ".join(str(d) for d in model_dirs())
            raise ValueError(f"model file {default!r} not found (looked in {where}); {hint}")
        return found
    p = Path(path or default)
    candidates = [p] if p.is_absolute() else [p, _PROJECT / p]
    for c in candidates:
        if c.is_file():
            return c
    raise ValueError(f"model file {str(p)!r} not found; {hint}")


@functools.lru_cache(maxsize=4)
def load_fasttext(path: str):
    """One fastText model per (worker process, path)."""
    import fasttext

    fasttext.FastText.eprint = lambda *args, **kwargs: None  # silence the load-time warning
    return fasttext.load_model(path)


class LanguageFilter(Filter):
    name = "language"

    def __init__(self, config: LanguageConfig) -> None:
        super().__init__()
        self.keep = frozenset(config.keep)
        self.min_score = config.min_score
        self.path = str(resolve_model(config.model, DEFAULT_LID_MODEL, LID_HINT))

    def predict(self, text: str) -> tuple[str, float]:
        # fastText's predict refuses newlines: it reads one line.
        labels, scores = load_fasttext(self.path).predict(text[:MAX_CHARS].replace("\n", " "), k=1)
        if not labels:
            return "unknown", 0.0
        return labels[0].removeprefix("__label__"), float(min(scores[0], 1.0))

    def annotate(self, doc: DocView) -> None:
        lang, score = self.predict(doc.text)
        doc.record["lang"] = lang
        doc.record["lang_score"] = score

    def check(self, doc: DocView) -> str | None:
        self.annotate(doc)
        if self.keep and doc.record["lang"] not in self.keep:
            return "language_not_kept"
        if doc.record["lang_score"] < self.min_score:
            return "language_low_score"
        return None

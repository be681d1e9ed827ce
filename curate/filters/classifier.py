"""`classifier`: a fastText quality classifier (the DCLM recipe); see curate/classifier_cli.py to train one.

The filter keeps documents whose probability for the positive label reaches `threshold` and
writes that probability as `quality_score` on kept and removed documents alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from curate.config import ConfigPath
from curate.filters.base import DocView, Filter
from curate.filters.language import load_fasttext, resolve_model

MAX_CHARS = 100_000
CLASSIFIER_HINT = "train one with `llmcli curate train-classifier`"


def preprocess(text: str) -> str:
    """What the classifier sees, in training and in the filter alike: one line, single spaces."""
    return " ".join(text[:MAX_CHARS].split())


@dataclass
class ClassifierConfig:
    model: ConfigPath  # trained with `llmcli curate train-classifier`
    label: str = "hq"  # the positive label (without fastText's __label__ prefix)
    threshold: float = 0.5

    def __post_init__(self) -> None:
        self.model = str(self.model)
        resolve_model(self.model, self.model, CLASSIFIER_HINT)  # missing: a config error, before any work
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError("threshold must be between 0 and 1")


class ClassifierFilter(Filter):
    name = "classifier"

    def __init__(self, config: ClassifierConfig) -> None:
        super().__init__()
        self.path = str(resolve_model(config.model, config.model, CLASSIFIER_HINT))
        self.label = "__label__" + config.label
        self.threshold = config.threshold
        model = load_fasttext(self.path)
        if self.label not in model.get_labels():
            labels = ", ".join(x.removeprefix("__label__") for x in model.get_labels())
            raise ValueError(f"classifier {self.path}: no label {config.label!r} (labels: {labels})")

    def score(self, text: str) -> float:
        labels, probs = load_fasttext(self.path).predict(preprocess(text), k=-1)
        for label, prob in zip(labels, probs):
            if label == self.label:
                return float(min(prob, 1.0))
        return 0.0

    def check(self, doc: DocView) -> str | None:
        score = self.score(doc.text)
        doc.record["quality_score"] = score
        if score < self.threshold:
            return "classifier_low_score"
        return None

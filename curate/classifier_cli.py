"""`llmcli curate train-classifier`: train a fastText quality classifier (the DCLM recipe).

    llmcli curate train-classifier --positive good.parquet --negative crawl.jsonl.gz --out quality.bin

DCLM's classifier is a fastText bag of words and word bigrams in hashed buckets, trained on
positive examples (curated text) against negative ones (random crawl). A deterministic slice of
the examples (chosen by a hash of each text) is held out; precision and recall of the positive
label on it are printed, then the model is saved for the `classifier` filter.
"""

from __future__ import annotations

import concurrent.futures
import glob
import gzip
import hashlib
import json
import multiprocessing
import os
import random
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click

from curate.filters.classifier import preprocess


def iter_texts(pattern: str, text_key: str) -> Iterator[str]:
    """Texts from Parquet or JSONL (.gz/.zst) files matching `pattern`."""
    paths = sorted(glob.glob(pattern)) or [pattern]
    for path in paths:
        if not os.path.isfile(path):
            raise click.ClickException(f"{path}: no such file")
        if path.endswith(".parquet"):
            import pyarrow.parquet as pq

            pf = pq.ParquetFile(path)
            if text_key not in pf.schema_arrow.names:
                raise click.ClickException(
                    f"{path}: no column {text_key!r} (columns: {pf.schema_arrow.names})"
                )
            for i in range(pf.num_row_groups):
                yield from (t for t in pf.read_row_group(i, columns=[text_key]).column(0).to_pylist() if t)
            continue
        if path.endswith(".gz"):
            f = gzip.open(path, "rt", encoding="utf-8")
        elif path.endswith(".zst"):
            import io

            import zstandard

            f = io.TextIOWrapper(
                zstandard.ZstdDecompressor().stream_reader(open(path, "rb")), encoding="utf-8"
            )
        else:
            f = open(path, encoding="utf-8")
        with f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    text = json.loads(line).get(text_key)
                except (json.JSONDecodeError, AttributeError):
                    raise click.ClickException(f"{path}:{lineno}: not a JSON object") from None
                if text:
                    yield text


def held_out(text: str, fraction: float) -> bool:
    """The same text always lands on the same side, whatever the file order."""
    h = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
    return h / 2**64 < fraction


@dataclass
class Scores:
    n: int
    accuracy: float
    precision: float
    recall: float


def evaluate(model, examples: list[tuple[str, str]], positive: str) -> Scores:
    """Precision/recall of the positive label (predicted when it is the top label) and accuracy."""
    if not examples:
        return Scores(0, float("nan"), float("nan"), float("nan"))
    labels, _ = model.predict([text for _, text in examples], k=1)
    tp = fp = fn = correct = 0
    for (truth, _), pred in zip(examples, labels):
        guess = pred[0].removeprefix("__label__") if pred else ""
        correct += guess == truth
        tp += guess == positive and truth == positive
        fp += guess == positive and truth != positive
        fn += guess != positive and truth == positive
    nan = float("nan")
    return Scores(
        len(examples),
        correct / len(examples),
        tp / (tp + fp) if tp + fp else nan,
        tp / (tp + fn) if tp + fn else nan,
    )


def train_classifier(
    positive: list[str],
    negative: list[str],
    out: str,
    *,
    text_key: str = "text",
    positive_label: str = "hq",
    negative_label: str = "cc",
    valid_fraction: float = 0.1,
    epoch: int = 5,
    lr: float = 0.1,
    word_ngrams: int = 2,
    bucket: int = 2_000_000,
    dim: int = 64,
    min_count: int = 1,
    threads: int = 2,
    seed: int = 0,
) -> Scores:
    """Train, report held-out scores, save to `out`; returns the held-out scores."""
    import fasttext

    train: list[tuple[str, str]] = []
    valid: list[tuple[str, str]] = []
    for label, patterns in ((positive_label, positive), (negative_label, negative)):
        for pattern in patterns:
            for text in iter_texts(pattern, text_key):
                text = preprocess(text)
                if text:
                    (valid if held_out(text, valid_fraction) else train).append((label, text))
    if not train:
        raise click.ClickException("no training examples (all inputs empty?)")
    if len({label for label, _ in train}) < 2:
        raise click.ClickException("training needs both positive and negative examples")
    random.Random(seed).shuffle(train)  # fastText learns in file order: mix the classes
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.txt"
        path.write_text("".join(f"__label__{label} {text}\n" for label, text in train), encoding="utf-8")
        params = dict(
            epoch=epoch, lr=lr, wordNgrams=word_ngrams, bucket=bucket, dim=dim,
            minCount=min_count, thread=threads, seed=seed, verbose=0,
        )  # fmt: skip
        # Train in a fresh process: inside a long-lived process that has run other native code
        # (seen under pytest), fastText's training could stop with "Encountered NaN" at any
        # learning rate, while the same data trains fine in a new process.
        trained = Path(tmp) / "model.bin"
        ctx = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx) as pool:
            for message in pool.submit(_train_supervised, str(path), str(trained), params).result():
                click.echo(message, err=True)
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(trained, out)
    return evaluate(fasttext.load_model(str(out)), valid, positive_label)


def _train_supervised(data: str, out: str, params: dict) -> list[str]:
    """Train and save a fastText model (runs in a spawned process); returns warnings to print.

    A diverging run ("Encountered NaN") is retried at half the learning rate, three times.
    """
    import fasttext

    warnings = []
    lr = params["lr"]
    for attempt in range(4):
        try:
            fasttext.train_supervised(input=data, **{**params, "lr": lr}).save_model(out)
            return warnings
        except RuntimeError as e:
            if "NaN" not in str(e) or attempt == 3:
                raise click.ClickException(f"fastText training failed at lr {lr:g}: {e}") from e
            warnings.append(f"warning: fastText diverged (NaN) at lr {lr:g}; retrying at lr {lr / 2:g}")
            lr /= 2
    return warnings


@click.command("train-classifier")
@click.option(
    "--positive", multiple=True, required=True, help="Parquet/JSONL(.gz/.zst) file or glob of good text."
)
@click.option(
    "--negative", multiple=True, required=True, help="Parquet/JSONL file or glob of ordinary crawl text."
)
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Where to save the model (.bin).")
@click.option("--text-key", default="text", show_default=True, help="Column / JSON key holding the text.")
@click.option("--positive-label", default="hq", show_default=True)
@click.option("--negative-label", default="cc", show_default=True)
@click.option("--valid-fraction", default=0.1, show_default=True, help="Share of examples held out.")
@click.option("--epoch", default=5, show_default=True)
@click.option("--lr", default=0.1, show_default=True)
@click.option(
    "--wordNgrams", "word_ngrams", default=2, show_default=True, help="2 = words and bigrams (DCLM)."
)
@click.option("--bucket", default=2_000_000, show_default=True, help="Hash buckets for n-grams.")
@click.option("--dim", default=64, show_default=True)
@click.option("--minCount", "min_count", default=1, show_default=True)
@click.option("--threads", default=2, show_default=True)
@click.option("--seed", default=0, show_default=True)
def train_classifier_cmd(positive: tuple[str, ...], negative: tuple[str, ...], out: str, **kwargs) -> None:
    """Train a fastText quality classifier from positive and negative examples."""
    if not 0.0 <= kwargs["valid_fraction"] < 1.0:
        raise click.BadParameter("must be in [0, 1)", param_hint="--valid-fraction")
    s = train_classifier(list(positive), list(negative), out, **kwargs)
    click.echo(
        f"held-out: n={s.n} accuracy={s.accuracy:.4f} precision={s.precision:.4f} recall={s.recall:.4f} "
        f"(positive label {kwargs['positive_label']!r})"
    )
    click.echo(f"model: {out}")

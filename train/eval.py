"""`llmcli eval`: one deterministic pass over every token of a split: loss, perplexity, bits per byte.

Each shard `{split}_XXXXXX.bin` is cut into consecutive windows of block_size targets (the last one
shorter): window i reads tokens [iT, iT + T) and predicts [iT + 1, iT + T + 1), so every token but
the shard's first (an end-of-text) is predicted exactly once, with the same context every time.

bpb (bits per byte) = total loss in bits / UTF-8 bytes of the predicted tokens' decoded text (special
tokens decode to none): unlike perplexity it compares across tokenizers and languages.

With the document index (index.parquet: id, split, shard, offset, length, and domain / lang where
the tokenizer wrote them) each prediction is attributed to the document its input token belongs to
(a document spans its end-of-text at offset - 1 and its text), so the prediction of the
end-of-text that closes a document counts for that document; results are also given per domain and
per language.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from curate.tokenization.shards import list_shards, open_shard
from train.errors import TrainError
from train.model import GPT
from train.runtime import DTYPES
from train.weights import load_weights

SHARD_NUMBER = re.compile(r"_(\d+)\.bin$")


def token_bytes(tokenizer_path: Path) -> np.ndarray:
    """UTF-8 bytes of each token id's text (0 for special tokens), so that bytes of a token sequence
    are the sum over its tokens. Byte-level BPE (GPT-2 style) maps each token to exact bytes; other
    tokenizers decode each id on its own."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_path))
    n = tok.get_vocab_size()
    special = {i for i, t in tok.get_added_tokens_decoder().items() if t.special}
    out = np.zeros(n, dtype=np.int64)
    decoder = (json.loads(tok.to_str()).get("decoder") or {}).get("type")
    byte_of = {c: b for b, c in _bytes_to_unicode().items()}
    for i in range(n):
        if i in special:
            continue
        piece = tok.id_to_token(i)
        if decoder == "ByteLevel" and piece is not None and all(c in byte_of for c in piece):
            out[i] = len(piece)  # one printable stand-in character per byte
        else:
            out[i] = len(tok.decode([i], skip_special_tokens=True).encode("utf-8"))
    return out


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character table (used by byte-level BPE)."""
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def windows(n: int, block_size: int) -> list[tuple[int, int]]:
    """(start, number of targets) of the consecutive windows over a shard of n tokens."""
    return [(s, min(block_size, n - 1 - s)) for s in range(0, n - 1, block_size)]


def _batches(tokens: np.ndarray, block_size: int, batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(rows (b, t + 1), their start positions (b,)): full windows batch_size at a time, then the
    short last window on its own."""
    spans = windows(len(tokens), block_size)
    full = [s for s, t in spans if t == block_size]
    for i in range(0, len(full), batch_size):
        starts = np.asarray(full[i : i + batch_size], dtype=np.int64)
        yield np.stack([tokens[s : s + block_size + 1] for s in starts]).astype(np.int64), starts
    for s, t in spans:
        if t < block_size:
            yield np.asarray(tokens[s : s + t + 1], dtype=np.int64)[None], np.asarray([s], dtype=np.int64)


class Tally:
    """Loss (nats), predicted tokens and their bytes, summed per document (and unattributed)."""

    def __init__(self, docs: int) -> None:
        self.loss = np.zeros(docs + 1)  # the last slot: predictions outside any indexed document
        self.tokens = np.zeros(docs + 1, dtype=np.int64)
        self.bytes = np.zeros(docs + 1, dtype=np.int64)

    def add(self, doc: np.ndarray, loss: np.ndarray, nbytes: np.ndarray) -> None:
        n = len(self.loss)
        self.loss += np.bincount(doc, weights=loss, minlength=n)
        self.tokens += np.bincount(doc, minlength=n)
        self.bytes += np.bincount(doc, weights=nbytes, minlength=n).astype(np.int64)


def summarize(loss: float, tokens: int, nbytes: int | None) -> dict[str, Any]:
    mean = loss / tokens if tokens else float("nan")
    return {
        "tokens": int(tokens),
        "loss": mean,
        "ppl": math.exp(mean) if tokens else float("nan"),
        "bytes": nbytes,
        "bpb": loss / math.log(2) / nbytes if nbytes else None,
    }


def read_index(data_dir: Path, split: str) -> dict[str, np.ndarray] | None:
    """The split's rows of index.parquet as numpy columns, or None without an index."""
    path = data_dir / "index.parquet"
    if not path.is_file():
        return None
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    table = table.filter(pc.equal(table.column("split"), split))
    cols = {name: table.column(name).to_numpy(zero_copy_only=False) for name in ("shard", "offset", "length")}
    for name in ("domain", "lang"):
        if name in table.column_names:
            cols[name] = np.asarray(
                [v if v is not None else "" for v in table.column(name).to_pylist()], object
            )
    return cols


@torch.no_grad()
def evaluate_split(
    model: GPT,
    data_dir: str | Path,
    split: str = "val",
    block_size: int | None = None,
    batch_size: int = 8,
    dtype: str = "fp32",
    tokenizer: Path | None = None,
) -> dict[str, Any]:
    """The pass over every token of `split`; overall results plus by_domain / by_lang."""
    data_dir = Path(data_dir)
    paths = list_shards(data_dir, split)
    if not paths:
        raise TrainError(f"{data_dir}: no {split}_*.bin shards (tokenize with a {split} fraction > 0)")
    T = block_size or model.config.block_size
    if T > model.config.block_size:
        raise TrainError(f"block size {T} exceeds the model's context {model.config.block_size}")
    device = next(model.parameters()).device
    tok = tokenizer or (data_dir / "tokenizer.json")
    nbytes_of = token_bytes(tok) if tok.is_file() else None
    index = read_index(data_dir, split)
    docs = len(index["shard"]) if index is not None else 0
    tally = Tally(docs)
    autocast = (
        torch.autocast(device.type, dtype=DTYPES[dtype])
        if dtype != "fp32"
        else torch.autocast(device.type, enabled=False)
    )
    model.eval()
    for path in paths:
        tokens = open_shard(path)
        if len(tokens) and int(tokens.max()) >= model.config.vocab_size:
            raise TrainError(
                f"{path}: token id {int(tokens.max())} >= the model's vocab_size {model.config.vocab_size}"
            )
        # documents of this shard, by the position of their end-of-text (offset - 1)
        number = int(SHARD_NUMBER.search(path.name).group(1))
        rows = np.flatnonzero(index["shard"] == number) if index is not None else np.zeros(0, np.int64)
        rows = rows[np.argsort(index["offset"][rows], kind="stable")] if len(rows) else rows
        starts = index["offset"][rows] - 1 if len(rows) else np.zeros(0, np.int64)
        ends = index["offset"][rows] + index["length"][rows] if len(rows) else np.zeros(0, np.int64)
        for batch, first in _batches(tokens, T, batch_size):
            x = torch.from_numpy(batch[:, :-1]).to(device)
            y = batch[:, 1:]
            with autocast:
                logits, _ = model(x)
            loss = (
                F.cross_entropy(
                    logits.float().flatten(0, 1), torch.from_numpy(y).to(device).flatten(), reduction="none"
                )
                .double()
                .cpu()
                .numpy()
            )  # (b * t,) nats per predicted token
            # each prediction belongs to the document holding its input token
            pos = (first[:, None] + np.arange(y.shape[1])[None]).ravel()
            k = np.searchsorted(starts, pos, side="right") - 1
            inside = (k >= 0) & (pos < ends[np.maximum(k, 0)]) if len(rows) else np.zeros(len(pos), bool)
            doc = np.where(inside, rows[np.maximum(k, 0)] if len(rows) else 0, docs)
            b = nbytes_of[y.ravel()] if nbytes_of is not None else np.zeros(len(pos), np.int64)
            tally.add(doc, loss, b)
    result = summarize(
        tally.loss.sum(), tally.tokens.sum(), int(tally.bytes.sum()) if nbytes_of is not None else None
    )
    result.update(split=split, block_size=T, shards=len(paths))
    for key in ("domain", "lang"):
        if index is not None and key in index:
            result[f"by_{key}"] = _grouped(tally, index[key], nbytes_of is not None)
    return result


def _grouped(tally: Tally, keys: np.ndarray, with_bytes: bool) -> dict[str, dict[str, Any]]:
    out = {}
    for name in sorted(set(keys.tolist())):
        sel = np.flatnonzero(keys == name)
        nbytes = int(tally.bytes[sel].sum()) if with_bytes else None
        out[name or "unknown"] = {
            **summarize(tally.loss[sel].sum(), tally.tokens[sel].sum(), nbytes),
            "docs": len(sel),
        }
    return out


def resolve_model_path(source: str | Path) -> tuple[GPT, dict[str, Any]]:
    """The model at `source` (checkpoint, run directory, Hugging Face GPT-2 directory) and what the
    report names: the source, the checkpoint and its step, the training block size, the tokenizer."""
    weights = load_weights(source)
    model = GPT(weights.config)
    model.load_state_dict(weights.state)
    info: dict[str, Any] = {"model": str(source), "checkpoint": None, "step": None}
    if weights.checkpoint is not None:
        from train.checkpoint import load_checkpoint

        info.update(checkpoint=str(weights.checkpoint), step=int(load_checkpoint(weights.checkpoint)["step"]))
    info["train_block_size"] = (weights.train_config or {}).get("block_size")
    info["tokenizer"] = weights.tokenizer
    return model, info


def default_out(source: str | Path, split: str) -> Path | None:
    """eval_<split>.json in the run directory of one of our checkpoints; none for a Hugging Face
    directory (pass --out), which is the user's own folder."""
    path = Path(source)
    if (path / "config.json").is_file():
        return None
    run = path if path.is_dir() else path.resolve().parent.parent
    return run / f"eval_{split}.json"


def run_eval(
    source: str | Path,
    data_dir: str | Path,
    split: str = "val",
    out: str | Path | None = None,
    block_size: int | None = None,
    batch_size: int = 8,
    device: str = "auto",
    dtype: str = "auto",
) -> tuple[dict[str, Any], Path | None]:
    """Evaluate, write the JSON (to `out`, else default_out), return (result, path written)."""
    dev = torch.device(
        "cuda" if device == "auto" and torch.cuda.is_available() else ("cpu" if device == "auto" else device)
    )
    if dtype == "auto":
        dtype = "bf16" if dev.type == "cuda" else "fp32"
    model, info = resolve_model_path(source)
    data_tok = Path(data_dir) / "tokenizer.json"
    if info["tokenizer"] is not None and data_tok.is_file():
        from tokenizers import Tokenizer

        if (
            Tokenizer.from_file(str(info["tokenizer"])).get_vocab()
            != Tokenizer.from_file(str(data_tok)).get_vocab()
        ):
            raise TrainError(
                f"{source}: its tokenizer ({info['tokenizer']}) is not the one of {data_dir} ({data_tok}); "
                "the losses would be meaningless"
            )
    tok = data_tok if data_tok.is_file() else info["tokenizer"]
    result = evaluate_split(
        model.to(dev), data_dir, split, block_size or info["train_block_size"], batch_size, dtype, tok
    )
    result = {
        "model": info["model"],
        "checkpoint": info["checkpoint"],
        "step": info["step"],
        "data": str(data_dir),
        **result,
    }
    path = Path(out) if out is not None else default_out(source, split)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(_json_safe(result), indent=1, allow_nan=False) + "\n")
        tmp.replace(path)
    return result, path


def _json_safe(value: Any) -> Any:
    """NaN (an empty split or group) as null: the file stays strict JSON."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def eval_line(result: dict[str, Any], path: Path | None) -> str:
    """The one line `llmcli eval` prints."""
    bpb = f"{result['bpb']:.4f}" if result["bpb"] is not None else "n/a (no tokenizer.json)"
    groups = ", ".join(f"{len(result[k])} {k[3:]}s" for k in ("by_domain", "by_lang") if k in result)
    line = (
        f"eval {result['split']} | {result['tokens']} tokens | loss {result['loss']:.4f} | "
        f"ppl {result['ppl']:.2f} | bpb {bpb}" + (f" | {groups}" if groups else "")
    )
    return line + (f" | {path}" if path is not None else "")

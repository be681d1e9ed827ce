"""`tokenize`: byte-level BPE token shards of the documents (CONTRACT: workdir/tokens/).

prepare   train the BPE on a sample of every shard (or load `tokenizer:`)  -> tokenizer.json
shard     encode each input shard (curate.tokenization.encode.encode_part)             -> _tok/part-XXXXX.*
          and pass the documents through unchanged (a hard link when nothing is removed);
          a document whose text encodes to no token goes to removed/ as `empty_tokens`.
finalize  pack the parts into llm.c shards + index.parquet + meta.json     -> workdir/tokens/
Each pass is resumable: the tokenizer is reused when its recorded config matches, shard parts
are manifest entries like any stage's outputs, and the pack is redone from the parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curate.config import ConfigPath, config_hash, to_dict
from curate.manifest import file_digest
from curate.stage import MultiPassStage, Shard, ShardOutput, ShardStats, register
from curate.tokenization.bpe import (
    EOT,
    TrainingSample,
    eot_id,
    load_tokenizer,
    reusable,
    save_tokenizer,
    training_texts,
)
from curate.tokenization.bpe import train_tokenizer as _train
from curate.tokenization.encode import encode_part, pack

EMPTY = "empty_tokens"
PART_FILES = ("train.tok", "val.tok", "test.tok", "docs.parquet")


@dataclass
class TokenizeConfig:
    vocab_size: int = 32000
    tokenizer: ConfigPath | None = None  # an existing tokenizer.json instead of training one
    train_docs: int = 200_000  # training sample: about this many documents, spread over all shards
    train_bytes: int = 1 << 30  # ... and at most this much UTF-8 text
    min_frequency: int = 2
    shard_tokens: int = 100_000_000
    val_fraction: float = 0.005
    test_fraction: float = 0.005  # a held-out split for `llmcli eval --split test`, never trained on
    seed: int = 0
    eot_token: str = EOT
    out: str = "tokens"  # relative to the workdir
    # Write the documents through to NN_tokenize/ (a hard link when nothing is removed);
    # `llmcli tokenize` turns it off: its inputs are the user's own files.
    keep_documents: bool = True

    def __post_init__(self) -> None:
        if self.tokenizer is not None:
            self.tokenizer = str(self.tokenizer)  # checked by the loader; a plain str for the saved YAML
        if not 257 <= self.vocab_size <= 2**31 - 1:
            raise ValueError(f"vocab_size {self.vocab_size} must be at least 257 (256 bytes + end-of-text)")
        if self.train_docs < 1 or self.train_bytes < 1:
            raise ValueError("train_docs and train_bytes must be >= 1")
        if self.min_frequency < 1:
            raise ValueError("min_frequency must be >= 1")
        if not 1 <= self.shard_tokens <= 2**31 - 1:
            raise ValueError(
                f"shard_tokens {self.shard_tokens} must be in [1, 2^31 - 1] (an int32 header field)"
            )
        if not (0 <= self.val_fraction < 1 and 0 <= self.test_fraction < 1):
            raise ValueError(
                f"val_fraction {self.val_fraction} and test_fraction {self.test_fraction} must be in [0, 1)"
            )
        if self.val_fraction + self.test_fraction >= 1:
            raise ValueError("val_fraction + test_fraction must be < 1: nothing would be left to train on")
        if Path(self.out).is_absolute() or ".." in Path(self.out).parts:
            raise ValueError(f"out {self.out!r} must be a directory inside the workdir")


def tokenizer_meta(cfg: TokenizeConfig) -> dict:
    """What a tokenizer.json depends on: reused on resume only when this matches."""
    if cfg.tokenizer is not None:
        return {"from": str(cfg.tokenizer), "sha256": file_digest(Path(cfg.tokenizer)), "eot": cfg.eot_token}
    keys = ("vocab_size", "train_docs", "train_bytes", "min_frequency", "seed", "eot_token")
    return {"trained": config_hash({k: to_dict(cfg)[k] for k in keys}), **{k: getattr(cfg, k) for k in keys}}


def prepare_tokenizer(cfg: TokenizeConfig, inputs: list[str], path: Path) -> Path:
    """Train (or load) the tokenizer into `path`, unless one made from the same config is there."""
    meta = tokenizer_meta(cfg)
    if reusable(path, meta):
        return path
    source = None
    if cfg.tokenizer is not None:
        tok, source = load_tokenizer(cfg.tokenizer, cfg.eot_token), Path(cfg.tokenizer)
    else:
        texts = training_texts(inputs, TrainingSample(cfg.train_docs, cfg.train_bytes, cfg.seed))
        tok = _train(texts, cfg.vocab_size, cfg.min_frequency, (cfg.eot_token,))
    path.parent.mkdir(parents=True, exist_ok=True)
    save_tokenizer(tok, path, meta, source)
    return path


@dataclass
class TokenizeSummary:
    """The token shards written (CONTRACT: tokens/), for the report and the funnel."""

    out: str = ""
    tokens: int = 0
    train_tokens: int = 0
    val_tokens: int = 0
    test_tokens: int = 0
    train_shards: int = 0
    val_shards: int = 0
    test_shards: int = 0
    vocab_size: int = 0


@register
class Tokenize(MultiPassStage):
    name = "tokenize"
    config_class = TokenizeConfig
    summary_class = TokenizeSummary

    def __init__(self, config: TokenizeConfig, ctx) -> None:
        super().__init__(config, ctx)
        self._tok = None

    @property
    def tokenizer_path(self) -> Path:
        return self.ctx.stage_dir / "tokenizer.json"

    @property
    def out_dir(self) -> Path:
        return self.ctx.workdir / self.config.out

    def hash_inputs(self) -> str | None:
        tok = self.config.tokenizer
        return file_digest(Path(tok)) if tok and Path(tok).is_file() else None

    def prepare(self, shards: list[Shard], map_fn) -> None:
        prepare_tokenizer(self.config, [s.input for s in shards], self.tokenizer_path)

    def _tokenizer(self):
        if self._tok is None:
            self._tok = load_tokenizer(self.tokenizer_path, self.config.eot_token)
        return self._tok

    def write_shard(self, shard: Shard, out: ShardOutput, stats: ShardStats) -> None:
        """Encode the shard into its token parts; the documents pass through unchanged."""
        tok = self._tokenizer()
        cfg = self.config
        prefix = self.ctx.stage_dir / "_tok" / shard.name
        res = encode_part(
            tok,
            eot_id(tok, cfg.eot_token),
            shard.input,
            prefix,
            cfg.seed,
            cfg.val_fraction,
            cfg.test_fraction,
        )
        for suffix in PART_FILES:
            out.add_file(f"_tok/{shard.name}.{suffix}", res.files[suffix])
        for split, n in res.tokens.items():
            stats.count(f"{split}_tokens", n)
        stats.docs_in = res.docs + len(res.empty_rows)
        stats.chars_in = res.chars  # an empty document has no characters
        if not res.empty_rows or not cfg.keep_documents:
            out.keep_input(shard.input, res.docs, res.chars, link=cfg.keep_documents)
            if not res.empty_rows:
                return
        # Some documents encode to no token: split row groups into kept and removed/ with Arrow.
        import pyarrow.compute as pc  # here, not at the top: ~40 ms of every start-up

        empty, start = set(res.empty_rows), 0
        pf = pq.ParquetFile(shard.input)
        for g in range(pf.num_row_groups):
            table = pf.read_row_group(g)
            drop = pa.array([start + i in empty for i in range(table.num_rows)])
            if cfg.keep_documents:
                out.keep_table(table.filter(pc.invert(drop)))
            gone = table.filter(drop)
            out.remove_table(gone.append_column("reason", pa.array([EMPTY] * gone.num_rows, pa.string())))
            start += table.num_rows

    def finalize(self, shards: list[Shard], map_fn) -> TokenizeSummary:
        parts = [self.ctx.stage_dir / "_tok" / s.name for s in shards]
        meta = pack(parts, self.out_dir, self.tokenizer_path, self.config.shard_tokens, self.config.eot_token)
        return TokenizeSummary(
            out=str(self.out_dir),
            tokens=meta["tokens"],
            **{f"{split}_tokens": meta[f"{split}_tokens"] for split in ("train", "val", "test")},
            **{f"{split}_shards": len(meta["shards"][split]) for split in ("train", "val", "test")},
            vocab_size=meta["vocab_size"],
        )

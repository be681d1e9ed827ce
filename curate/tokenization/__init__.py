"""Tokenization in one place: BPE training and fast encoding (bpe), encode-and-pack into shards
(encode), and the llm.c token shard format (shards), which the trainer reads through this module."""

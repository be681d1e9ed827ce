"""Benchmark decontamination: benchmark loaders and the hashed n-gram index.

`benchmarks` turns built-in and local benchmarks into `BenchmarkItem`s; `ngrams` hashes the
word n-grams of normalised text (vectorised, the hot path); `index` stores the hashes of every
benchmark item on disk so worker processes memory-map it instead of rebuilding it.
"""

from curate.decontam.benchmarks import BUILTIN_BENCHMARKS, BenchmarkItem, BenchmarkSpec, load_benchmark
from curate.decontam.index import NgramIndex, build_index
from curate.decontam.ngrams import NgramHasher

__all__ = [
    "BUILTIN_BENCHMARKS",
    "BenchmarkItem",
    "BenchmarkSpec",
    "NgramHasher",
    "NgramIndex",
    "build_index",
    "load_benchmark",
]

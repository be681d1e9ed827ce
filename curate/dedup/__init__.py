"""Deduplication internals: vectorised MinHash signatures, LSH band buckets on disk, clusters.

The pipeline stage lives in `curate.stages.dedup`; this package holds the passes it chains:
signatures per shard -> exact duplicates -> band buckets and candidate pairs per band ->
connected components -> per-shard removal lists (and an index for later incremental runs).
"""

"""Typed errors: a configuration error stops a run before work starts; a failed stage names its shards."""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration problem (a key, a value, a missing input): stops the run before any work starts."""


class StageFailed(RuntimeError):
    """One or more shards of a stage failed; the message names them. Finished shards are kept."""

"""Ending the process without the interpreter's teardown, for commands that ask for it.

A command whose outputs are all closed, synced and renamed into place when it returns calls
`when_done()`; the `llmcli` entry point (`cli.run`) then ends the process with os._exit(0)
instead of the teardown, which frees every cached object and native library one by one
(0.15-0.25 s, ~10% of `llmcli tokenize` on a few MB). Only the entry point acts on it: in a
caller's process (tests, CliRunner) nothing changes.
"""

from __future__ import annotations

_requested = False


def when_done() -> None:
    global _requested
    _requested = True


def requested() -> bool:
    return _requested

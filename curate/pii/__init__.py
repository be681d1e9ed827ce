"""Personal data and secrets: detectors, validators and the redactor the `pii` stage runs."""

from curate.pii.detectors import DETECTORS, PLACEHOLDERS
from curate.pii.redact import ACTIONS, CustomPattern, Redactor, terms_regex

__all__ = ["ACTIONS", "DETECTORS", "PLACEHOLDERS", "CustomPattern", "Redactor", "terms_regex"]

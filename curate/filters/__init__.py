"""Filter families of the `filter` stage: each a `Filter` whose `check` returns None or a reason."""

from __future__ import annotations

from curate.filters.base import DocView, Filter
from curate.filters.c4 import C4, C4Params
from curate.filters.fineweb import FineWeb, FineWebParams
from curate.filters.gopher import GopherQuality, GopherQualityParams, GopherRepetition, GopherRepetitionParams

# YAML name -> (filter class, its parameter dataclass whose defaults are the published thresholds)
QUALITY_FAMILIES: dict[str, tuple[type[Filter], type]] = {
    "gopher_quality": (GopherQuality, GopherQualityParams),
    "gopher_repetition": (GopherRepetition, GopherRepetitionParams),
    "c4": (C4, C4Params),
    "fineweb": (FineWeb, FineWebParams),
}

__all__ = ["QUALITY_FAMILIES", "DocView", "Filter"]

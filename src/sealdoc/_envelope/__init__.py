"""The envelope layer's internal API: the verbs and what the layers above reuse.

``seal``, ``open``, ``inspect``, ``seal_stream`` and ``open_stream`` are
public through ``sealdoc/__init__.py``; every other name here is for
sealdoc's own modules (``_rekey``, ``_owners``, ``_vault``, ``_fs``,
``_deliver``, ``_bulk``, the CLI). The package is private (the underscore
is on the folder) so that the names inside can be plain: an importer never
reaches for an underscore name of another module. Each file has one job;
docs/architecture.md, "The envelope package", maps them.

The file names (``sealing``, ``opening``, ``unlocking``) differ from the
functions they hold, so that ``sealdoc._envelope.seal`` is always the
function, never a submodule.
"""

from __future__ import annotations

from .._provider_api import is_provider, kind_of, unwrap_budget
from .arguments import as_suite, checked_map, checked_segment_size
from .budget import DEFAULT_UNWRAPS_PER_KEY, Spent
from .keys import Keys, providers_of
from .opening import inspect, open, open_parsed, open_stream, parse_bytes, tell
from .sealing import (
    Randbytes,
    Sealer,
    SegmentSealer,
    new_sealer,
    seal,
    seal_into_bytes,
    seal_stream,
    seal_with,
    sign_header,
    wrap_with,
    write_sealed,
)
from .unlocking import Unlocked, unlock

__all__ = [
    "DEFAULT_UNWRAPS_PER_KEY",
    "Keys",
    "Randbytes",
    "Sealer",
    "SegmentSealer",
    "Spent",
    "Unlocked",
    "as_suite",
    "checked_map",
    "checked_segment_size",
    "inspect",
    "is_provider",
    "kind_of",
    "new_sealer",
    "open",
    "open_parsed",
    "open_stream",
    "parse_bytes",
    "providers_of",
    "seal",
    "seal_into_bytes",
    "seal_stream",
    "seal_with",
    "sign_header",
    "tell",
    "unlock",
    "unwrap_budget",
    "wrap_with",
    "write_sealed",
]

"""BulkOptions: every option of a bulk job, in one frozen value."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import attrs

from .._format import Header

Select = Callable[[Header], bool]
Progress = Callable[[int, int], None]


def _positive(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{attribute.name} must be an int of at least 1, not {value!r}")


def _not_negative(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{attribute.name} must be a number of at least 0, not {value!r}")


@attrs.frozen(kw_only=True)
class BulkOptions:
    """How a bulk job runs: built once, passed to ``rewrap_all``/``rotate_all``.

    ``to`` is the new set of keys (providers or key URIs), ``drop`` the
    wraps to remove (providers, KeyRefs or ``kind:key_id[#version]``
    labels), ``add`` keys or recipients to wrap for beside the wraps a
    document has (rewrap only: a document that already carries their wrap
    is skipped from its header; ``allow_classical`` lets a post-quantum
    wrap sit beside an X25519 one, see _pq_mix), ``select`` a predicate on each document's Header.
    ``checkpoint`` is a file that makes a rerun resume; ``stop`` an event
    that, once set, makes the job take no new document, finish the ones in
    flight, flush the checkpoint and return a report with
    ``interrupted=True``. ``allow_unconditional`` lets a job run on a store
    that cannot refuse to overwrite a document changed under it;
    ``allow_empty`` lets it run on a URL that holds nothing.
    ``remove_replaced_versions``: on a versioned bucket, remove the old
    version of each document the job replaced (it holds the old
    ciphertext); refused under S3 Object Lock. Each removal is audited.
    """

    prefix: str = attrs.field(default="", validator=attrs.validators.instance_of(str))
    to: Any = None
    drop: Any = None
    add: Any = None
    allow_classical: bool = False
    select: Select | None = None
    workers: int = attrs.field(default=8, validator=_positive)
    dry_run: bool = False
    checkpoint: str | os.PathLike[str] | None = None
    retries: int = attrs.field(default=3, validator=_not_negative)
    backoff: float = attrs.field(default=0.2, validator=_not_negative)
    verify: bool = True
    progress: Progress | None = None
    client: Any = None
    batch_size: int = attrs.field(default=200, validator=_positive)
    allow_unconditional: bool = False
    allow_empty: bool = False
    stop: threading.Event | None = None
    remove_replaced_versions: bool = False

    @classmethod
    def build(cls, options: BulkOptions | None, kwargs: dict[str, Any]) -> BulkOptions:
        """``options`` with ``kwargs`` laid over it (a TypeError names an unknown one)."""
        unknown = sorted(set(kwargs) - {a.name for a in attrs.fields(cls)})
        if unknown:
            raise TypeError(f"unknown bulk option(s): {', '.join(unknown)}")
        if options is None:
            return cls(**kwargs)
        if not isinstance(options, BulkOptions):
            raise TypeError(f"options must be BulkOptions, not {type(options).__name__}")
        return attrs.evolve(options, **kwargs) if kwargs else options

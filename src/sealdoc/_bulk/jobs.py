"""One bulk job, run here on a thread pool or on a Dask cluster."""

from __future__ import annotations

from .dask import Remote, run_on_dask
from .engine import run_here
from .options import BulkOptions
from .report import BulkReport
from .source import Source


def run_bulk(
    source: Source, operation: str, options: BulkOptions, *, remote: Remote | None = None
) -> BulkReport:
    """Run one job; with ``options.client`` on Dask (``remote`` says how workers open the vault)."""
    if operation not in ("rewrap", "rotate"):
        raise ValueError("operation is 'rewrap' or 'rotate'")
    if options.add is not None and operation != "rewrap":
        raise ValueError("add= is for rewrap_all: a rotation re-creates the wraps it keeps")
    if options.client is not None:
        if remote is None:
            raise ValueError("a Dask job needs to know how its workers open the vault")
        return run_on_dask(remote, source, operation, options)
    report, _ = run_here(source, operation, options)
    return report


__all__ = ["run_bulk"]

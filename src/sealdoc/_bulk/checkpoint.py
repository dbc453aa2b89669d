"""The checkpoint of a bulk job: which objects are finished, in a few lines whatever the store.

The listing comes in path order, so "finished" is a low-water mark (every
path up to ``upto`` was handled), the few paths above it that finished out
of order (``above``), and the handled paths at or below it that must be
done again (``redo``: failed, changed, missing, abandoned). The file holds
object names as the store shows them (opaque names stay opaque), never doc
ids. It is rewritten whole, atomically (temporary file, fsync, rename),
with mode 0600.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from .._atomic import temp_paths, write_atomic
from ..exceptions import CheckpointError

FORMAT = 2
_FLUSH_EVERY_S = 1.0
_FLUSH_EVERY_N = 128


def fingerprint(secret: bytes | None) -> str | None:
    """A name for a name key that reveals nothing of it: a hash of its hash."""
    if secret is None:
        return None
    inner = hashlib.sha256(secret).digest()
    return hashlib.sha256(b"sealdoc checkpoint name key\x00" + inner).hexdigest()[:16]


class Checkpoint:
    """Finished paths of one job, loaded from and saved to one small file (or kept nowhere)."""

    def __init__(self, path: str | os.PathLike[str] | None, job: dict[str, Any]) -> None:
        self._path = Path(path) if path is not None else None
        self._job = job
        self._lock = threading.Lock()
        # what an earlier run finished: consulted to skip, never grown
        self._old_upto: str | None = None
        self._old_above: frozenset[str] = frozenset()
        self._old_redo: frozenset[str] = frozenset()
        # this run: paths in flight in listing order (None: running, else finished?)
        self._window: OrderedDict[str, bool | None] = OrderedDict()
        self._upto: str | None = None
        self._redo: set[str] = set()
        self._fixed: set[str] = set()  # old redo paths finished by this run
        self._dirty = 0
        self._last_flush = time.monotonic()
        self._held: int | None = None
        if self._path is not None:
            self._held = _claim(self._path)
            if self._held is not None:  # the claim is ours: no live writer of this file
                for left in temp_paths(self._path):  # a run killed mid-write left it
                    left.unlink(missing_ok=True)
            try:
                if self._path.exists():
                    self._load(self._path)
            except BaseException:
                self._release()
                raise

    # -- loading -----------------------------------------------------------------------

    def _load(self, path: Path) -> None:
        text = path.read_text("utf-8")
        if not text.strip():
            return
        try:
            state = json.loads(text)
        except ValueError:
            state = _first_line(text)
        if not isinstance(state, dict) or "sealdoc_checkpoint" not in state:
            raise CheckpointError(f"{path} is not a sealdoc checkpoint")
        if state["sealdoc_checkpoint"] != FORMAT:
            raise CheckpointError(
                f"{path} is a checkpoint of an older sealdoc (format "
                f"{state['sealdoc_checkpoint']}), which named documents in the clear: delete it "
                "(and any copy) and run the job again with a new checkpoint file"
            )
        theirs = state.get("job")
        if theirs != self._job:
            raise CheckpointError(_mismatch(path, theirs, self._job))
        self._old_upto = state.get("upto")
        self._old_above = frozenset(state.get("above", ()))
        self._old_redo = frozenset(state.get("redo", ()))

    def finished(self, path: str) -> bool:
        """Whether an earlier run finished ``path`` (so this one skips it)."""
        if path in self._old_above:
            return True
        upto = self._old_upto
        return upto is not None and path <= upto and path not in self._old_redo

    # -- this run ----------------------------------------------------------------------

    def begin(self, path: str) -> None:
        """``path`` is handed to a worker; paths come in listing (path) order."""
        with self._lock:
            self._window[path] = None

    def end(self, path: str, *, finished: bool) -> None:
        """``path`` is done with: finished (skip it next time) or to be redone."""
        with self._lock:
            self._window[path] = finished
            while self._window:
                first, state = next(iter(self._window.items()))
                if state is None:
                    break
                self._window.popitem(last=False)
                self._upto = first
                if state:
                    self._redo.discard(first)
                    if first in self._old_redo:
                        self._fixed.add(first)
                else:
                    self._redo.add(first)
            self._dirty += 1
            due = self._dirty >= _FLUSH_EVERY_N or (
                time.monotonic() - self._last_flush > _FLUSH_EVERY_S
            )
            if due:
                self._flush()

    def _state(self) -> dict[str, Any]:
        upto = max(filter(None, (self._old_upto, self._upto)), default=None)
        above: set[str] = {p for p, state in self._window.items() if state}
        above |= self._old_above
        redo: set[str] = set(self._old_redo - self._fixed) | self._redo
        # paths not handled by anyone yet sit above the mark: nothing to record for them
        if upto is not None:
            above = {p for p in above if p > upto}
            redo = {p for p in redo if p <= upto}
            pending = [p for p, state in self._window.items() if not state and p <= upto]
            redo |= set(pending)  # in flight below an earlier run's mark: not finished
        return {
            "sealdoc_checkpoint": FORMAT,
            "job": self._job,
            "upto": upto,
            "above": sorted(above),
            "redo": sorted(redo),
        }

    def _flush(self) -> None:
        if self._path is None or self._dirty == 0:
            return
        data = json.dumps(self._state(), sort_keys=True).encode("utf-8")
        write_atomic(self._path, data)  # 0600: it names documents
        self._dirty = 0
        self._last_flush = time.monotonic()

    def close(self) -> None:
        """Write what this run finished (call it however the job ends)."""
        try:
            with self._lock:
                self._flush()
        finally:
            self._release()

    def __del__(self) -> None:
        self._release()  # a job dropped without close() (an error in-process) frees its claim

    def _release(self) -> None:
        held = self.__dict__.pop("_held", None)  # absent if __init__ failed early
        self._held = None
        if held is not None:
            os.close(held)  # closing the descriptor drops the flock


def _claim(path: Path) -> int | None:
    """An exclusive lock on a file beside the checkpoint, for the job's lifetime.

    Two jobs writing one checkpoint would each skip what the other recorded
    and overwrite its records: the second is refused while the first runs.
    The lock file is never the checkpoint itself, which is replaced by rename.
    """
    try:
        import fcntl  # noqa: PLC0415 - POSIX only
    except ImportError:  # pragma: no cover - no advisory locks: no claim
        return None
    fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise CheckpointError(
            f"{path} is in use by another running job; wait for it to end, "
            "or give this job its own checkpoint file"
        ) from None
    return fd


def _first_line(text: str) -> Any:
    try:
        return json.loads(text.splitlines()[0])
    except (ValueError, IndexError):
        return None


def _few(these: list[str], but_not: list[str], shown: int = 2) -> str:
    """The labels in ``these`` and not in ``but_not``: a few, and how many more.

    A job may name many keys (a keyring's target is every key's current
    version, joined by commas); the operator needs what differs, in a line.
    """
    others = {part for label in but_not for part in label.split(",")}
    parts = dict.fromkeys(part for label in these for part in label.split(","))  # ordered, once
    only = [part for part in parts if part not in others]
    if not only:
        return "none"
    more = f" and {len(only) - shown} more" if len(only) > shown else ""
    return ", ".join(label[:80] for label in only[:shown]) + more


def _mismatch(path: Path, theirs: Any, ours: dict[str, Any]) -> str:
    theirs = theirs if isinstance(theirs, dict) else {}
    same_job = all(theirs.get(k) == ours.get(k) for k in ("operation", "url", "prefix"))
    if same_job and theirs.get("targets") != ours.get("targets"):
        old, new = theirs.get("targets") or [], ours.get("targets") or []
        return (
            f"{path} is the checkpoint of another job, an earlier {ours['operation']} of this "
            "store towards other keys: use a new checkpoint file for each rotation\n"
            f"checkpoint's keys only: {_few(old, new)}\n"
            f"this job's keys only: {_few(new, old)}"
        )
    return (
        f"{path} is the checkpoint of another job ({theirs.get('operation')} of "
        f"{theirs.get('url')} under {theirs.get('prefix')!r}); use a new file for this one"
    )

"""What every backend shares: error translation, a bounded stream copy, its root and URL."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import BinaryIO

from ..exceptions import DocumentNotFoundError, SealdocError, StoreError

CHUNK = 1 << 20  # the bounded copy's buffer: memory per copy stays at one chunk


@contextlib.contextmanager
def store_errors(what: str, path: str) -> Iterator[None]:
    """Backend failures as sealdoc errors, the cause kept as ``__cause__``."""
    try:
        yield
    except SealdocError:
        raise
    except FileNotFoundError as exc:
        raise DocumentNotFoundError(f"no object {path!r} in the store") from exc
    except Exception as exc:
        raise StoreError(
            f"the store failed to {what} {path!r}: {type(exc).__name__}: {exc}"
        ) from exc


def copy_stream(src: BinaryIO, dst: BinaryIO, chunk: int = CHUNK) -> int:
    """Copy ``src`` to its end into ``dst``, one chunk at a time; the bytes copied."""
    done = 0
    buffer = bytearray(chunk)
    view = memoryview(buffer)
    while True:
        n = src.readinto(view) if hasattr(src, "readinto") else None
        if n is None:
            data = src.read(chunk)
            if not data:
                return done
            dst.write(data)
            done += len(data)
            continue
        if n == 0:
            return done
        dst.write(view[:n])
        done += n


class Rooted:
    """What every backend here has: a root, the URL it shows, store paths made full."""

    root: str
    _url: str

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._url!r})"  # the URL only: never credentials

    @property
    def url(self) -> str:
        return self._url

    def _full(self, path: str) -> str:
        return join(self.root, path)


def join(root: str, path: str) -> str:
    """The backend's full path of a store-relative ``path``."""
    return f"{root}/{path}" if root else path


def relative(root: str, full: str) -> str:
    """A backend path as a store-relative one (``root`` stripped)."""
    full = full.lstrip("/") if not root.startswith("/") else full
    start = len(root) + 1 if root else 0
    return full[start:] if root and full.startswith(root + "/") else full

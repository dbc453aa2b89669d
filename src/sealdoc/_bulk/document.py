"""One document of a bulk job: read its head once, decide, rewrap or rotate, verify, replace.

Verification uses what was written, never a re-read: for a rewrap, the new
header must open with every provider that will open it (the ``to=``
targets, or the job's own keys that serve it); for a rotation, the new
stream is authenticated segment by segment as it is written, with those
same providers, before the store makes it visible.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any, BinaryIO

import attrs

from .. import _format as fmt
from .._args import as_list
from .._buffers import write_all
from .._envelope import unlock
from .._format import Header, ParsedHeader
from .._owners import label_matcher
from .._provider_api import KeyProvider, destroyed_here
from .._rekey import is_current, lacking, rewrap_stream, rotate_stream, wrapped_exactly_for
from .._store.base import DocumentStore, Head
from .._stream import SegmentCipher, plaintext_length
from ..exceptions import DecryptionError, FormatError
from ..providers._hybrid import HybridRecipient
from ..providers._x25519 import X25519Recipient
from .options import Select

# One read fetches the header (most are under 2 KiB; a longer one costs a second
# read) and, for documents up to this size, the whole object: then the body is
# authenticated too and the new version is written in one request.
HEAD_READ = 128 * 1024

# A recipient holds a public key only: its wrap cannot be opened here, so it
# is checked only for being there.
_PUBLIC_ONLY = (X25519Recipient, HybridRecipient)


@attrs.frozen
class Plan:
    """What the job does to each document (the same for all of them)."""

    operation: str
    keys: tuple[KeyProvider, ...]
    to: tuple[KeyProvider, ...] | None
    drop: Any
    select: Select | None
    dry_run: bool
    verify: bool
    versioned: bool = False  # the store keeps the versions it replaces
    remove_replaced: bool = False
    add: tuple[KeyProvider, ...] | None = None  # per document: only the ones it lacks
    allow_classical: bool = False


@attrs.frozen
class Done:
    """How one document ended: ``outcome`` is rewritten, would_rewrite, skipped or shredded."""

    outcome: str
    before: tuple[str, ...]
    after: tuple[str, ...]
    replaced: str | None = None  # the version a rewrite replaced (kept by a versioned bucket)
    added: tuple[str, ...] = ()  # the labels of the wraps add= wrote


def read_parsed(
    store: DocumentStore, path: str, length: int = HEAD_READ
) -> tuple[Head, ParsedHeader]:
    """The object's head and parsed header: one ranged read, two for a long header."""
    head = store.read_head(path, length)
    header_len = fmt.parse_prelude(head.data[: fmt.PRELUDE_LEN])
    if header_len > len(head.data) and head.size > len(head.data):
        head = store.read_head(path, header_len)
    parsed = fmt.parse_header(head.data)
    return head, parsed


def public_header(head: Head, parsed: ParsedHeader) -> Header:
    """The Header, with the plaintext length; DecryptionError for a truncated body."""
    body = head.size - len(parsed.raw)
    return parsed.public(plaintext_length(body, parsed.core.segment_size))


def process(
    store: DocumentStore, plan: Plan, path: str, doc_id: str | None, binding: Mapping[str, str]
) -> Done:
    """One attempt at one document (errors are the caller's to sort and retry)."""
    head, parsed = read_parsed(store, path)
    header = public_header(head, parsed)
    labels = tuple(w.label for w in parsed.wrapped_keys)
    if plan.select is not None and not plan.select(header):
        return Done("skipped", labels, labels)
    if is_shredded(plan.keys, parsed.wrapped_keys):  # no job can move it, ever: not a failure
        return Done("shredded", labels, labels)
    if plan.add is not None:  # from the header: a rerun adds nothing twice
        plan = attrs.evolve(plan, add=lacking(parsed.wrapped_keys, plan.add))
    if plan.operation == "rewrap" and _already_current(plan, header):
        return Done("skipped", labels, labels)
    if plan.dry_run:  # from the header alone: no key is used, nothing is audited
        return Done("would_rewrite", labels, labels)
    doc = _Read(store, path, head, parsed, binding)
    if plan.operation == "rewrap":
        return _rewrap(plan, doc)
    return _rotate(plan, doc, length=header.plaintext_length or 0)


def is_shredded(keys: Sequence[KeyProvider], wrapped: Sequence[fmt.WrappedKey]) -> bool:
    """Whether every wrap is under a key version that one of ``keys`` destroyed on purpose.

    From the header and the keys' tombstones alone (:class:`KnowsDestroyed`):
    no unwrap is tried. A wrap no key knows as destroyed (a password, a
    device, a disabled version, another keyring) leaves the document alive.
    """
    return bool(wrapped) and all(any(destroyed_here(p, w) for p in keys) for w in wrapped)


@attrs.frozen
class _Read:
    """One document as the job read it: where it is, its head and header, its binding."""

    store: DocumentStore
    path: str
    head: Head
    parsed: ParsedHeader
    binding: Mapping[str, str]


def _rewrap(plan: Plan, doc: _Read) -> Done:
    head, parsed = doc.head, doc.parsed
    labels = tuple(w.label for w in parsed.wrapped_keys)
    new_header = _new_header(plan, head, parsed, doc.binding)
    new = fmt.parse_header(new_header)
    if new.wrapped_keys == parsed.wrapped_keys:
        return Done("skipped", labels, labels)
    whole = len(head.data) >= head.size
    body = memoryview(head.data)[len(parsed.raw) :]
    if plan.verify:
        cipher = check_opens(new, _verifiers(plan, new), doc.binding, _old(plan, parsed))
        if plan.add:
            _check_added(plan.add, new, doc.binding)
        if whole and cipher is not None:  # the same key and body: a truncation shows here
            _authenticate(cipher, body, new.core.segment_size)
    if whole:
        doc.store.replace(doc.path, head.version, lambda out: write_all(out, new_header + body))
    else:
        doc.store.replace_header(doc.path, head.version, new_header, len(parsed.raw))
    after = tuple(w.label for w in new.wrapped_keys)
    added = tuple(w.label for w in new.wrapped_keys if w not in parsed.wrapped_keys)
    return Done("rewritten", labels, after, head.version, added if plan.add else ())


def _check_added(add: Sequence[KeyProvider], new: ParsedHeader, binding: Mapping[str, str]) -> None:
    """Each ``add=`` key has its wrap in the new header, and opens it if it can open anything."""
    if lacking(new.wrapped_keys, add):
        raise DecryptionError("a key given in add= has no wrap in the new header")
    check_opens(new, [p for p in add if not isinstance(p, _PUBLIC_ONLY)], binding, None)


def _authenticate(cipher: SegmentCipher, body: memoryview, size: int) -> None:
    scratch = memoryview(bytearray(min(len(body), size)))
    seg_ct = size + fmt.TAG_LEN
    count = max(1, -(-len(body) // seg_ct))
    for index in range(count):
        segment = body[index * seg_ct : (index + 1) * seg_ct]
        cipher.open_into(index, index == count - 1, segment, scratch[: len(segment) - fmt.TAG_LEN])


def _rotate(plan: Plan, doc: _Read, *, length: int) -> Done:
    sink: list[_Checked] = []
    binding = doc.binding

    def write(out: BinaryIO) -> None:
        checked = _Checked(out, plan, binding, length, _old(plan, doc.parsed))
        sink.append(checked)
        with _old_stream(doc.store, doc.path, doc.head, doc.parsed) as src:
            rotate_stream(src, checked, keys=plan.keys, to=plan.to, binding=binding, **_drop(plan))
        checked.finish()

    doc.store.replace(doc.path, doc.head.version, write)
    before = tuple(w.label for w in doc.parsed.wrapped_keys)
    return Done("rewritten", before, sink[-1].labels, doc.head.version)


def _drop(plan: Plan) -> dict[str, Any]:
    return {} if plan.drop is None else {"drop": plan.drop}


def _already_current(plan: Plan, header: Header) -> bool:
    if plan.add is not None:
        return not plan.add and not _may_drop(plan.drop, header.wrapped_keys)
    if plan.drop is not None:
        return False
    if plan.to is not None:
        # is_current would call a customer's document current for to=ring
        return wrapped_exactly_for(header, plan.to)
    return is_current(header, keys=plan.keys)


def _may_drop(drop: Any, wrapped: Sequence[fmt.WrappedKey]) -> bool:
    """Whether ``drop=`` may name a wrap (a provider's own are known only by unwrapping)."""
    for item in as_list(drop) if drop is not None else ():
        if isinstance(item, str):
            if any(map(label_matcher(item), wrapped)):
                return True
        elif not isinstance(item, fmt.KeyRef) or any(w.ref == item for w in wrapped):
            return True
    return False


class _HeaderOnly(io.RawIOBase):
    """The header bytes as an unseekable stream: rewrap_stream then copies no body."""

    def __init__(self, data: bytes) -> None:
        self._data, self._pos = data, 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = min(len(b), len(self._data) - self._pos)
        b[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


def _new_header(plan: Plan, head: Head, parsed: ParsedHeader, binding: Mapping[str, str]) -> bytes:
    """The rewrapped header, through the public rewrap_stream (its rules, its audit)."""
    out = io.BytesIO()
    rewrap_stream(
        _HeaderOnly(head.data[: len(parsed.raw)]),
        out,
        keys=plan.keys,
        to=plan.to,
        add=list(plan.add) if plan.add else None,
        drop=plan.drop,
        binding=binding,
        allow_classical=plan.allow_classical,
    )
    return out.getvalue()


def _verifiers(plan: Plan, new: ParsedHeader) -> list[KeyProvider]:
    """Who will open the new version: the targets, or the job's keys that serve it."""
    candidates = plan.to if plan.to is not None else plan.keys
    recipients = [p for p in candidates if isinstance(p, _PUBLIC_ONLY)]
    openers = [p for p in candidates if not isinstance(p, _PUBLIC_ONLY)]
    serving = [p for p in openers if any(p.handles(w) for w in new.wrapped_keys)]
    if plan.to is not None:
        devices = sum(w.kind in ("x25519", "mlkem768x25519") for w in new.wrapped_keys)
        if len(serving) < len(openers) or devices < len(recipients):
            raise DecryptionError("a target key has no wrap in the new header")
    return serving


def check_opens(
    new: ParsedHeader,
    providers: Sequence[KeyProvider],
    binding: Mapping[str, str],
    old: ParsedHeader | None,
) -> SegmentCipher | None:
    """The providers must open the new header, each on its own; the cipher of the first.

    With ``old`` None (the ``to=`` targets, each given a new wrap) every
    provider must. Otherwise they are the job's own keys, picked by
    ``handles``, which only says a provider may open a wrap (a Password or
    an X25519Identity handles every wrap of its kind): one that does not
    open the new header fails the document only if it opened the old one,
    since then the rewrap lost its wrap. That second try costs a failing
    provider one more unwrap, never a working one. At least one must open.
    """
    cipher = None
    for provider in providers:
        try:
            unlocked = unlock(new, [provider], {}, binding)
        except DecryptionError:
            if old is None or _opens(old, provider, binding):
                raise  # it opened the old version and not the new one
            continue  # it never owned a wrap of this document
        if cipher is None:
            cipher = unlocked.cipher()
    if cipher is None and providers:
        raise DecryptionError("none of the job's keys opens the new version")
    return cipher


def _old(plan: Plan, parsed: ParsedHeader) -> ParsedHeader | None:
    """The old header, to excuse a job key that never owned a wrap; None for ``to=``."""
    return None if plan.to is not None else parsed


def _opens(parsed: ParsedHeader, provider: KeyProvider, binding: Mapping[str, str]) -> bool:
    try:
        unlock(parsed, [provider], {}, binding)
    except DecryptionError:
        return False
    return True


class _Concat(io.RawIOBase):
    """The header already read, then the rest of the object from the store."""

    def __init__(self, first: bytes, rest: BinaryIO | None) -> None:
        self._first, self._pos, self._rest = first, 0, rest

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if self._pos < len(self._first):
            n = min(len(b), len(self._first) - self._pos)
            b[:n] = self._first[self._pos : self._pos + n]
            self._pos += n
            return n
        if self._rest is None:
            return 0
        return self._rest.readinto(b)  # type: ignore[attr-defined,no-any-return]

    def close(self) -> None:
        if self._rest is not None:
            self._rest.close()
        super().close()


def _old_stream(store: DocumentStore, path: str, head: Head, parsed: ParsedHeader) -> _Concat:
    if len(head.data) >= head.size:  # the head read fetched it all
        return _Concat(head.data, None)
    header_len = len(parsed.raw)
    return _Concat(head.data[:header_len], store.open_range(path, header_len, head.version))


class _Checked(io.RawIOBase):
    """Passes the new document on, and authenticates it as it goes by.

    The header is parsed (and opened with every verifying provider) as soon
    as it is complete; each body segment is authenticated once the bytes
    after it show it is not the last; ``finish`` checks the last one and the
    plaintext length. Holds at most one segment and one write.
    """

    def __init__(
        self,
        out: BinaryIO,
        plan: Plan,
        binding: Mapping[str, str],
        length: int,
        old: ParsedHeader | None,
    ) -> None:
        self._out, self._plan, self._binding, self._length = out, plan, binding, length
        self._old = old
        self._buf = bytearray()
        self._parsed: ParsedHeader | None = None
        self._cipher: SegmentCipher | None = None
        self._index = 0
        self._plain = 0
        self._scratch = memoryview(bytearray(0))
        self.labels: tuple[str, ...] = ()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        write_all(self._out, view)
        self._buf += view
        if self._parsed is None:
            self._header()
        if self._parsed is not None and self._cipher is not None:
            self._segments(final=False)
        return len(view)

    def _header(self) -> None:
        if len(self._buf) < fmt.PRELUDE_LEN:
            return
        header_len = fmt.parse_prelude(bytes(self._buf[: fmt.PRELUDE_LEN]))
        if len(self._buf) < header_len:
            return
        self._parsed = fmt.parse_header(bytes(self._buf[:header_len]))
        del self._buf[:header_len]
        self.labels = tuple(w.label for w in self._parsed.wrapped_keys)
        if self._plan.verify:
            self._cipher = check_opens(
                self._parsed, _verifiers(self._plan, self._parsed), self._binding, self._old
            )
            size = self._parsed.core.segment_size
            self._scratch = memoryview(bytearray(size))

    def _segments(self, *, final: bool) -> None:
        assert self._parsed is not None
        assert self._cipher is not None
        size = self._parsed.core.segment_size
        seg_ct = size + fmt.TAG_LEN
        while len(self._buf) > seg_ct or (final and self._buf):
            take = min(seg_ct, len(self._buf))
            last = final and take == len(self._buf)
            segment = memoryview(self._buf)[:take]
            try:
                out = self._scratch[: take - fmt.TAG_LEN]
                self._plain += self._cipher.open_into(self._index, last, segment, out)
            finally:
                segment.release()
            del self._buf[:take]
            self._index += 1

    def finish(self) -> None:
        """Raise unless what went by is a whole document that opens, of the right length."""
        if self._parsed is None:
            raise FormatError("the rotated document has no complete header")
        if self._cipher is None:
            return
        self._segments(final=True)
        if self._plain != self._length:
            raise DecryptionError("the rotated document does not have the old one's length")

"""The Vault: one suite, run on a local folder, memory and S3 (moto's server)."""

from __future__ import annotations

import io
import os
import threading
from typing import Any

import pytest

import sealdoc
from sealdoc import (
    DecryptionError,
    DocumentNotFoundError,
    FormatError,
    InvalidDocumentIdError,
    KeyProviderError,
    MemoryKeyring,
    StoreError,
    Vault,
)

from .providers import Down
from .stores import Store, s3_options


def vault(store: Store, keys: Any, **kwargs: Any) -> Vault:
    return Vault(store.url, keys=keys, storage_options=store.storage_options, **kwargs)


def test_put_get_round_trip(store: Store, ring: MemoryKeyring) -> None:
    v = vault(store, ring)
    v.put("acme/statements/2026-11", b"balance 1,204.17", context={"tenant": "acme"})
    assert v.get("acme/statements/2026-11") == b"balance 1,204.17"
    assert v.get("acme/statements/2026-11", context={"tenant": "acme"}) == b"balance 1,204.17"
    with pytest.raises(DecryptionError):
        v.get("acme/statements/2026-11", context={"tenant": "globex"})
    v.put("acme/statements/2026-11", b"corrected")
    assert v.get("acme/statements/2026-11") == b"corrected"


def test_put_a_stream_and_read_at_random(store: Store, ring: MemoryKeyring) -> None:
    v = vault(store, ring, segment_size=4096)
    data = os.urandom(300_000)
    v.put("big", io.BytesIO(data))
    assert v.get("big") == data
    with v.open("big") as reader:
        reader.seek(123_456)
        assert reader.read(10_000) == data[123_456:133_456]
        reader.seek(-5, os.SEEK_END)
        assert reader.read() == data[-5:]


def test_inspect_exists_list_delete(store: Store, ring: MemoryKeyring) -> None:
    v = vault(store, ring)
    for doc_id in ("b/2", "a/1", "a/2", "c"):
        v.put(doc_id, doc_id.encode(), context={"id": doc_id})
    assert list(v.list()) == ["a/1", "a/2", "b/2", "c"]
    assert list(v.list("a/")) == ["a/1", "a/2"]
    assert v.inspect("b/2").context == {"id": "b/2"}
    assert v.exists("c")
    assert not v.exists("d")
    v.delete("a/1")
    assert not v.exists("a/1")
    assert list(v.list()) == ["a/2", "b/2", "c"]


def test_missing_documents(store: Store, ring: MemoryKeyring) -> None:
    v = vault(store, ring)
    assert list(v.list()) == []
    for call in (
        lambda: v.get("nope"),
        lambda: v.open("nope"),
        lambda: v.inspect("nope"),
        lambda: v.delete("nope"),
    ):
        with pytest.raises(DocumentNotFoundError) as info:
            call()
        assert isinstance(info.value, FileNotFoundError)


def test_a_document_moved_to_another_id_does_not_open(store: Store, ring: MemoryKeyring) -> None:
    v = vault(store, ring)
    v.put("customer-a/statement", b"A's money")
    v.put("customer-b/statement", b"B's money")
    fs = store.fs()
    a_path = f"{store.root}/customer-a/statement.sdoc"
    b_path = f"{store.root}/customer-b/statement.sdoc"
    fs.pipe_file(b_path, fs.cat_file(a_path))  # swap A's statement into B's place
    with pytest.raises(DecryptionError):
        v.get("customer-b/statement")
    assert v.get("customer-a/statement") == b"A's money"


@pytest.mark.parametrize(
    "doc_id",
    [
        "",
        "../escape",
        "a/../../escape",
        "/etc/passwd",
        "a//b",
        "a/./b",
        "a/",
        "nul\x00byte",
        "tab\there",
        "back\\slash",
        "x" * 600,
    ],
)
def test_unsafe_doc_ids_are_refused(store: Store, ring: MemoryKeyring, doc_id: str) -> None:
    v = vault(store, ring)
    with pytest.raises(InvalidDocumentIdError):
        v.put(doc_id, b"x")
    with pytest.raises(InvalidDocumentIdError):
        v.get(doc_id)
    fs = store.fs()
    parent = store.root.rsplit("/", 1)[0]
    assert not fs.exists(f"{parent}/escape.sdoc")
    assert list(v.list()) == []


def test_wrong_id_types(store: Store, ring: MemoryKeyring) -> None:
    v = vault(store, ring)
    with pytest.raises(TypeError, match="a doc id is a str"):
        v.put(42, b"x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="bytes or a readable"):
        v.put("a", "text")  # type: ignore[arg-type]


def test_opaque_names_say_nothing(store: Store, ring: MemoryKeyring) -> None:
    key = Vault.generate_name_key()
    v = vault(store, ring, name_key=key)
    v.put("customer-4471/medical/form-2", b"diagnosis", context={"doc_type": "medical"})
    v.put("customer-4471/claim", b"claim")
    fs = store.fs()
    stored = fs.find(store.root)
    assert len(stored) == 2
    for path in stored:
        assert "4471" not in path
        assert "claim" not in path
        assert "medical/" not in path
        raw = fs.cat_file(path)
        assert b"4471" not in raw
    # in the order of the encrypted names: a doc-id order would need the whole listing
    assert sorted(v.list()) == ["customer-4471/claim", "customer-4471/medical/form-2"]
    assert list(v.list("customer-4471/m")) == ["customer-4471/medical/form-2"]
    assert v.get("customer-4471/claim") == b"claim"
    stranger = vault(store, ring, name_key=Vault.generate_name_key())
    assert list(stranger.list()) == []
    assert not stranger.exists("customer-4471/claim")
    with pytest.raises(ValueError, match="64 bytes"):
        vault(store, ring, name_key=b"short")


def test_not_sealed_and_truncated_objects(store: Store, ring: MemoryKeyring) -> None:
    v = vault(store, ring)
    v.put("doc", os.urandom(1000))
    fs = store.fs()
    path = f"{store.root}/doc.sdoc"
    sealed = fs.cat_file(path)
    fs.pipe_file(path, b"just some bytes, not sealed")
    with pytest.raises(FormatError, match="not a sealed document"):
        v.get("doc")
    fs.pipe_file(path, sealed[:-10])
    with pytest.raises(DecryptionError):
        v.get("doc")
    with v.open("doc") as reader, pytest.raises(DecryptionError):
        reader.read()


def test_a_failed_put_leaves_the_previous_version(store: Store, ring: MemoryKeyring) -> None:
    v = vault(store, ring)
    v.put("doc", b"version 1")
    with pytest.raises(KeyProviderError):
        vault(store, [ring, Down()]).put("doc", b"version 2")
    assert v.get("doc") == b"version 1"

    class Failing(io.RawIOBase):
        def __init__(self) -> None:
            self.sent = 0

        def readable(self) -> bool:
            return True

        def readinto(self, b: Any) -> int:
            if self.sent > 2_000_000:
                raise OSError(5, "the source disk failed")
            b[:] = bytes(len(b))
            self.sent += len(b)
            return len(b)

    with pytest.raises(OSError, match="source disk failed"):
        v.put("doc", Failing())
    assert v.get("doc") == b"version 1"
    assert list(v.list()) == ["doc"]


def test_readers_see_the_old_or_the_new_document(store: Store, ring: MemoryKeyring) -> None:
    v = vault(store, ring)
    versions = [bytes([i]) * 50_000 for i in range(2)]
    v.put("doc", versions[0])
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            v.put("doc", versions[i % 2])

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(40):
            try:
                assert v.get("doc") in versions
            except BaseException as exc:  # collected: the writer thread must be stopped
                errors.append(exc)
    finally:
        stop.set()
        thread.join()
    assert errors == []


def test_an_unreachable_store_is_a_store_error(ring: MemoryKeyring) -> None:
    options = s3_options("http://127.0.0.1:9")  # nothing listens on the discard port
    options["config_kwargs"] = {"retries": {"max_attempts": 1}, "connect_timeout": 1}
    v = Vault("s3://no-such-endpoint/vault", keys=ring, storage_options=options)
    with pytest.raises(StoreError) as info:
        v.put("doc", b"x")
    assert info.value.__cause__ is not None
    with pytest.raises(StoreError):
        v.get("doc")
    with pytest.raises(StoreError):
        list(v.list())


def test_a_missing_backend_names_what_to_install(ring: MemoryKeyring) -> None:
    with pytest.raises(
        (StoreError, ImportError, ValueError), match=r"(?i)install|unknown|protocol"
    ):
        Vault("nosuchproto://x/y", keys=ring)


def test_repr_shows_no_key(ring: MemoryKeyring, tmp_path: Any) -> None:
    key = Vault.generate_name_key()
    v = Vault(f"file://{tmp_path}", keys=ring, name_key=key)
    assert key.hex() not in repr(v)
    assert repr(v) == f"Vault('file://{tmp_path}', opaque names)"


def test_sealdoc_documents_are_also_plain_sealed_files(store: Store, ring: MemoryKeyring) -> None:
    v = vault(store, ring)
    v.put("x", b"payload", context={"k": "v"})
    raw = store.fs().cat_file(f"{store.root}/x.sdoc")
    header = sealdoc.inspect(raw)
    assert header.has_binding
    assert header.context == {"k": "v"}
    with pytest.raises(DecryptionError):
        sealdoc.open(raw, keys=ring)  # the doc id binding is required
    assert sealdoc.open(raw, keys=ring, binding={"sealdoc:doc_id": "x"}) == b"payload"


def test_a_vault_without_fsync_behaves_the_same(store: Store, ring: MemoryKeyring) -> None:
    v = vault(store, ring, durable=False)
    v.put("doc", io.BytesIO(b"streamed"))
    v.put("doc", b"replaced")
    assert v.get("doc") == b"replaced"
    assert list(v.list()) == ["doc"]


CRASHING_WRITER = """
import sys, time, sealdoc
ring = sealdoc.MemoryKeyring._from_secret(bytes(32))
vault = sealdoc.Vault(sys.argv[1], keys=ring)

class Slow:
    sent = 0
    def read(self, n=-1):
        if self.sent == 1 << 20:
            print("writing", flush=True)  # a megabyte is in; now wait for the kill
            time.sleep(60)
        self.sent += 65536
        return bytes(65536)

vault.put("doc", Slow())
"""


def test_a_killed_writer_leaves_the_previous_version(tmp_path: Any) -> None:
    import signal
    import subprocess
    import sys

    ring = MemoryKeyring._from_secret(bytes(32))
    url = f"file://{tmp_path}/vault"
    Vault(url, keys=ring).put("doc", b"version 1")
    with subprocess.Popen(
        [sys.executable, "-c", CRASHING_WRITER, url], stdout=subprocess.PIPE, text=True
    ) as child:
        assert child.stdout is not None
        assert child.stdout.readline() == "writing\n"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    v = Vault(url, keys=ring)
    assert v.get("doc") == b"version 1"
    assert list(v.list()) == ["doc"]
    leftovers = [p.name for p in (tmp_path / "vault").iterdir() if p.name != "doc.sdoc"]
    assert len(leftovers) == 1  # the killed writer's hidden temp file, never listed
    assert leftovers[0].startswith(".doc.sdoc.")


def test_a_put_wraps_the_document_key_once(store: Store, ring: MemoryKeyring) -> None:
    events: list[sealdoc.AuditEvent] = []
    remove = sealdoc.add_audit_hook(events.append)
    try:
        v = vault(store, ring)
        v.put("bytes", b"x")
        v.put("stream", io.BytesIO(b"y" * 100_000))
    finally:
        remove()
    assert [e.operation for e in events] == ["wrap", "wrap"]

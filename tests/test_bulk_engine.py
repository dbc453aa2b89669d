"""The bulk engine over the store seam: verification, checkpoints, bad documents, stops."""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import fsspec
import pytest

import sealdoc
from sealdoc import (
    BulkOptions,
    CheckpointError,
    EmptyStoreError,
    KeyProviderError,
    MemoryKeyring,
    UnsafeStoreError,
    Vault,
)
from sealdoc.exceptions import DocumentChangedError
from sealdoc.providers import AssociatedData, KdfLimits, Password, WrappedKey

from .stores import Store, adds_up, filled, new_bucket, s3_options

BINDING = "sealdoc:doc_id"


def memory_url() -> str:
    return f"memory://e{os.urandom(6).hex()}/vault"


def raw(vault: Vault, doc_id: str) -> bytes:
    return vault._read_sealed(doc_id)


# -- a store wrapper, to put faults between the engine's calls ------------------------------


class Hooked:
    """A DocumentStore that runs ``before(name, path)`` ahead of each call to the real one."""

    def __init__(self, inner: Any, before: Callable[[str, str], None]) -> None:
        self._inner, self._before = inner, before

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def read_head(self, path: str, length: int) -> Any:
        self._before("read_head", path)
        return self._inner.read_head(path, length)

    def replace_header(self, path: str, version: str, header: bytes, body_offset: int) -> str:
        self._before("replace_header", path)
        return self._inner.replace_header(path, version, header, body_offset)  # type: ignore[no-any-return]

    def replace(self, path: str, version: str, write: Callable[[BinaryIO], object]) -> str:
        self._before("replace", path)
        return self._inner.replace(path, version, write)  # type: ignore[no-any-return]


def hooked_vault(vault: Vault, before: Callable[[str, str], None], **store_attrs: Any) -> Vault:
    """The same vault, whose bulk jobs see its store through ``Hooked``."""

    class HookedVault(Vault):
        @property
        def store(self) -> Any:
            inner = super().store
            hooked = Hooked(inner, before)
            for name, value in store_attrs.items():
                setattr(hooked, name, value)
            return hooked

    hv = HookedVault.__new__(HookedVault)
    hv.__dict__.update(vault.__dict__)
    return hv


# -- 12.1: verified with the keys that will open it ------------------------------------------


def test_a_move_to_another_keyring_is_reported_rewritten_and_opens_with_the_target() -> None:
    ring, other = MemoryKeyring(), MemoryKeyring(key_id="other")
    vault = filled(memory_url(), ring, 8)
    report = vault.rewrap_all(to=other)
    adds_up(report)
    assert (report.rewritten, report.failed) == (8, ())
    assert report.after == {f"memory:{other.current_key().key_id}#1": 8}
    moved = Vault(vault.url, keys=other)
    assert moved.get("docs/0005") == b"statement 5"
    with pytest.raises(sealdoc.DecryptionError):
        vault.get("docs/0005")  # the old keys no longer open it: they did not verify it


def test_a_move_to_kms_on_moto_is_verified_with_kms(moto_endpoint: str) -> None:
    from sealdoc.providers import AwsKms

    from .test_aws_kms import new_key

    kms = AwsKms(new_key(moto_endpoint), endpoint_url=moto_endpoint)
    ring = MemoryKeyring()
    store = Store("s3", f"s3://{new_bucket(moto_endpoint)}/v", s3_options(moto_endpoint))
    vault = filled(store.url, ring, 6, storage_options=store.storage_options)
    report = vault.rewrap_all(to=kms, workers=3)
    adds_up(report)
    assert (report.rewritten, report.failed) == (6, ())
    assert set(report.after) == {w.label for w in [kms.current_key()]}
    on_kms = Vault(store.url, keys=kms, storage_options=store.storage_options)
    assert on_kms.get("docs/0002") == b"statement 2"
    assert on_kms.inventory().counts == {kms.current_key().label: 6}


def test_adding_an_escrow_key_is_verified_with_both() -> None:
    ring, escrow = MemoryKeyring(), MemoryKeyring(key_id="escrow")
    vault = filled(memory_url(), ring, 5)
    report = vault.rewrap_all(to=[ring, escrow])
    assert (report.rewritten, report.failed) == (5, ())
    assert Vault(vault.url, keys=escrow).get("docs/0001") == b"statement 1"
    assert vault.get("docs/0001") == b"statement 1"


class Broken:
    """Wraps fine by its own account, but its wraps open for nobody (a misconfigured KEK)."""

    kind = "memory"

    def __init__(self, inner: MemoryKeyring) -> None:
        self._inner = inner

    def wrap(self, dek: bytes, ad: AssociatedData) -> WrappedKey:
        good = self._inner.wrap(dek, ad)
        return WrappedKey(good.kind, good.key_id, good.version, bytes(len(good.payload)))

    def unwrap(self, wrapped: WrappedKey, ad: AssociatedData) -> bytes:
        return self._inner.unwrap(wrapped, ad)

    def handles(self, wrapped: WrappedKey) -> bool:
        return self._inner.handles(wrapped)

    def current_key(self) -> sealdoc.KeyRef:
        return self._inner.current_key()


@pytest.mark.parametrize("operation", ["rewrap", "rotate"])
def test_a_new_version_that_does_not_open_is_never_written(operation: str) -> None:
    ring = MemoryKeyring()
    vault = filled(memory_url(), ring, 4)
    before = {d: raw(vault, d) for d in vault.list()}
    target = Broken(MemoryKeyring(key_id="bad"))
    job = vault.rewrap_all if operation == "rewrap" else vault.rotate_all
    report = job(to=target, retries=0)
    adds_up(report)
    assert report.rewritten == 0
    assert len(report.failed) == 4
    assert {d: raw(vault, d) for d in vault.list()} == before  # byte for byte


class FailsAfter:
    """A provider that works for ``calls`` calls and then is down for good."""

    kind = "memory"

    def __init__(self, inner: MemoryKeyring, calls: int) -> None:
        self._inner, self._left = inner, calls
        self._lock = threading.Lock()

    def _spend(self) -> None:
        with self._lock:
            self._left -= 1
            if self._left < 0:
                raise KeyProviderError("the key service went down (simulated)")

    def wrap(self, dek: bytes, ad: AssociatedData) -> WrappedKey:
        self._spend()
        return self._inner.wrap(dek, ad)

    def unwrap(self, wrapped: WrappedKey, ad: AssociatedData) -> bytes:
        self._spend()
        return self._inner.unwrap(wrapped, ad)

    def handles(self, wrapped: WrappedKey) -> bool:
        return self._inner.handles(wrapped)

    def current_key(self) -> sealdoc.KeyRef:
        return self._inner.current_key()


def test_a_provider_that_fails_after_some_writes(tmp_path: Path) -> None:
    ring = MemoryKeyring()
    vault = filled(memory_url(), ring, 20)
    ring.rotate()
    before = {d: raw(vault, d) for d in vault.list()}
    # one unwrap checks the job's root (_bulk/root.py), then three calls per
    # document (unwrap, wrap, verify): seven documents, then down
    flaky = Vault(vault.url, keys=FailsAfter(ring, 22))
    checkpoint = tmp_path / "job.checkpoint"
    report = flaky.rewrap_all(workers=1, retries=1, backoff=0, checkpoint=checkpoint)
    adds_up(report)
    assert report.rewritten == 7
    assert len(report.failed) == 13
    assert all("went down" in f.error for f in report.failed)
    for doc_id in vault.list():
        if doc_id in {f.doc_id for f in report.failed}:
            assert raw(vault, doc_id) == before[doc_id]  # byte for byte
        else:
            assert vault.inspect(doc_id).wrapped_keys[0].version == 2
    again = vault.rewrap_all(checkpoint=checkpoint)
    adds_up(again)
    assert (again.resumed, again.rewritten, again.failed) == (7, 13, ())
    assert vault.inventory().counts == {f"memory:{ring.current_key().key_id}#2": 20}


# -- checkpoints -------------------------------------------------------------------------


def test_the_checkpoint_is_private_small_and_names_no_doc_id(tmp_path: Path) -> None:
    ring = MemoryKeyring()
    name_key = Vault.generate_name_key()
    url = f"file://{tmp_path}/vault"
    vault = Vault(url, keys=ring, name_key=name_key)
    for i in range(300):
        vault.put(f"customer-{i:05}/statement", b"x")
    ring.rotate()
    checkpoint = tmp_path / "job.checkpoint"
    report = vault.rewrap_all(checkpoint=checkpoint, workers=4)
    assert report.rewritten == 300
    assert stat.S_IMODE(checkpoint.stat().st_mode) == 0o600
    text = checkpoint.read_text()
    assert "customer" not in text
    assert name_key.hex() not in text
    assert len(text) < 2048  # a mark, not a line per document
    state = json.loads(text)
    assert state["above"] == []
    assert state["redo"] == []
    assert vault.rewrap_all(checkpoint=checkpoint).resumed == 300


def test_a_checkpoint_of_an_older_target_is_refused_and_skips_nothing(tmp_path: Path) -> None:
    ring = MemoryKeyring()
    vault = filled(memory_url(), ring, 6)
    ring.rotate()
    checkpoint = tmp_path / "monthly.checkpoint"
    assert vault.rewrap_all(checkpoint=checkpoint).rewritten == 6
    ring.rotate()  # next month
    with pytest.raises(
        CheckpointError, match=r"(?s)memory:default@kr-\w+#2.*memory:default@kr-\w+#3"
    ):
        vault.rewrap_all(checkpoint=checkpoint)
    label = f"memory:{ring.current_key().key_id}"
    assert vault.inventory().counts == {f"{label}#2": 6}  # nothing skipped or done
    fresh = vault.rewrap_all(checkpoint=tmp_path / "next.checkpoint")
    assert fresh.rewritten == 6
    other = MemoryKeyring(key_id="other")
    with pytest.raises(CheckpointError, match="checkpoint of another job"):
        vault.rewrap_all(checkpoint=tmp_path / "next.checkpoint", to=other)


def test_an_old_format_checkpoint_is_refused(tmp_path: Path) -> None:
    vault = filled(memory_url(), MemoryKeyring(), 2)
    old = tmp_path / "old.checkpoint"
    old.write_text('{"job": {}, "sealdoc_checkpoint": 1}\n"docs/0000"\n')
    with pytest.raises(CheckpointError, match="older sealdoc"):
        vault.rewrap_all(checkpoint=old)


# -- bad documents and moving targets -----------------------------------------------------------


def test_not_sealed_truncated_changed_and_missing_are_each_reported() -> None:
    ring = MemoryKeyring()
    vault = filled(memory_url(), ring, 8)
    vault.put("docs/0003", b"statement 3, another version")
    versions = [raw(vault, "docs/0003")]  # two versions under the old key, bytes apart
    vault.put("docs/0003", b"statement 3")
    versions.append(raw(vault, "docs/0003"))
    ring.rotate()
    fs, root = fsspec.core.url_to_fs(vault.url)  # the memory file system under the vault
    fs.pipe_file(f"{root}/docs/0001.sdoc", b"not a sealed document")
    cut = vault.inspect("docs/0002").header_length + 3
    fs.pipe_file(f"{root}/docs/0002.sdoc", raw(vault, "docs/0002")[:cut])
    fs.pipe_file(f"{root}/docs/0006.sdoc", raw(vault, "docs/0006")[:-5])  # inside the last segment
    damaged = {d: raw(vault, d) for d in ("docs/0001", "docs/0002", "docs/0006")}
    writes: dict[str, int] = {}

    def before(call: str, path: str) -> None:
        writing = call in ("replace", "replace_header")
        if writing and path == "docs/0003.sdoc":
            writes[path] = writes.get(path, 0) + 1
            # another writer stores a new version (still under the old key) each time
            fs.pipe_file(f"{root}/docs/0003.sdoc", versions[(writes[path] - 1) % 2])
        if writing and path == "docs/0004.sdoc" and "once" not in writes:
            writes["once"] = 1
            vault.put("docs/0004", b"a newer version, once")
        if call == "read_head" and path == "docs/0005.sdoc":
            vault.delete("docs/0005")

    report = hooked_vault(vault, before).rewrap_all(workers=2)
    adds_up(report)
    assert [f.doc_id for f in report.failed] == ["docs/0001", "docs/0002", "docs/0006"]
    assert "no SDOC magic" in report.failed[0].error
    assert "truncated" in report.failed[1].error
    assert "failed authentication" in report.failed[2].error
    assert [f.doc_id for f in report.changed] == ["docs/0003"]
    assert [f.doc_id for f in report.missing] == ["docs/0005"]
    assert writes["docs/0003.sdoc"] == 2  # read again and redone once, then reported
    assert report.rewritten == 2  # 0000 and 0007
    assert report.skipped == 1  # 0004, read again: its newer version is already current
    assert raw(vault, "docs/0003") == versions[1]  # the other writer's last, never overwritten
    assert vault.get("docs/0004") == b"a newer version, once"
    assert {d: raw(vault, d) for d in damaged} == damaged


def test_a_store_without_compare_and_swap_is_refused_unless_allowed() -> None:
    ring = MemoryKeyring()
    vault = filled(memory_url(), ring, 3)
    ring.rotate()
    unsafe = hooked_vault(vault, lambda *_: None, conditional=False)
    with pytest.raises(UnsafeStoreError, match="allow_unconditional"):
        unsafe.rewrap_all()
    assert unsafe.rewrap_all(dry_run=True).would_rewrite == 3  # a dry run writes nothing
    assert unsafe.rewrap_all(allow_unconditional=True).rewritten == 3


def test_an_empty_or_missing_store_is_an_error(tmp_path: Path) -> None:
    ring = MemoryKeyring()
    missing = Vault(f"file://{tmp_path}/no-such-folder", keys=ring)
    for call in (missing.rewrap_all, missing.rotate_all, missing.inventory):
        with pytest.raises(EmptyStoreError, match="no-such-folder"):
            call()
    assert missing.rewrap_all(allow_empty=True).scanned == 0
    assert missing.inventory(allow_empty=True).documents == 0
    vault = filled(memory_url(), ring, 2)
    with pytest.raises(EmptyStoreError, match="prefix 'nobody/'"):
        vault.rewrap_all(prefix="nobody/")


def test_options_as_one_value_and_as_keywords() -> None:
    ring = MemoryKeyring()
    vault = filled(memory_url(), ring, 4)
    ring.rotate()
    options = BulkOptions(dry_run=True, workers=2)
    assert vault.rewrap_all(options).would_rewrite == 4
    assert vault.rewrap_all(options, dry_run=False).rewritten == 4  # keywords win
    with pytest.raises(TypeError, match="unknown bulk option"):
        vault.rewrap_all(wokers=3)
    with pytest.raises(ValueError, match="workers"):
        BulkOptions(workers=0)


# -- streaming: work starts before the listing ends; stops -----------------------------------


def test_work_starts_before_the_listing_ends() -> None:
    ring = MemoryKeyring()
    vault = filled(memory_url(), ring, 60)
    ring.rotate()
    listed = threading.Event()
    early: list[bool] = []

    class SlowList(Vault):
        @property
        def store(self) -> Any:
            inner = super().store

            def listing(prefix: str = "") -> Iterator[Any]:
                yield from inner.list(prefix)
                listed.set()

            def read_head(path: str, length: int) -> Any:
                early.append(not listed.is_set())
                return inner.read_head(path, length)

            hooked = Hooked(inner, lambda *_: None)
            setattr(hooked, "list", listing)  # noqa: B010 - Hooked passes list() through
            setattr(hooked, "read_head", read_head)  # noqa: B010
            return hooked

    slow = SlowList.__new__(SlowList)
    slow.__dict__.update(vault.__dict__)
    report = slow.rewrap_all(workers=2)
    assert report.rewritten == 60
    assert any(early)  # documents were read while the listing still ran
    ring.rotate()
    seen: list[tuple[int, int]] = []
    report = vault.rewrap_all(workers=2, progress=lambda d, t: seen.append((d, t)))
    assert report.rewritten == 60
    assert seen[-1] == (60, 60)
    assert all(d <= t <= 60 for d, t in seen)
    assert [d for d, _ in seen] == list(range(1, 61))


def test_a_stop_mid_job_flushes_the_checkpoint_and_a_resume_finishes(tmp_path: Path) -> None:
    ring = MemoryKeyring()
    vault = filled(memory_url(), ring, 200)
    ring.rotate()
    stop = threading.Event()
    checkpoint = tmp_path / "job.checkpoint"

    def progress(done: int, total: int) -> None:
        if done >= 40:
            stop.set()  # as a SIGTERM handler would

    report = vault.rewrap_all(workers=3, checkpoint=checkpoint, progress=progress, stop=stop)
    adds_up(report)
    assert report.interrupted
    assert 40 <= report.rewritten < 200
    state = json.loads(checkpoint.read_text())
    assert state["upto"] is not None
    versions = [vault.inspect(d).wrapped_keys[0].version for d in vault.list()]
    assert versions.count(2) == report.rewritten  # the report matches the store
    resumed = vault.rewrap_all(workers=3, checkpoint=checkpoint)
    adds_up(resumed)
    assert not resumed.interrupted
    assert resumed.resumed >= report.rewritten - 3 * 2 - 4
    assert resumed.rewritten + resumed.resumed + resumed.skipped == 200
    assert vault.inventory().counts == {f"memory:{ring.current_key().key_id}#2": 200}


def test_a_rotation_streams_and_is_verified_on_a_local_folder(tmp_path: Path) -> None:
    ring = MemoryKeyring()
    url = f"file://{tmp_path}/big"
    vault = Vault(url, keys=ring, segment_size=64 * 1024)
    payload = os.urandom(3 * 1024 * 1024 + 17)
    vault.put("big", payload)
    vault.put("empty", b"")
    report = vault.rotate_all(workers=2)
    assert (report.rewritten, report.failed) == (2, ())
    assert vault.get("big") == payload
    assert vault.get("empty") == b""


def test_a_document_changed_under_a_rotation_is_not_overwritten(tmp_path: Path) -> None:
    ring = MemoryKeyring()
    vault = filled(f"file://{tmp_path}/v", ring, 3)

    def before(call: str, path: str) -> None:
        if call == "replace" and path == "docs/0001.sdoc":
            vault.put("docs/0001", b"written by a service during the job")

    report = hooked_vault(vault, before).rotate_all()
    assert [f.doc_id for f in report.changed] == ["docs/0001"]
    assert vault.get("docs/0001") == b"written by a service during the job"
    assert issubclass(DocumentChangedError, sealdoc.StoreError)


def test_a_job_first_cleans_killed_writers_files_older_than_itself() -> None:
    import time

    ring = MemoryKeyring()
    vault = filled(memory_url(), ring, 3)
    calls: list[tuple[str, float]] = []

    def clean(prefix: str, before: float) -> int:
        calls.append((prefix, before))
        return 0

    hooked = hooked_vault(vault, lambda *_: None, clean_partials=clean)
    hooked.rewrap_all(dry_run=True)
    assert calls == []  # a dry run touches nothing
    started = time.time()
    hooked.rewrap_all(prefix="docs/")
    [(prefix, before)] = calls
    assert prefix == "docs/"
    assert started - 1 <= before <= time.time()


@pytest.mark.parametrize("operation", ["rewrap", "rotate"])
def test_a_job_password_that_owns_no_wrap_of_a_document_does_not_fail_it(operation: str) -> None:
    # a Password handles every password wrap by kind; it owns only its own
    lax = KdfLimits(argon2_min_memory_kib=8, argon2_min_cost=8)
    a, b = (Password(f"password {n}", memory_kib=64, iterations=1, limits=lax) for n in "ab")
    ring = MemoryKeyring()
    vault = Vault(memory_url(), keys=[ring, b])
    vault.put("docs/0", b"statement")
    ring.rotate()
    job = Vault(vault.url, keys=[ring, a, b])
    report = (job.rewrap_all if operation == "rewrap" else job.rotate_all)(retries=0)
    assert (report.rewritten, report.failed) == (1, ())
    assert Vault(vault.url, keys=b).get("docs/0") == b"statement"
    with pytest.raises(sealdoc.DecryptionError):
        Vault(vault.url, keys=a).get("docs/0")


def test_a_job_whose_default_key_is_destroyed_still_rewraps_the_customers() -> None:
    ring = MemoryKeyring()
    customer = ring.add_key("cust-0001")
    vault = filled(memory_url(), customer, 2)
    ring.rotate("cust-0001")
    ring.destroy(1, confirm=True)  # the default key's only version, its primary
    with pytest.raises(KeyProviderError):
        ring.current_key()
    report = Vault(vault.url, keys=ring).rewrap_all(retries=0)
    assert (report.rewritten, report.failed) == (2, ())
    versions = {w.ref.version for w in sealdoc.inspect(raw(vault, "docs/0001")).wrapped_keys}
    assert versions == {2}

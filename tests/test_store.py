"""The DocumentStore backends, one conformance suite: a local folder, memory, S3 on moto.

Plus the generic fsspec backend (here fsspec's local file system under
another protocol name), which has no compare-and-swap, for what it does
promise.
"""

from __future__ import annotations

import io
import os
import time
import uuid
from collections.abc import Callable
from typing import Any, BinaryIO

import fsspec
import pytest
from fsspec.implementations.local import LocalFileSystem
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sealdoc._store.base import DocumentStore, VaultStore
from sealdoc._store.factory import store_for
from sealdoc._store.generic import GenericStore
from sealdoc._store.local import LocalStore, Partial
from sealdoc.exceptions import DocumentChangedError, DocumentNotFoundError, StoreError

from .stores import new_bucket, s3_options


def writes(data: bytes) -> Callable[[BinaryIO], object]:
    return lambda f: f.write(data)


@pytest.fixture(params=["file", "memory", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Any) -> VaultStore:
    options: dict[str, Any] = {}
    if request.param == "file":
        url = f"file://{tmp_path}/store"
    elif request.param == "memory":
        url = f"memory://s{uuid.uuid4().hex}/store"
    else:
        endpoint = request.getfixturevalue("moto_endpoint")
        url, options = f"s3://{new_bucket(endpoint)}/store", s3_options(endpoint)
    fs, root = fsspec.core.url_to_fs(url, **options)
    return store_for(fs, root, url=url)


class OtherFileSystem(LocalFileSystem):  # type: ignore[misc]
    """fsspec's local file system under a name sealdoc has no backend for."""

    protocol = "otherfs"


@pytest.fixture
def generic(tmp_path: Any) -> GenericStore:
    fs = OtherFileSystem(skip_instance_cache=True)
    store = store_for(fs, str(tmp_path / "generic"))
    assert isinstance(store, GenericStore)
    return store


def leftovers(store: Any) -> list[str]:
    """Whatever a failed or finished write left besides the objects themselves."""
    if isinstance(store, LocalStore):
        return [
            name
            for folder, _, names in os.walk(store.root)
            for name in names
            if name.endswith(".partial") and folder
        ]
    if type(store).__name__ == "S3Store":
        uploads = store._call("list_multipart_uploads", Prefix=store._prefix)
        return [u["Key"] for u in uploads.get("Uploads", [])]
    return []


PATHS = ["b", "a/x", "a.b", "a0", "a/y/z", "a-b", "a/y.z", "é/1", "a/y/a"]


def test_the_backends_implement_the_seam(backend: VaultStore, generic: GenericStore) -> None:
    for store in (backend, generic):
        assert isinstance(store, DocumentStore)
        assert isinstance(store, VaultStore)
    assert backend.conditional
    assert not generic.conditional


def test_list_is_in_utf8_byte_order_and_filtered_by_prefix(
    backend: VaultStore, generic: GenericStore
) -> None:
    for store in (backend, generic):
        for path in PATHS:
            store.put(path, writes(path.encode()))
        expected = sorted(PATHS, key=lambda p: p.encode("utf-8"))
        assert [e.path for e in store.list()] == expected
        assert [e.path for e in store.list("a/")] == [p for p in expected if p.startswith("a/")]
        assert [e.path for e in store.list("a/y")] == ["a/y.z", "a/y/a", "a/y/z"]
        assert [e.path for e in store.list("a")] == [p for p in expected if p.startswith("a")]
        assert [e.path for e in store.list("nothing/")] == []
        listed = {e.path: e for e in store.list()}
        if listed["b"].size is not None:
            assert listed["b"].size == 1


def test_read_head_and_open_range(backend: VaultStore, generic: GenericStore) -> None:
    data = os.urandom(20_000)
    for store in (backend, generic):
        version = store.put("doc", writes(data))
        head = store.read_head("doc", 100)
        assert head.data == data[:100]
        assert head.size == len(data)
        assert head.version == version
        assert store.read_head("doc", 100).version == version  # stable while unchanged
        with store.open_range("doc", 100, head.version) as f:
            assert f.read() == data[100:]
        with store.open_range("doc", len(data), head.version) as f:
            assert f.read() == b""
        store.put("doc", writes(data[::-1]))
        assert store.read_head("doc", 10).version != version
        with pytest.raises(DocumentChangedError):
            store.open_range("doc", 0, version).read()
        with pytest.raises(DocumentNotFoundError):
            store.read_head("missing", 10)


def test_an_empty_object(backend: VaultStore) -> None:
    version = backend.put("empty", writes(b""))
    head = backend.read_head("empty", 64)
    assert (head.data, head.size, head.version) == (b"", 0, version)


def test_replace_and_replace_header_succeed_on_the_version_read(backend: VaultStore) -> None:
    body = os.urandom(50_000)
    backend.put("doc", writes(b"H" * 40 + body))
    head = backend.read_head("doc", 40)
    new = backend.replace_header("doc", head.version, b"new header", 40)
    assert backend.read_head("doc", 1 << 20).data == b"new header" + body
    assert backend.read_head("doc", 1).version == new
    newer = backend.replace("doc", new, writes(b"replaced"))
    assert backend.read_head("doc", 100).data == b"replaced"
    assert backend.read_head("doc", 1).version == newer
    assert leftovers(backend) == []


def replace(store: VaultStore, how: str, version: str, header: bytes) -> str:
    if how == "replace":
        return store.replace("doc", version, writes(header + b"job's copy of the old body"))
    return store.replace_header("doc", version, header, 40)


@pytest.mark.parametrize("how", ["replace", "replace_header"])
def test_a_concurrent_put_makes_a_replace_fail_and_survives(backend: VaultStore, how: str) -> None:
    backend.put("doc", writes(b"H" * 40 + b"old body"))
    head = backend.read_head("doc", 40)
    backend.put("doc", writes(b"a corrected statement"))  # between the read and the replace
    with pytest.raises(DocumentChangedError):
        replace(backend, how, head.version, b"new header")
    assert backend.read_head("doc", 100).data == b"a corrected statement"
    assert [e.path for e in backend.list()] == ["doc"]
    assert leftovers(backend) == []


@pytest.mark.parametrize("how", ["replace", "replace_header"])
def test_a_deleted_object_is_not_found_and_not_resurrected(backend: VaultStore, how: str) -> None:
    backend.put("doc", writes(b"H" * 40 + b"body"))
    head = backend.read_head("doc", 40)
    backend.delete("doc")
    with pytest.raises((DocumentNotFoundError, DocumentChangedError)):
        replace(backend, how, head.version, b"new")
    assert list(backend.list()) == []
    assert leftovers(backend) == []
    with pytest.raises(DocumentNotFoundError):
        backend.delete("doc")


def test_a_failing_writer_leaves_the_old_version_and_nothing_else(backend: VaultStore) -> None:
    backend.put("doc", writes(b"version 1"))
    version = backend.read_head("doc", 1).version

    def fails(f: BinaryIO) -> None:
        f.write(os.urandom(6 << 20))  # past one S3 part: a multipart upload was started
        raise OSError(5, "the source failed")

    calls: list[Callable[[], object]] = [
        lambda: backend.put("doc", fails),
        lambda: backend.replace("doc", version, fails),
    ]
    for call in calls:
        with pytest.raises(OSError, match="source failed"):
            call()
        assert backend.read_head("doc", 100).data == b"version 1"
        assert leftovers(backend) == []
    assert [e.path for e in backend.list()] == ["doc"]


def test_a_large_stream_is_stored_whole(backend: VaultStore) -> None:
    data = os.urandom(11 << 20)  # three S3 parts
    backend.put("big", lambda f: [f.write(data[i : i + 65536]) for i in range(0, len(data), 65536)])
    head = backend.read_head("big", 16)
    assert head.size == len(data)
    with backend.open_range("big", 0, head.version) as f:
        assert f.read() == data


def test_generic_store_checks_the_version_but_is_not_conditional(generic: GenericStore) -> None:
    generic.put("doc", writes(b"H" * 8 + b"body"))
    head = generic.read_head("doc", 8)
    generic.put("doc", writes(b"newer!!!" + b"other"))
    changed = generic.read_head("doc", 8)
    assert changed.version != head.version
    with pytest.raises(DocumentChangedError):
        generic.replace_header("doc", head.version, b"h", 8)
    generic.replace_header("doc", changed.version, b"h", 8)
    assert generic.read_head("doc", 100).data == b"hother"


def test_an_unreachable_s3_store_is_a_store_error() -> None:
    options = s3_options("http://127.0.0.1:9")
    options["config_kwargs"] = {"retries": {"max_attempts": 1}, "connect_timeout": 1}
    fs, root = fsspec.core.url_to_fs("s3://nowhere/x", **options)
    fs.retries = 1
    store = store_for(fs, root)
    for call in (
        lambda: store.read_head("doc", 10),
        lambda: store.replace("doc", '"etag"', writes(b"x")),
        lambda: list(store.list()),
    ):
        with pytest.raises(StoreError) as info:
            call()
        assert not isinstance(info.value, DocumentChangedError | DocumentNotFoundError)


# -- temporary files and abandoned uploads ------------------------------------------------


def test_clean_partials_never_removes_a_live_writers_file(tmp_path: Any) -> None:
    store = LocalStore(str(tmp_path))
    store.put("a/doc", writes(b"x"))
    live = Partial(f"{tmp_path}/a/doc", durable=False)  # a writer that is still writing
    live.file.write(b"half")
    old = time.time() - 3600
    os.utime(live.path, (old, old))
    abandoned = f"{tmp_path}/a/.doc.{'0' * 16}.partial"  # a killed writer's: no lock held
    with open(abandoned, "wb") as f:
        f.write(b"half")
    os.utime(abandoned, (old, old))
    recent = f"{tmp_path}/a/.doc.{'1' * 16}.partial"
    with open(recent, "wb") as f:
        f.write(b"half")
    assert store.clean_partials("b/", time.time()) == 0  # another prefix
    assert store.clean_partials("a/", time.time() - 60) == 1
    assert os.path.exists(live.path)
    assert not os.path.exists(abandoned)
    assert os.path.exists(recent)  # younger than `before`: perhaps a writer about to lock it
    assert [e.path for e in store.list()] == ["a/doc"]  # partials are never listed
    live.commit(None)
    assert store.read_head("a/doc", 10).data == b"half"


def test_clean_partials_on_s3_aborts_stale_uploads(moto_endpoint: str) -> None:
    url = f"s3://{new_bucket(moto_endpoint)}/store"
    fs, root = fsspec.core.url_to_fs(url, **s3_options(moto_endpoint))
    store: Any = store_for(fs, root)
    killed = store._call("create_multipart_upload", Key=store._key("a/doc"))["UploadId"]
    store._call("create_multipart_upload", Key="elsewhere/doc")
    # moto dates every upload in 2010, so "before" tells a stale upload from a live one here
    assert store.clean_partials("a/", 1e9) == 0
    assert store.clean_partials("b/", time.time()) == 0
    assert store.clean_partials("a/", time.time()) == 1
    remaining = store._call("list_multipart_uploads").get("Uploads", [])
    assert [u["Key"] for u in remaining] == ["elsewhere/doc"]
    assert killed not in [u["UploadId"] for u in remaining]


# -- transfers: the body does not pass through the client ---------------------------------


def test_local_replace_header_copies_the_body_in_the_kernel(tmp_path: Any) -> None:
    store = LocalStore(str(tmp_path))
    body = os.urandom(3 << 20)
    store.put("doc", writes(b"H" * 100 + body))
    head = store.read_head("doc", 100)
    store.replace_header("doc", head.version, b"h" * 70, 100)
    assert store.stats["copy_file_range"] == len(body)
    assert store.stats["loop"] == 0
    with open(tmp_path / "doc", "rb") as f:
        assert f.read() == b"h" * 70 + body


def test_s3_replace_header_copies_the_body_on_the_server(moto_endpoint: str) -> None:
    from .proxy import CountingProxy

    with CountingProxy(moto_endpoint) as proxy:
        url = f"s3://{new_bucket(moto_endpoint)}/store"
        fs, root = fsspec.core.url_to_fs(url, **s3_options(proxy.endpoint))
        store = store_for(fs, root)
        body = os.urandom(12 << 20)
        store.put("big", writes(b"H" * 200 + body))
        head = store.read_head("big", 200)
        proxy.reset()
        store.replace_header("big", head.version, b"h" * 150, 200)
        assert proxy.sent < 6 << 20  # part 1 (5 MiB) and requests, not 12 MiB
        assert proxy.received < 6 << 20  # the ranged read filling part 1
        copies = [r for r in proxy.requests if "x-amz-copy-source" in r.headers]
        assert copies
        assert all(r.headers["x-amz-copy-source-if-match"] == head.version for r in copies)
        assert all("x-amz-copy-source-range" in r.headers for r in copies)
        complete = [r for r in proxy.requests if r.method == "POST" and "uploadId=" in r.target]
        assert len(complete) == 1
        assert complete[0].headers["if-match"] == head.version
        assert len(proxy.requests) == 5  # ranged GET, create, part 1, part copy, complete
        got = store.read_head("big", 1 << 30).data
        assert got == b"h" * 150 + body


def test_s3_multipart_replace_header_refuses_a_changed_object(moto_endpoint: str) -> None:
    url = f"s3://{new_bucket(moto_endpoint)}/store"
    fs, root = fsspec.core.url_to_fs(url, **s3_options(moto_endpoint))
    store: Any = store_for(fs, root)
    store.put("big", writes(b"H" * 200 + os.urandom(7 << 20)))
    head = store.read_head("big", 200)
    newer = os.urandom(8 << 20)
    store.put("big", writes(newer))  # a put between read_head and the part copies
    with pytest.raises(DocumentChangedError):
        store.replace_header("big", head.version, b"h" * 150, 200)
    with store.open_range("big", 0, store.read_head("big", 1).version) as f:
        assert f.read() == newer
    assert leftovers(store) == []


def test_s3_list_pushes_the_prefix_down_and_pages(moto_endpoint: str) -> None:
    from .proxy import CountingProxy

    with CountingProxy(moto_endpoint) as proxy:
        url = f"s3://{new_bucket(moto_endpoint)}/store"
        fs, root = fsspec.core.url_to_fs(url, **s3_options(proxy.endpoint))
        store = store_for(fs, root)
        for i in range(5):
            store.put(f"a/{i}", writes(b"x"))
            store.put(f"b/{i}", writes(b"x"))
        proxy.reset()
        assert [e.path for e in store.list("b/")] == [f"b/{i}" for i in range(5)]
        lists = [r for r in proxy.requests if "list-type=2" in r.target]
        assert len(lists) == 1
        assert "prefix=store%2Fb%2F" in lists[0].target
        store._call = _paged(store._call)  # type: ignore[attr-defined]  # pages of 3 keys
        proxy.reset()
        assert [e.path for e in store.list()] == [f"{c}/{i}" for c in "ab" for i in range(5)]
        assert len([r for r in proxy.requests if "list-type=2" in r.target]) == 4


def _paged(call: Callable[..., Any]) -> Callable[..., Any]:
    def paged(method: str, **kwargs: Any) -> Any:
        if method == "list_objects_v2":
            kwargs["MaxKeys"] = 3
        return call(method, **kwargs)

    return paged


def test_memory_store_reads_are_snapshots() -> None:
    store = store_for(fsspec.filesystem("memory"), f"/m{uuid.uuid4().hex}")
    store.put("doc", writes(b"0123456789"))
    head = store.read_head("doc", 2)
    reader = store.open_range("doc", 2, head.version)
    store.put("doc", writes(b"changed"))
    assert reader.read() == b"23456789"
    assert isinstance(reader, io.BytesIO)


_SEGMENT = st.text(alphabet="ab.-_0é~", min_size=1, max_size=4).filter(
    lambda s: s not in (".", "..") and not s.startswith(".")
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(paths=st.sets(st.lists(_SEGMENT, min_size=1, max_size=3).map("/".join), max_size=12))
def test_local_listing_order_is_utf8_order_for_any_tree(tmp_path: Any, paths: set[str]) -> None:
    """The order a checkpoint relies on: the same as S3's, whatever the names."""
    # a name cannot be both a file and a folder: keep the paths that are not a prefix folder
    files = {p for p in paths if not any(q.startswith(p + "/") for q in paths)}
    store = LocalStore(str(tmp_path / uuid.uuid4().hex))
    for path in files:
        store.put(path, writes(b""))
    expected = sorted(files, key=lambda p: p.encode("utf-8"))
    assert [e.path for e in store.list()] == expected
    for prefix in ("a", "a/", "b.", "é", "a/b"):
        assert [e.path for e in store.list(prefix)] == [p for p in expected if p.startswith(prefix)]

"""The Vault on its store: the seam accessors, vaults without keys, padded opaque names."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

import sealdoc
from sealdoc import MemoryKeyring, SealdocError, Vault
from sealdoc._store.base import DocumentStore

from .stores import Store


def vault(store: Store, keys: Any = None, **kwargs: Any) -> Vault:
    return Vault(store.url, keys=keys, storage_options=store.storage_options, **kwargs)


def test_the_seam_accessors(store: Store, ring: MemoryKeyring) -> None:
    v = vault(store, ring)
    v.put("acme/C-1/statement", b"x")
    assert isinstance(v.store, DocumentStore)
    assert v.store.conditional
    assert v.path_of("acme/C-1/statement") == "acme/C-1/statement.sdoc"
    assert [e.path for e in v.store.list()] == ["acme/C-1/statement.sdoc"]
    assert v.doc_id_of("acme/C-1/statement.sdoc") == "acme/C-1/statement"
    assert v.doc_id_of("acme/C-1/notes.txt") is None
    assert v.doc_id_of("../x.sdoc") is None
    assert v.binding_for("acme/C-1/statement") == {"sealdoc:doc_id": "acme/C-1/statement"}
    assert len(v.providers) == 1
    assert vault(store).providers == ()
    head = v.store.read_head(v.path_of("acme/C-1/statement"), 9)
    assert head.data.startswith(b"SDOC")
    opaque = vault(store, ring, name_key=Vault.generate_name_key())
    opaque.put("acme/C-1/statement", b"y")
    name = opaque.path_of("acme/C-1/statement")
    assert "acme" not in name
    assert opaque.doc_id_of(name) == "acme/C-1/statement"
    assert opaque.doc_id_of("acme/C-1/statement.sdoc") is None


def test_a_vault_without_keys_lists_inspects_and_counts(store: Store, ring: MemoryKeyring) -> None:
    vault(store, ring).put("a/1", b"one", context={"tenant": "a"})
    bare = vault(store)
    assert list(bare.list()) == ["a/1"]
    assert bare.exists("a/1")
    assert bare.inspect("a/1").context == {"tenant": "a"}
    assert bare.inventory() == {"memory:default@kr-00000000000a#1": 1}
    for call in (
        lambda: bare.get("a/1"),
        lambda: bare.open("a/1"),
        lambda: bare.put("a/2", b"two"),
        lambda: bare.deliver("a/1", to=ring),
        bare.rewrap_all,
        bare.rotate_all,
    ):
        with pytest.raises(SealdocError, match=r"opened without keys; pass keys= to Vault\(\)"):
            call()
    assert list(bare.list()) == ["a/1"]


def test_list_streams_in_store_order_with_the_prefix(store: Store, ring: MemoryKeyring) -> None:
    v = vault(store, ring)
    for doc_id in ("a-b", "a", "a/b", "b", "a.sd"):
        v.put(doc_id, b"x")
    # store order: the UTF-8 order of "doc_id.sdoc" ('-' < '.' < '/')
    assert list(v.list()) == ["a-b", "a.sd", "a", "a/b", "b"]
    assert list(v.list("a.sd")) == ["a.sd"]  # "a.sdoc" starts with "a.sd" but is doc "a"
    assert list(v.list("a/")) == ["a/b"]
    listing = v.list()
    assert next(listing) == "a-b"  # a generator: ids come before the listing ends


def _old_name(key: bytes, doc_id: str) -> str:
    """A name as sealdoc gave it before padding: AES-SIV of the bare doc id."""
    raw = AESSIV(key).encrypt(doc_id.encode(), [b"sealdoc-vault-name-v1"])
    name = base64.b32encode(raw).decode("ascii").rstrip("=").lower()
    chunks = [name[i : i + 200] for i in range(2, len(name), 200)]
    return "/".join([name[:2], *chunks]) + ".sdoc"


def test_opaque_names_show_only_a_length_bucket(store: Store, ring: MemoryKeyring) -> None:
    key = Vault.generate_name_key()
    v = vault(store, ring, name_key=key)
    short = {len(v.path_of("C-" + "9" * n)) for n in range(1, 28)}  # 3..29 bytes: one bucket
    assert len(short) == 1
    assert len(v.path_of("C-" + "9" * 40)) > short.pop()  # the next bucket
    assert len(_old_name(key, "C-1")) != len(_old_name(key, "C-12"))  # what padding hides
    longest = "x" * 250 + "/" + "y" * 250 + "/" + "z" * 10
    v.put(longest, b"longest")
    assert v.get(longest) == b"longest"


def test_names_written_before_padding_still_decode_and_open(
    store: Store, ring: MemoryKeyring
) -> None:
    key = Vault.generate_name_key()
    plain = vault(store, ring)
    plain.put("customer-4471/claim", b"old claim")  # sealed for this doc id...
    fs = store.fs()
    old = _old_name(key, "customer-4471/claim")  # ...and moved to its pre-padding name
    fs.makedirs(f"{store.root}/{old.rpartition('/')[0]}", exist_ok=True)
    fs.mv(f"{store.root}/customer-4471/claim.sdoc", f"{store.root}/{old}")
    v = vault(store, ring, name_key=key)
    assert v.path_of("customer-4471/claim") != old
    assert v.doc_id_of(old) == "customer-4471/claim"
    assert list(v.list()) == ["customer-4471/claim"]
    assert v.exists("customer-4471/claim")
    assert v.get("customer-4471/claim") == b"old claim"
    with v.open("customer-4471/claim") as reader:
        assert reader.read() == b"old claim"
    assert v.inspect("customer-4471/claim").has_binding
    v.put("customer-4471/claim", b"new claim")  # rewritten under the padded name
    assert list(v.list()) == ["customer-4471/claim"]
    assert not fs.exists(f"{store.root}/{old}")
    assert v.get("customer-4471/claim") == b"new claim"
    v.delete("customer-4471/claim")
    assert list(v.list()) == []


def test_a_padded_name_that_lies_about_its_length_is_not_ours(ring: MemoryKeyring) -> None:
    key = Vault.generate_name_key()
    v = Vault("memory://pad/v", keys=ring, name_key=key)
    siv = AESSIV(key)
    for plaintext in (
        b"\x01\x00\x40" + b"x" * 29,  # length past the end
        b"\x01\x00\x03abc" + b"\x00" * 25 + b"z",  # non-zero fill
        b"\x01\x00\x03abc" + b"\x00" * 10,  # not a whole bucket
    ):
        raw = siv.encrypt(plaintext, [b"sealdoc-vault-name-v1"])
        name = base64.b32encode(raw).decode().rstrip("=").lower()
        assert v.doc_id_of(name[:2] + "/" + name[2:] + ".sdoc") is None
    assert sealdoc.Vault("memory://pad/v", keys=ring, name_key=key).doc_id_of("zz.sdoc") is None


def test_inspect_reads_a_header_longer_than_its_first_read(
    store: Store, ring: MemoryKeyring
) -> None:
    v = vault(store, ring)
    # a header of over 12 KiB: past the first ranged read
    context = {f"notes-{i}": "n" * 4000 for i in range(3)}
    v.put("long", b"body", context=context)
    v.put("short", b"body")
    assert v.inspect("long").context == context
    assert v.inspect("long").plaintext_length == 4
    assert v.inspect("short").plaintext_length == 4
    store.fs().pipe_file(
        f"{store.root}/cut.sdoc", store.fs().cat_file(f"{store.root}/long.sdoc")[:9000]
    )
    with pytest.raises(sealdoc.FormatError, match="truncated"):
        v.inspect("cut")
    store.fs().pipe_file(f"{store.root}/empty.sdoc", b"")
    with pytest.raises(sealdoc.FormatError):
        v.inspect("empty")


def test_inspect_is_one_request_on_s3(moto_endpoint: str, ring: MemoryKeyring) -> None:
    from .proxy import CountingProxy
    from .stores import new_bucket, s3_options

    with CountingProxy(moto_endpoint) as proxy:
        v = Vault(
            f"s3://{new_bucket(moto_endpoint)}/v",
            keys=ring,
            storage_options=s3_options(proxy.endpoint),
        )
        for i in range(3):
            v.put(f"d/{i}", b"x" * 100_000)
        proxy.reset()
        assert v.inventory() == {"memory:default@kr-00000000000a#1": 3}
        # one listing page, one ranged GET per document, one GetBucketVersioning
        assert len(proxy.requests) == 1 + 3 + 1
        assert proxy.count("GET") == 5

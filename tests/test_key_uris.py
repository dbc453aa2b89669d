"""Key URIs are taken wherever keys are: every verb, deliver, the Vault and ``sealdoc::``.

The URIs are real ones: a local keyring file (``local:///...``) and a
device's recipient string (``x25519:...``), resolved through the installed
entry points exactly as a user's are.
"""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import fsspec
import pytest

import sealdoc
from sealdoc import KeyUriError, LocalKeyring, MemoryKeyring
from sealdoc.providers import KeyProvider, X25519Identity

PASS = "key uri pass phrase"


@pytest.fixture
def ring_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[LocalKeyring, str]:
    monkeypatch.setenv("SEALDOC_PASSPHRASE", PASS)
    path = tmp_path / "ring.json"
    ring = LocalKeyring.create(path, passphrase=PASS, opslimit=1, memlimit=8 << 20)
    return ring, f"local://{path}"


@pytest.fixture
def device() -> X25519Identity:
    return X25519Identity.generate()


def plain(label: str) -> str:
    """A label without its keyring id: these tests are about URIs, not ring ids."""
    return re.sub(r"@kr-[0-9a-f]{12}(?=#)", "", label)


def labels(sealed: bytes) -> list[str]:
    return [plain(w.label) for w in sealdoc.inspect(sealed).wrapped_keys]


def test_seal_takes_the_recipient_string_an_identity_gives(device: X25519Identity) -> None:
    sealed = sealdoc.seal(b"for the device", keys=device.recipient)
    assert sealdoc.open(sealed, keys=device) == b"for the device"


def test_seal_and_open_take_a_local_key_uri(ring_uri: tuple[LocalKeyring, str]) -> None:
    ring, uri = ring_uri
    sealed = sealdoc.seal(b"statement", keys=uri, context={"tenant": "acme"})
    assert sealdoc.open(sealed, keys=uri, context={"tenant": "acme"}) == b"statement"
    assert sealdoc.open(sealed, keys=ring) == b"statement"  # the same key as the object


def test_a_sequence_may_mix_uris_and_providers(
    ring_uri: tuple[LocalKeyring, str], device: X25519Identity
) -> None:
    _, uri = ring_uri
    memory = MemoryKeyring()
    sealed = sealdoc.seal(b"three wraps", keys=[uri, memory, device.recipient])
    assert labels(sealed) == ["local:default#1", "memory:default#1", "x25519:device#1"]
    assert sealdoc.open(sealed, keys=(memory,)) == b"three wraps"
    assert sealdoc.open(sealed, keys=[device]) == b"three wraps"
    assert sealdoc.open(sealed, keys=[uri]) == b"three wraps"


def test_the_stream_verbs_take_uris(ring_uri: tuple[LocalKeyring, str]) -> None:
    _, uri = ring_uri
    out = io.BytesIO()
    sealdoc.seal_stream(io.BytesIO(b"y" * 300_000), out, keys=uri)
    reader = sealdoc.open_stream(io.BytesIO(out.getvalue()), keys=uri)
    assert reader.read() == b"y" * 300_000


def test_rewrap_takes_uris_for_keys_to_and_add(
    ring_uri: tuple[LocalKeyring, str], device: X25519Identity
) -> None:
    ring, uri = ring_uri
    sealed = sealdoc.seal(b"doc", keys=uri)
    moved = sealdoc.rewrap(sealed, keys=uri, to=device.recipient)
    assert labels(moved) == ["x25519:device#1"]
    assert sealdoc.open(moved, keys=device) == b"doc"
    added = sealdoc.rewrap(sealed, keys=uri, add=[device.recipient])
    assert labels(added) == ["local:default#1", "x25519:device#1"]
    # drop= takes labels: "local:default@kr-...#1" is a label here, never resolved as a URI
    dropped = sealdoc.rewrap(added, keys=uri, drop=f"local:default@{ring.ring_id}#1")
    assert labels(dropped) == ["x25519:device#1"]
    out = io.BytesIO()
    sealdoc.rewrap_stream(io.BytesIO(sealed), out, keys=uri, to=device.recipient)
    assert sealdoc.open(out.getvalue(), keys=device) == b"doc"


def test_rotate_and_is_current_take_uris(
    ring_uri: tuple[LocalKeyring, str], device: X25519Identity
) -> None:
    ring, uri = ring_uri
    sealed = sealdoc.seal(b"doc", keys=uri)
    assert sealdoc.is_current(sealed, keys=uri)
    ring.rotate()  # written to the keyring file: the URI now resolves to version 2
    assert not sealdoc.is_current(sealed, keys=uri)
    rotated = sealdoc.rotate(sealed, keys=uri)
    assert labels(rotated) == ["local:default#2"]
    assert sealdoc.is_current(rotated, keys=uri)
    out = io.BytesIO()
    sealdoc.rotate_stream(io.BytesIO(sealed), out, keys=uri, to=[uri, device.recipient])
    assert labels(out.getvalue()) == ["local:default#2", "x25519:device#1"]
    assert sealdoc.open(out.getvalue(), keys=device) == b"doc"


def test_deliver_takes_uris(ring_uri: tuple[LocalKeyring, str], device: X25519Identity) -> None:
    _, uri = ring_uri
    sealed = sealdoc.seal(b"statement", keys=uri)
    copy = sealdoc.deliver(sealed, keys=uri, to=device.recipient)
    assert labels(copy) == ["x25519:device#1"]
    assert sealdoc.open(copy, keys=device) == b"statement"


def test_the_vault_and_the_protocol_take_uris(
    ring_uri: tuple[LocalKeyring, str], device: X25519Identity, tmp_path: Path
) -> None:
    ring, uri = ring_uri
    vault = sealdoc.Vault(f"file://{tmp_path}/vault", keys=[uri, device.recipient])
    vault.put("a/1", b"one")
    assert sealdoc.Vault(f"file://{tmp_path}/vault", keys=uri).get("a/1") == b"one"
    url = f"sealdoc::file://{tmp_path}/plain.csv"
    with fsspec.open(url, "wb", sealdoc={"keys": [uri, device.recipient]}) as f:
        f.write(b"a,b\n1,2\n")
    for opener in (uri, ring, device):
        with fsspec.open(url, "rb", sealdoc={"keys": opener}) as f:
            assert f.read() == b"a,b\n1,2\n"


def test_bulk_jobs_take_uris_for_to(
    ring_uri: tuple[LocalKeyring, str],
    device: X25519Identity,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, uri = ring_uri
    vault = sealdoc.Vault(f"file://{tmp_path}/bulk", keys=uri)
    for i in range(3):
        vault.put(f"d/{i}", b"doc %d" % i)
    resolved: list[str] = []
    real = sealdoc.key_from_uri

    def counting(uri: str, **options: object) -> KeyProvider:
        resolved.append(uri)
        return real(uri, **options)

    monkeypatch.setattr("sealdoc._envelope.keys.key_from_uri", counting)
    monkeypatch.setattr("sealdoc._uri.key_from_uri", counting)  # the engine's resolver
    report = vault.rewrap_all(to=[uri, device.recipient])
    assert (report.rewritten, report.failed) == (3, ())
    assert resolved == [uri, device.recipient]  # once per job, not once per document
    counts = {plain(label): n for label, n in vault.inventory().items()}
    assert counts == {"local:default#1": 3, "x25519:device#1": 3}


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ("ring", r"a str of 4 characters that is not a key URI .*schemes: .*local:"),
        ("gcp-kms://projects/p/keys/k", r"no key provider for the scheme 'gcp-kms'"),
        (["local://host/ring.json"], r"local key URI is local:///absolute"),
        ("x25519:not-a-key", r"not an X25519 recipient"),
    ],
)
def test_a_bad_uri_is_a_key_uri_error(keys: object, message: str) -> None:
    with pytest.raises(KeyUriError, match=message):
        sealdoc.seal(b"x", keys=keys)  # type: ignore[arg-type]


def test_a_secret_given_as_keys_by_mistake_is_not_echoed() -> None:
    secret = "correct horse battery staple"  # a passphrase passed where keys go
    with pytest.raises(KeyUriError) as caught:
        sealdoc.seal(b"x", keys=secret)
    assert secret not in str(caught.value)
    assert "correct" not in repr(caught.value)


def test_a_missing_extra_names_the_scheme_and_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # as on a machine without sealdoc[aws]
    uri = "aws-kms://arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    with pytest.raises(KeyUriError, match=r"aws-kms key provider .*pip install 'sealdoc\[aws\]'"):
        sealdoc.seal(b"x", keys=uri)


def test_keys_of_the_wrong_type_still_say_what_is_taken() -> None:
    with pytest.raises(TypeError, match="a key provider, a key URI or a sequence"):
        sealdoc.seal(b"x", keys=b"ring")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="got a int in the sequence"):
        sealdoc.seal(b"x", keys=[X25519Identity.generate().recipient, 3])  # type: ignore[list-item]

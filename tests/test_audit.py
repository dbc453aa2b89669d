"""Audit events: every wrap, unwrap, rewrap, rotate and key change; never a secret."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

import sealdoc
from sealdoc import AuditEvent, MemoryKeyring


@pytest.fixture
def events() -> Iterator[list[AuditEvent]]:
    seen: list[AuditEvent] = []
    remove = sealdoc.add_audit_hook(seen.append)
    yield seen
    remove()


def ops(events: list[AuditEvent]) -> list[tuple[str, str]]:
    return [(e.operation, e.outcome) for e in events]


def test_seal_open_and_a_failed_open(events: list[AuditEvent], ring: MemoryKeyring) -> None:
    doc = sealdoc.seal(b"x", keys=ring, context={"tenant": "acme"})
    sealdoc.open(doc, keys=ring)
    with pytest.raises(sealdoc.DecryptionError):
        sealdoc.open(doc, keys=MemoryKeyring(ring_id=ring.ring_id))  # alike, another KEK
    assert ops(events) == [("wrap", "ok"), ("unwrap", "ok"), ("unwrap", "declined")]
    wrap = events[0]
    label = ("memory", "default@kr-00000000000a", 1)
    assert (wrap.provider_kind, wrap.key_id, wrap.key_version) == label
    assert wrap.context == {"tenant": "acme"}
    assert "does not open under this keyring" in events[2].detail


def test_rewrap_rotate_and_key_lifecycle(events: list[AuditEvent], ring: MemoryKeyring) -> None:
    doc = sealdoc.seal(b"x", keys=ring)
    ring.rotate()
    doc = sealdoc.rewrap(doc, keys=ring)
    sealdoc.rotate(doc, keys=ring)
    ring.disable(1)
    ring.enable(1)
    ring.add_key("customer-9").destroy(1, confirm=True)
    kinds = [e.operation for e in events]
    assert kinds == [
        "wrap",
        "key.rotate",
        "unwrap",
        "wrap",
        "rewrap",
        "unwrap",
        "wrap",
        "rotate",
        "key.disable",
        "key.enable",
        "key.add",
        "key.destroy",
    ]
    rewrap = events[4]
    assert rewrap.detail == "memory:default@kr-00000000000a#1 -> memory:default@kr-00000000000a#2"
    destroy = events[-1]
    assert (destroy.key_id, destroy.key_version, destroy.outcome) == (
        "customer-9@kr-00000000000a",
        1,
        "ok",
    )


def test_a_provider_failure_is_audited_as_failed(
    events: list[AuditEvent], ring: MemoryKeyring
) -> None:
    from .providers import Down

    with pytest.raises(sealdoc.KeyProviderError):
        sealdoc.seal(b"x", keys=[ring, Down()])
    assert ops(events)[-1] == ("wrap", "failed")
    assert events[-1].provider_kind == "down"


def test_events_reach_the_logger_with_structured_extras(
    caplog: pytest.LogCaptureFixture, ring: MemoryKeyring
) -> None:
    caplog.set_level(logging.INFO, logger="sealdoc.audit")
    sealdoc.seal(b"x", keys=ring, context={"doc": "7"})
    [record] = [r for r in caplog.records if r.name == "sealdoc.audit"]
    event = record.sealdoc_event  # type: ignore[attr-defined]
    assert isinstance(event, AuditEvent)
    assert record.getMessage() == "wrap memory:default@kr-00000000000a#1 ok"
    assert json.loads(json.dumps(event.as_dict()))["context"] == {"doc": "7"}


def test_no_secret_in_any_event(
    events: list[AuditEvent], caplog: pytest.LogCaptureFixture, ring: MemoryKeyring
) -> None:
    caplog.set_level(logging.DEBUG)
    kek = ring._keys["default"].versions[1].secret
    doc = sealdoc.seal(b"PLAINTEXT-7781", keys=ring, binding={"customer": "C-SECRET-1"})
    sealdoc.open(doc, keys=ring, binding={"customer": "C-SECRET-1"})
    sealdoc.rewrap(doc, keys=ring, to=MemoryKeyring(), binding={"customer": "C-SECRET-1"})
    with pytest.raises(sealdoc.DecryptionError):
        sealdoc.open(doc, keys=ring, binding={"customer": "C-SECRET-2"})
    text = json.dumps([e.as_dict() for e in events]) + "\n".join(
        r.getMessage() for r in caplog.records
    )
    for secret in ("PLAINTEXT-7781", "C-SECRET", kek.hex()):
        assert secret not in text
    assert len(events) >= 5


def test_a_failing_hook_does_not_break_the_operation(
    ring: MemoryKeyring, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: AuditEvent) -> None:
        raise RuntimeError("log shipper down")

    remove = sealdoc.add_audit_hook(broken)
    try:
        assert sealdoc.open(sealdoc.seal(b"x", keys=ring), keys=ring) == b"x"
    finally:
        remove()
    assert "an audit hook raised" in caplog.text


def test_removed_hooks_hear_nothing(ring: MemoryKeyring) -> None:
    seen: list[AuditEvent] = []
    remove = sealdoc.add_audit_hook(seen.append)
    remove()
    remove()  # twice is harmless
    sealdoc.seal(b"x", keys=ring)
    assert seen == []
    with pytest.raises(TypeError):
        sealdoc.add_audit_hook("not callable")  # type: ignore[arg-type]

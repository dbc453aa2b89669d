"""A model-based test of the key lifecycle over a vault (issue 10, item 2).

A hypothesis state machine drives a Vault on a local folder, a LocalKeyring
(a default key, per-customer keys and an escrow key), two password and two
X25519 recipients through puts, key changes, rewraps, rotations, bulk jobs,
deliveries and a bulk job stopped part way (its ``stop`` event) and resumed from its
checkpoint. A plain model says what every document's wraps must be. After
every step each document holds exactly the wraps the model says, opens with
exactly the providers the model says, and ``inventory`` counts what the
model counts, shredded documents (every wrap's version destroyed) apart from
failures. Every refusal is predicted, and leaves the disk byte for byte
as it was.

Key references come from the providers (``current_key()``), never from
spelled-out labels, so the test holds whatever a keyring writes as key ids.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import sealdoc
from sealdoc import (
    BulkOptions,
    DecryptionError,
    KeyProviderError,
    KeyRef,
    LocalKeyring,
    Vault,
    WrapLossError,
)
from sealdoc.providers import KdfLimits, Password, X25519Identity

LAX = KdfLimits(argon2_min_memory_kib=8, argon2_min_cost=8)
BINDING = "sealdoc:doc_id"
MAX_DOCS = 6
MAX_CUSTOMERS = 3

# A model wrap: ("key", key_id, version) for the keyring, ("pw", name) for a
# password, ("x", name) for an X25519 device.
Wrap = tuple[Any, ...]
# A provider as the model names it: "ring", or a recipient's model wrap.
Name = Any


def _counts(inv: object) -> dict[str, int]:
    """``inventory()`` as label -> count, whether it is a mapping or an object with counts."""
    counts = inv if isinstance(inv, Mapping) else getattr(inv, "counts")  # noqa: B009
    return {str(k): int(v) for k, v in dict(counts).items() if v}


def _tuple(ref: KeyRef) -> tuple[str, str, int]:
    return (ref.kind, ref.key_id, ref.version)


def _cheap_password(secret: str) -> Password:
    return Password(secret, memory_kib=64, iterations=1, limits=LAX)


class KeyLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="sealdoc-model-"))
        self.ring = LocalKeyring.create(
            self.tmp / "ring.json", passphrase="model pass phrase", opslimit=1, memlimit=8 << 20
        )
        self.url = (self.tmp / "store").as_uri()
        self.passwords = {n: _cheap_password(f"password {n} for the model") for n in "ab"}
        self.devices = {n: X25519Identity.generate() for n in ("phone", "laptop")}
        self.recipients: dict[Wrap, Any] = {
            **{("pw", n): p for n, p in self.passwords.items()},
            **{("x", n): d for n, d in self.devices.items()},
        }
        # the keyring, as the model sees it
        self.versions: dict[str, dict[int, str]] = {}
        self.primary: dict[str, int | None] = {}
        self.base: dict[str, tuple[str, str]] = {}  # key id -> (kind, key id) as written
        for name in ("default", "escrow"):
            if name != "default":
                self.ring.add_key(name)
            self._new_key(name)
        self.customers: list[str] = []
        self.docs: dict[str, list[Wrap]] = {}
        self.plain: dict[str, bytes] = {}
        self.serial = 0

    def teardown(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- the model ---------------------------------------------------------------------

    def _new_key(self, name: str) -> None:
        ref = self.ring.key(name).current_key()
        self.base[name] = (ref.kind, ref.key_id)
        self.versions[name] = {ref.version: "enabled"}
        self.primary[name] = ref.version

    def ref(self, wrap: Wrap) -> KeyRef:
        if wrap[0] == "key":
            kind, key_id = self.base[wrap[1]]
            return KeyRef(kind, key_id, wrap[2])
        provider = self.recipients[wrap]
        ref: KeyRef = provider.current_key()
        return ref

    def alive(self, name: str) -> bool:
        return self.primary[name] is not None

    def opens(self, wraps: list[Wrap], keys: list[Name]) -> bool:
        """Whether the providers named in ``keys`` ("ring" or a recipient) open these wraps."""
        for w in wraps:
            if w[0] == "key" and "ring" in keys and self.versions[w[1]][w[2]] == "enabled":
                return True
            if w[0] != "key" and w in keys:
                return True
        return False

    def brought_up_to_date(self, wraps: list[Wrap]) -> list[Wrap]:
        def current(w: Wrap) -> bool:
            return bool(w[0] == "key" and w[2] == self.primary[w[1]])

        has_current = {w[1] for w in wraps if current(w)}
        done: set[str] = set()
        result = []
        for w in wraps:
            if w[0] != "key" or not self.alive(w[1]) or current(w):
                result.append(w)
            elif w[1] not in has_current and w[1] not in done:
                done.add(w[1])
                result.append(("key", w[1], self.primary[w[1]]))
        return result

    def is_current(self, wraps: list[Wrap], keys: list[Name]) -> bool:
        served = False
        for w in wraps:
            if w[0] == "key":
                if not self.alive(w[1]):
                    continue
                if w[2] != self.primary[w[1]]:
                    return False
                served = True
            elif any(k != "ring" and k[0] == w[0] for k in keys):
                served = True
        return served

    def rotated(self, wraps: list[Wrap], keys: list[Name], drop: Callable[[Wrap], bool]) -> Any:
        """The wraps rotate makes, or the error it raises."""
        if not self.opens(wraps, keys):
            return DecryptionError
        result: list[Wrap] = []
        for w in wraps:
            if drop(w):
                continue
            if w[0] == "key":
                if not self.alive(w[1]):
                    return WrapLossError
                new = ("key", w[1], self.primary[w[1]])
            elif w in keys:
                new = w
            else:
                return WrapLossError
            if new not in result:
                result.append(new)
        return result if result else ValueError

    # -- what is on disk ------------------------------------------------------------------

    def path(self, doc_id: str) -> Path:
        return self.tmp / "store" / f"{doc_id}.sdoc"

    def doc_bytes(self) -> dict[str, bytes]:
        return {d: self.path(d).read_bytes() for d in self.docs}

    def snapshot(self) -> dict[str, bytes]:
        files = {p.name: p.read_bytes() for p in (self.tmp / "store").glob("*.sdoc")}
        files["ring.json"] = (self.tmp / "ring.json").read_bytes()
        return files

    def providers(self, keys: list[Name]) -> list[Any]:
        return [self.ring if k == "ring" else self.recipients[k] for k in keys]

    def vault(self, keys: list[Name]) -> Vault:
        return Vault(self.url, keys=self.providers(keys))

    def refused(self, error: type[BaseException], action: Callable[[], object]) -> None:
        before = self.snapshot()
        with pytest.raises(error):
            action()
        assert self.snapshot() == before

    # -- strategies drawn inside rules ------------------------------------------------------

    def draw_keys(self, data: st.DataObject, *, with_ring: bool = True) -> list[Name]:
        chosen: list[Name] = data.draw(
            st.lists(st.sampled_from(sorted(self.recipients)), unique=True)
        )
        return (["ring"] if with_ring else []) + chosen

    def key_names(self) -> list[str]:
        return sorted(self.versions)

    # -- rules: documents --------------------------------------------------------------------

    @precondition(lambda self: len(self.docs) < MAX_DOCS)
    @rule(data=st.data(), plain=st.binary(max_size=300))
    def put(self, data: st.DataObject, plain: bytes) -> None:
        owner = data.draw(st.sampled_from(["default", *self.customers]))
        names = [owner] + (["escrow"] if data.draw(st.booleans()) else [])
        extra = data.draw(st.lists(st.sampled_from(sorted(self.recipients)), unique=True))
        doc_id = f"doc-{self.serial}"
        self.serial += 1
        keys = [self.ring.key(n) for n in names] + [self.recipients[r] for r in extra]
        vault = Vault(self.url, keys=keys)
        if not all(self.alive(n) for n in names):
            self.refused(KeyProviderError, lambda: vault.put(doc_id, plain))
            return
        vault.put(doc_id, plain)
        self.docs[doc_id] = [("key", n, self.primary[n]) for n in names] + list(extra)
        self.plain[doc_id] = plain

    @precondition(lambda self: self.docs)
    @rule(data=st.data())
    def rewrap_one(self, data: st.DataObject) -> None:
        doc_id = data.draw(st.sampled_from(sorted(self.docs)))
        keys = self.draw_keys(data)
        wraps = self.docs[doc_id]
        mode = data.draw(st.sampled_from(["plain", "to", "add", "drop"]))
        kwargs: dict[str, Any] = {}
        expected: Any
        if mode == "plain":
            expected = self.brought_up_to_date(wraps)
        elif mode in ("to", "add"):
            target = data.draw(st.sampled_from(self.key_names() + sorted(self.recipients)))
            if isinstance(target, str):
                provider: Any = self.ring.key(target)
                new: Wrap = ("key", target, self.primary[target])
                mine: Callable[[Wrap], bool] = lambda w: w[:2] == ("key", target)  # noqa: E731
                ok = self.alive(target)
            else:
                provider, new, ok = self.recipients[target], target, True
                mine = lambda w: w == target  # noqa: E731
            kwargs[mode] = provider
            keep = [] if mode == "to" else [w for w in wraps if not mine(w)]
            expected = [*keep, new] if ok else KeyProviderError
        else:
            target = data.draw(st.sampled_from(self.key_names() + sorted(self.recipients)))
            if isinstance(target, str) and data.draw(st.booleans()):
                kind, key_id = self.base[target]
                kwargs["drop"] = f"{kind}:{key_id}"  # every version, by label
                ok = True
            elif isinstance(target, str):
                kwargs["drop"] = self.ring.key(target)
                ok = self.alive(target)  # a provider must say which key is its own
            else:
                kwargs["drop"], ok = self.recipients[target], True
            if isinstance(target, str):
                left = [w for w in wraps if w[:2] != ("key", target)]
            else:
                left = [w for w in wraps if w != target]
            expected = (left if left else ValueError) if ok else KeyProviderError
        if not self.opens(wraps, keys):
            expected = DecryptionError
        stream = data.draw(st.booleans())
        same = mode in ("plain", "drop")  # no new wrap made: unchanged if nothing to do
        self._rekey(doc_id, keys, expected, stream, rotate=False, same=same, **kwargs)

    @precondition(lambda self: self.docs)
    @rule(data=st.data())
    def rotate_one(self, data: st.DataObject) -> None:
        doc_id = data.draw(st.sampled_from(sorted(self.docs)))
        keys = self.draw_keys(data)
        wraps = self.docs[doc_id]
        choices = sorted({w for w in wraps if w[0] != "key"}) + sorted(
            {w[1] for w in wraps if w[0] == "key"}
        )
        target = data.draw(st.sampled_from([None, *choices]))
        kwargs: dict[str, Any] = {}
        if target is None:
            drop: Callable[[Wrap], bool] = lambda w: False  # noqa: E731
        elif isinstance(target, str):
            kind, key_id = self.base[target]
            kwargs["drop"] = f"{kind}:{key_id}"
            drop = lambda w: w[:2] == ("key", target)  # noqa: E731
        else:
            kwargs["drop"] = self.recipients[target]
            drop = lambda w: w == target  # noqa: E731
        expected = self.rotated(wraps, keys, drop)
        self._rekey(
            doc_id, keys, expected, data.draw(st.booleans()), rotate=True, same=False, **kwargs
        )

    def _rekey(
        self,
        doc_id: str,
        keys: list[Name],
        expected: Any,
        stream: bool,
        *,
        rotate: bool,
        same: bool,
        **kwargs: Any,
    ) -> None:
        """One rewrap or rotate, through bytes or streams; a predicted error writes nothing."""
        sealed = self.path(doc_id).read_bytes()
        options = {"keys": self.providers(keys), "binding": {BINDING: doc_id}, **kwargs}
        if stream:
            verb: Any = sealdoc.rotate_stream if rotate else sealdoc.rewrap_stream
            out = io.BytesIO()

            def run() -> bytes:
                verb(io.BytesIO(sealed), out, **options)
                return out.getvalue()
        else:
            verb = sealdoc.rotate if rotate else sealdoc.rewrap

            def run() -> bytes:
                result: bytes = verb(sealed, **options)
                return result

        if isinstance(expected, type):
            self.refused(expected, run)
            if stream:
                assert out.getvalue() == b""  # nothing written to the destination either
            return
        new = run()
        if same and expected == self.docs[doc_id]:
            assert new == sealed  # nothing to do: unchanged, byte for byte
        self.path(doc_id).write_bytes(new)
        self.docs[doc_id] = expected

    # -- rules: the keyring ------------------------------------------------------------------

    @precondition(lambda self: len(self.customers) < MAX_CUSTOMERS)
    @rule()
    def add_key(self) -> None:
        name = f"cust-{len(self.customers):04}"
        self.ring.add_key(name)
        self._new_key(name)
        self.customers.append(name)

    @rule(data=st.data())
    def rotate_key(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(self.key_names()))
        version = self.ring.rotate(name)
        assert version == max(self.versions[name]) + 1
        self.versions[name][version] = "enabled"
        self.primary[name] = version

    @rule(data=st.data(), state=st.sampled_from(["disabled", "enabled", "destroyed"]))
    def change_version(self, data: st.DataObject, state: str) -> None:
        name = data.draw(st.sampled_from(self.key_names()))
        version = data.draw(st.sampled_from(sorted(self.versions[name])))
        was = self.versions[name][version]
        if state == "disabled":
            action: Callable[[], object] = lambda: self.ring.disable(version, name)  # noqa: E731
            refused = was == "destroyed" or version == self.primary[name]
        elif state == "enabled":
            action = lambda: self.ring.enable(version, name)  # noqa: E731
            refused = was == "destroyed"
        else:
            action = lambda: self.ring.destroy(version, name, confirm=True)  # noqa: E731
            refused = was == "destroyed"
        if refused:
            self.refused(ValueError, action)
            return
        action()
        self.versions[name][version] = state
        if state == "destroyed" and self.primary[name] == version:
            self.primary[name] = None

    @precondition(
        lambda self: len(self.docs) < MAX_DOCS and any(self.alive(c) for c in self.customers)
    )
    @rule(data=st.data(), plain=st.binary(max_size=50))
    def put_for_customer(self, data: st.DataObject, plain: bytes) -> None:
        """A document under a customer's key alone: what a shred makes unreadable."""
        name = data.draw(st.sampled_from([c for c in self.customers if self.alive(c)]))
        doc_id = f"doc-{self.serial}"
        self.serial += 1
        Vault(self.url, keys=self.ring.key(name)).put(doc_id, plain)
        self.docs[doc_id] = [("key", name, self.primary[name])]
        self.plain[doc_id] = plain

    @precondition(lambda self: any(self.alive(c) for c in self.customers))
    @rule(data=st.data())
    def shred_customer(self, data: st.DataObject) -> None:
        """A customer asked to be forgotten: every version of their key destroyed."""
        name = data.draw(st.sampled_from([c for c in self.customers if self.alive(c)]))
        for version, state in sorted(self.versions[name].items()):
            if state != "destroyed":
                self.ring.destroy(version, name, confirm=True)
                self.versions[name][version] = "destroyed"
        self.primary[name] = None

    # -- rules: bulk jobs ----------------------------------------------------------------------

    @rule(data=st.data(), operation=st.sampled_from(["rewrap", "rotate"]))
    def bulk(self, data: st.DataObject, operation: str) -> None:
        keys: list[Name] = ["ring"]
        if data.draw(st.booleans()):
            keys += sorted(self.recipients)
        vault = self.vault(keys)
        job = vault.rewrap_all if operation == "rewrap" else vault.rotate_all
        before = self.doc_bytes()
        report = job(workers=2, retries=0, allow_empty=True)
        outcomes = self._expect(sorted(self.docs), keys, operation)
        assert {f.doc_id for f in report.failed} == {d for d, o in outcomes.items() if o == "fail"}
        assert report.scanned == len(outcomes)
        assert report.shredded == sum(o == "shred" for o in outcomes.values())
        for doc_id, outcome in outcomes.items():
            if outcome != "done":  # skipped, or refused: left byte for byte as it was
                assert self.path(doc_id).read_bytes() == before[doc_id]

    @precondition(lambda self: len(self.docs) >= 2)
    @rule(data=st.data(), operation=st.sampled_from(["rewrap", "rotate"]))
    def crash_then_restore(self, data: st.DataObject, operation: str) -> None:
        keys: list[Name] = ["ring"]
        if data.draw(st.booleans()):
            keys += sorted(self.recipients)
        ids = sorted(self.docs)  # the listing's path order: "doc-1.sdoc" < "doc-10.sdoc"
        survive = data.draw(st.integers(1, len(ids) - 1))
        checkpoint = self.tmp / f"job-{self.serial}.checkpoint"
        self.serial += 1
        vault = self.vault(keys)
        job = vault.rewrap_all if operation == "rewrap" else vault.rotate_all
        # The job is cut short the way the engine supports (what a SIGTERM does):
        # ``stop`` set from ``progress`` once ``survive`` documents are handled.
        # With one worker that is deterministic: the documents queued behind
        # are abandoned untouched, and the checkpoint records the ones finished.
        stop = threading.Event()
        armed = [True]

        def stops_part_way(handled: int, total: int) -> None:
            if armed[0] and handled >= survive:
                stop.set()

        before_bytes = self.doc_bytes()
        options = BulkOptions(workers=1, retries=0, checkpoint=checkpoint)
        first = job(options, stop=stop, progress=stops_part_way)
        assert first.interrupted
        before = {d: list(self.docs[d]) for d in ids}
        outcomes = self._expect(ids[:survive], keys, operation)
        assert {f.doc_id for f in first.failed} == {d for d, o in outcomes.items() if o == "fail"}
        for doc_id in ids[survive:]:  # not reached: left byte for byte as they were
            assert self.path(doc_id).read_bytes() == before_bytes[doc_id]
        self._check_documents()
        armed[0] = False  # the same job (same options) run again after the stop
        report = job(options, stop=threading.Event(), progress=stops_part_way)
        assert not report.interrupted
        done = [d for d in ids[:survive] if self._outcome(before[d], keys, operation)[0] != "fail"]
        assert report.resumed == len(done)  # finished documents are not read again
        self._expect(ids[survive:], keys, operation)

    def shredded(self, wraps: list[Wrap]) -> bool:
        """Every wrap under a keyring version destroyed on purpose: no job can move it."""
        return all(w[0] == "key" and self.versions[w[1]][w[2]] == "destroyed" for w in wraps)

    def _outcome(self, wraps: list[Wrap], keys: list[Name], operation: str) -> tuple[str, Any]:
        if self.shredded(wraps):  # counted apart, never a failure (issue 19, item 14)
            return "shred", wraps
        if operation == "rewrap":
            if self.is_current(wraps, keys):
                return "skip", wraps
            if not self.opens(wraps, keys):
                return "fail", wraps
            return "done", self.brought_up_to_date(wraps)
        result = self.rotated(wraps, keys, lambda w: False)
        return ("fail", wraps) if isinstance(result, type) else ("done", result)

    def _expect(self, ids: list[str], keys: list[Name], operation: str) -> dict[str, str]:
        """Apply a bulk job to the model; each document's outcome (done, skip, fail)."""
        outcomes = {}
        for doc_id in ids:
            outcomes[doc_id], self.docs[doc_id] = self._outcome(self.docs[doc_id], keys, operation)
        return outcomes

    # -- rules: delivery --------------------------------------------------------------------------

    @precondition(lambda self: self.docs)
    @rule(data=st.data(), fresh_key=st.booleans())
    def deliver(self, data: st.DataObject, fresh_key: bool) -> None:
        doc_id = data.draw(st.sampled_from(sorted(self.docs)))
        keys = self.draw_keys(data)
        courier = _cheap_password("a password for the courier")
        vault = self.vault(keys)
        if not self.opens(self.docs[doc_id], keys):
            self.refused(DecryptionError, lambda: vault.deliver(doc_id, to=courier))
            return
        before = self.snapshot()
        copy = vault.deliver(doc_id, to=courier, fresh_key=fresh_key)
        assert self.snapshot() == before  # the stored document is not changed
        binding = None if fresh_key else {BINDING: doc_id}
        assert sealdoc.open(copy, keys=courier, binding=binding) == self.plain[doc_id]
        assert [w.ref for w in sealdoc.inspect(copy).wrapped_keys] == [courier.current_key()]
        with pytest.raises(DecryptionError):
            sealdoc.open(copy, keys=self.ring, binding=binding)

    # -- invariants --------------------------------------------------------------------------

    @invariant()
    def documents_match_the_model(self) -> None:
        self._check_documents()

    def _check_documents(self) -> None:
        counts: Counter[str] = Counter()
        for doc_id, wraps in self.docs.items():
            sealed = self.path(doc_id).read_bytes()
            have = sorted(_tuple(w.ref) for w in sealdoc.inspect(sealed).wrapped_keys)
            # no wrap appears or disappears unless a rule said so
            assert have == sorted(_tuple(self.ref(w)) for w in wraps), doc_id
            # inventory counts documents with a wrap under each label, not wraps:
            # two password wraps share the label ``password`` and count once
            counts.update({self.ref(w).label for w in wraps})
            binding = {BINDING: doc_id}
            names: list[Name] = ["ring", *sorted(self.recipients)]
            for name in names:
                provider = self.ring if name == "ring" else self.recipients[name]
                if self.opens(wraps, [name]):
                    assert (
                        sealdoc.open(sealed, keys=provider, binding=binding) == self.plain[doc_id]
                    )
                else:  # a destroyed or disabled version, a dropped recipient: nothing
                    with pytest.raises(DecryptionError):
                        sealdoc.open(sealed, keys=provider, binding=binding)
        found = self.vault(["ring"]).inventory(allow_empty=True)
        assert _counts(found) == dict(counts)
        assert found.shredded == sum(self.shredded(wraps) for wraps in self.docs.values())


KeyLifecycle.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_key_lifecycle = KeyLifecycle.TestCase

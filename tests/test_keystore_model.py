"""A model-based test of KeyStore subjects over a vault (issue 20, item 6).

The lifecycle machine of tests/test_lifecycle_model.py, for customer keys: a
hypothesis state machine puts documents under subjects, rotates, disables,
enables and destroys versions, erases subjects, holds, releases, sets
retention dates and runs erase_due on a model clock, rotates the master and
re-wraps every row, rewraps the vault, and has a second store object (its
own connection and cache, as another process has) make subjects on first use.
A plain model says each version's state. After every step, a store that
caches nothing (what any process sees once ``cache_ttl`` has passed) opens
exactly the documents whose version the model says is enabled; a held or
retained subject's documents open; an erased subject's open nowhere; and
``info()`` says what the model says.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import sealdoc
from sealdoc import DecryptionError, KeyStore, Vault
from sealdoc.exceptions import KeyProviderError, KeyStoreError, RetentionError

SUBJECTS = ("C-1", "C-2", "C-3")
START = datetime(2030, 1, 1, tzinfo=timezone.utc)


class SubjectLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="sealdoc-ks-model-"))
        self.master = sealdoc.MemoryKeyring(key_id="master")
        self.url = f"sqlite:///{self.tmp}/keys.db"
        self.store = KeyStore(self.url, master=self.master)
        self.other = KeyStore(self.url, master=self.master)  # another process's view
        self.vault = Vault((self.tmp / "docs").as_uri(), keys=self.store)
        self.now = START
        # subject -> {version: state}; primary; hold; retain-until; erased
        self.versions: dict[str, dict[int, str]] = {}
        self.primary: dict[str, int | None] = {}
        self.held: dict[str, str] = {}
        self.retained: dict[str, datetime] = {}
        self.erased: set[str] = set()
        self.docs: dict[str, tuple[str, int, bytes]] = {}  # doc id -> subject, version, data

    def teardown(self) -> None:
        self.store.close()
        self.other.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _new_subject(self, subject: str) -> None:
        self.versions[subject] = {1: "enabled"}
        self.primary[subject] = 1

    def _erasable(self, subject: str) -> bool:
        until = self.retained.get(subject)
        return subject not in self.held and (until is None or until <= self.now)

    # -- documents -------------------------------------------------------------------

    @rule(subject=st.sampled_from(SUBJECTS), data=st.binary(max_size=64), second=st.booleans())
    def put(self, subject: str, data: bytes, second: bool) -> None:
        doc_id = f"{subject}/{len(self.docs)}"
        usable = subject not in self.erased and (
            subject not in self.versions
            or (
                (primary := self.primary[subject]) is not None
                and self.versions[subject][primary] == "enabled"
            )
        )
        if not usable:
            try:
                self.vault.put(doc_id, data, key=subject)
            except KeyProviderError:
                return
            raise AssertionError(f"sealed under erased or keyless subject {subject}")
        if subject not in self.versions:
            if second:  # the other process's first use makes the key; this one then uses it
                sealdoc.seal(b"first", keys=self.other.key(subject))
            self._new_subject(subject)
        self.vault.put(doc_id, data, key=subject)
        primary = self.primary[subject]
        assert primary is not None
        self.docs[doc_id] = (subject, primary, data)

    # -- versions ---------------------------------------------------------------------

    @precondition(lambda self: any(s not in self.erased for s in self.versions))
    @rule(data=st.data())
    def rotate(self, data: st.DataObject) -> None:
        subject = data.draw(
            st.sampled_from(sorted(s for s in self.versions if s not in self.erased))
        )
        version = self.store.rotate(subject)
        assert version == max(self.versions[subject]) + 1
        self.versions[subject][version] = "enabled"
        self.primary[subject] = version

    @precondition(lambda self: bool(self.versions))
    @rule(data=st.data(), state=st.sampled_from(["disabled", "enabled", "destroyed"]))
    def set_state(self, data: st.DataObject, state: str) -> None:
        subject = data.draw(st.sampled_from(sorted(self.versions)))
        version = data.draw(st.sampled_from(sorted(self.versions[subject])))
        current = self.versions[subject][version]
        try:
            if state == "disabled":
                self.store.disable(subject, version)
            elif state == "enabled":
                self.store.enable(subject, version)
            else:
                self.store.destroy(subject, version, confirm=True, now=self.now)
        except RetentionError:
            assert state == "destroyed"
            assert not self._erasable(subject)
            return
        except KeyStoreError:
            assert current == "destroyed" or (
                state == "disabled" and version == self.primary[subject]
            )
            return
        assert current != "destroyed"
        if state == "destroyed":
            assert self._erasable(subject)
            if version == self.primary[subject]:
                self.primary[subject] = None
        else:
            assert not (state == "disabled" and version == self.primary[subject])
        self.versions[subject][version] = state

    @precondition(lambda self: bool(self.versions))
    @rule(data=st.data())
    def erase(self, data: st.DataObject) -> None:
        subject = data.draw(st.sampled_from(sorted(self.versions)))
        try:
            self.store.destroy(subject, confirm=True, now=self.now)
        except RetentionError:
            assert not self._erasable(subject)
            return
        except KeyStoreError:
            assert subject in self.erased
            return
        assert self._erasable(subject)
        assert subject not in self.erased
        self._erase(subject)

    def _erase(self, subject: str) -> None:
        self.erased.add(subject)
        self.primary[subject] = None
        for version in self.versions[subject]:
            self.versions[subject][version] = "destroyed"

    # -- hold and retention --------------------------------------------------------------

    @precondition(lambda self: bool(self.versions))
    @rule(data=st.data(), reason=st.sampled_from(["case 1", "case 2"]))
    def hold(self, data: st.DataObject, reason: str) -> None:
        subject = data.draw(st.sampled_from(sorted(self.versions)))
        self.store.hold(subject, reason)
        self.held[subject] = reason

    @precondition(lambda self: bool(self.held))
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        subject = data.draw(st.sampled_from(sorted(self.held)))
        self.store.release(subject)
        del self.held[subject]

    @precondition(lambda self: bool(self.versions))
    @rule(data=st.data(), days=st.integers(-3, 10))
    def retain(self, data: st.DataObject, days: int) -> None:
        subject = data.draw(st.sampled_from(sorted(self.versions)))
        until = self.now + timedelta(days=days)
        self.store.retain(subject, until)
        self.retained[subject] = until

    @rule(days=st.integers(1, 5))
    def advance_clock(self, days: int) -> None:
        self.now += timedelta(days=days)

    @rule()
    def erase_due(self) -> None:
        report = self.store.erase_due(now=self.now)
        due = {
            s for s, until in self.retained.items() if until <= self.now and s not in self.erased
        }
        assert set(report.erased) == {s for s in due if s not in self.held}
        assert {s for s, _ in report.held} == {s for s in due if s in self.held}
        for subject in report.erased:
            self._erase(subject)

    # -- master rotation and rewrap -------------------------------------------------------

    @rule()
    def rotate_master(self) -> None:
        self.master.rotate()
        live = sum(
            1 for vs in self.versions.values() for state in vs.values() if state != "destroyed"
        )
        assert self.store.rewrap_master() == live
        old = [v for v, state in self.master.versions().items() if state == "enabled"][:-1]
        for version in old:  # older master versions can go: no row needs them
            self.master.destroy(version, confirm=True)

    @precondition(lambda self: bool(self.docs))
    @rule()
    def rewrap(self) -> None:
        self.vault.rewrap_all()
        for doc_id, (subject, version, data) in list(self.docs.items()):
            primary = self.primary[subject]
            if (
                self.versions[subject][version] == "enabled"
                and primary is not None
                and self.versions[subject][primary] == "enabled"
            ):
                self.docs[doc_id] = (subject, primary, data)

    # -- what must hold after every step ---------------------------------------------------

    @invariant()
    def documents_open_exactly_as_modelled(self) -> None:
        fresh = KeyStore(self.url, master=self.master, cache_ttl=0)  # any process after cache_ttl
        vault = Vault(self.vault.url, keys=fresh)
        try:
            for doc_id, (subject, version, data) in self.docs.items():
                (wrap,) = vault.inspect(doc_id).wrapped_keys
                assert wrap.key_id == f"{subject}@{fresh.store_id}"
                assert wrap.version == version
                if self.versions[subject][version] == "enabled":
                    assert vault.get(doc_id) == data
                else:
                    try:
                        vault.get(doc_id)
                    except DecryptionError:
                        continue
                    raise AssertionError(
                        f"{doc_id} opened under a {self.versions[subject][version]} version"
                    )
            for subject, versions in self.versions.items():
                info = fresh.info(subject)
                assert {v.version: v.state for v in info.versions} == versions
                assert info.hold == self.held.get(subject)
                assert (info.erased is not None) == (subject in self.erased)
                assert info.primary == self.primary[subject]
        finally:
            fresh.close()


SubjectLifecycle.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_subject_lifecycle = SubjectLifecycle.TestCase

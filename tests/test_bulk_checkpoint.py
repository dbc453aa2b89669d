"""Checkpoint ranges: in any finishing order, a reload skips exactly what finished."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sealdoc import CheckpointError
from sealdoc._bulk.checkpoint import Checkpoint, fingerprint

JOB = {"operation": "rewrap", "url": "memory://x", "prefix": "", "targets": ["memory:k#2"]}


def run(path: Path, names: list[str], outcome: dict[str, bool], order: list[str]) -> None:
    """Begin ``names`` in order, end them in ``order`` (a permutation of a prefix of them)."""
    marks = Checkpoint(path, JOB)
    begun = [n for n in names if not marks.finished(n)]
    for name in begun:
        marks.begin(name)
    for name in order:
        if name in begun:
            marks.end(name, finished=outcome[name])
    marks.close()


@settings(max_examples=60, deadline=None)
@given(
    count=st.integers(1, 40),
    seed=st.integers(0, 2**32 - 1),
    cut=st.floats(0, 1),
    runs=st.integers(1, 3),
)
def test_a_reload_skips_exactly_what_finished(
    tmp_path_factory: pytest.TempPathFactory, count: int, seed: int, cut: float, runs: int
) -> None:
    path = tmp_path_factory.mktemp("ck") / "job.checkpoint"
    chance = random.Random(seed)
    names = [f"docs/{i:04}.sdoc" for i in range(count)]
    done: set[str] = set()
    for _ in range(runs):
        pending = [n for n in names if n not in done]
        outcome = {n: chance.random() < 0.8 for n in pending}
        ended = pending[: int(len(pending) * cut) + 1]
        chance.shuffle(ended)  # workers finish out of order; the rest never end (a kill)
        run(path, names, outcome, ended)
        done |= {n for n in ended if outcome[n]}
        reloaded = Checkpoint(path, JOB)
        assert {n for n in names if reloaded.finished(n)} == done
        reloaded.close()  # the next run claims the file
    state = json.loads(path.read_text())
    assert len(state["above"]) <= count


def test_a_checkpoint_names_its_job_and_refuses_others(tmp_path: Path) -> None:
    path = tmp_path / "job.checkpoint"
    run(path, ["a"], {"a": True}, ["a"])
    with pytest.raises(CheckpointError, match="another job"):
        Checkpoint(path, {**JOB, "targets": ["memory:k#3"]})
    with pytest.raises(CheckpointError, match="another job"):
        Checkpoint(path, {**JOB, "prefix": "b/"})
    assert Checkpoint(path, JOB).finished("a")


def test_the_name_key_fingerprint_reveals_nothing_of_the_key() -> None:
    key = bytes(range(64))
    mark = fingerprint(key)
    assert mark is not None
    assert len(mark) == 16
    assert key.hex()[:16] not in mark
    assert fingerprint(key) == mark
    assert fingerprint(bytes(64)) != mark
    assert fingerprint(None) is None

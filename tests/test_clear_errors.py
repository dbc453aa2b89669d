"""Errors that say what happened and what to do (issue 19, item 17)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import fsspec
import pytest

import sealdoc
from sealdoc import DecryptionError, MemoryKeyring

from .test_cli import PASS, run

SEGMENT = 4096


def test_the_protocol_without_keys_says_where_they_go() -> None:
    with pytest.raises(ValueError, match=r"storage_options=\{'sealdoc': \{'keys'"):
        fsspec.open("sealdoc::memory://no-keys/a.csv", "wb").open()


def _sealed(ring: MemoryKeyring) -> bytes:
    return sealdoc.seal(bytes(range(256)) * 40, keys=ring, segment_size=SEGMENT)  # 3 segments


def test_a_document_cut_short_says_it_may_be(ring: MemoryKeyring) -> None:
    sealed = _sealed(ring)
    header = sealdoc.inspect(sealed).header_length
    for cut in (len(sealed) - 100, header + SEGMENT + 16 + 500, header + 300):
        with pytest.raises(DecryptionError) as info:
            sealdoc.open(sealed[:cut], keys=ring)
        assert str(info.value) == "cannot open this document"  # the opaque message, unchanged
        assert "the last one: the document may have been cut short" in info.value.reason
        reader = sealdoc.open_stream(io.BytesIO(sealed[:cut]), keys=ring)
        with pytest.raises(DecryptionError) as streamed:
            reader.read()
        assert "may have been cut short" in streamed.value.reason


def test_an_altered_segment_before_the_last_is_not_called_truncated(ring: MemoryKeyring) -> None:
    sealed = bytearray(_sealed(ring))
    header = sealdoc.inspect(bytes(sealed)).header_length
    sealed[header + 10] ^= 1  # segment 0 of 3
    with pytest.raises(DecryptionError) as info:
        sealdoc.open(bytes(sealed), keys=ring)
    assert re.search(r"^segment 0 failed authentication$", info.value.reason)


def test_inspect_says_the_body_is_incomplete(tmp_path: Path) -> None:
    assert run(tmp_path, "keys", "init").returncode == 0
    ring = sealdoc.LocalKeyring.load(tmp_path / "ring.json", passphrase=PASS)
    sealed = sealdoc.seal(b"x" * 10_000, keys=ring, segment_size=SEGMENT)
    header = sealdoc.inspect(sealed).header_length
    # one whole segment, then 5 bytes: a length no writer makes
    (tmp_path / "cut.sdoc").write_bytes(sealed[: header + SEGMENT + 16 + 5])
    shown = run(tmp_path, "inspect", "cut.sdoc")
    assert shown.returncode == 0, shown.stderr
    assert b"plaintext_length: unknown: the body is incomplete" in shown.stdout
    as_json = json.loads(run(tmp_path, "inspect", "cut.sdoc", "--json").stdout)
    assert (as_json["plaintext_length"], as_json["body_incomplete"]) == (None, True)
    (tmp_path / "whole.sdoc").write_bytes(sealed)
    whole = json.loads(run(tmp_path, "inspect", "whole.sdoc", "--json").stdout)
    assert (whole["plaintext_length"], "body_incomplete" in whole) == (10_000, False)


def test_the_html_copy_keeps_the_documents_context(tmp_path: Path) -> None:
    assert run(tmp_path, "keys", "init").returncode == 0
    ring = sealdoc.LocalKeyring.load(tmp_path / "ring.json", passphrase=PASS)
    url = f"file://{tmp_path}/vault"
    sealdoc.Vault(url, keys=ring).put("C-1/2026-11", b"statement", context={"tenant": "acme"})
    done = run(
        tmp_path, "deliver", url, "C-1/2026-11", "--format", "html", "--password-env", "PW",
        "-o", "s.html", PW="plum-orbit-kettle-91",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    context = sealdoc.inspect(sealdoc.sealed_from_html((tmp_path / "s.html").read_bytes())).context
    assert context["tenant"] == "acme"
    assert context["sealdoc:filename"] == "2026-11"


def test_the_storage_docs_name_the_reports_real_attributes() -> None:
    text = (Path(__file__).parent.parent / "docs" / "storage.md").read_text(encoding="utf-8")
    start = text.index("- **Report.** `BulkReport`:")
    paragraph = text[start : text.index("\n- **", start + 1)]
    names = re.findall(r"`([a-z_]+)`", paragraph)
    assert "duration_s" in names
    assert [n for n in names if not hasattr(sealdoc.BulkReport, n)] == []

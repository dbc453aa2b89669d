"""DocumentApp under a real uvicorn on 127.0.0.1, with an httpx client (docs/serving.md)."""

from __future__ import annotations

import re
import socket
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import Mount, Route

import sealdoc
import sealdoc._text
from sealdoc import _stream
from sealdoc.providers import Password
from sealdoc.serve import DocumentApp, Grant
from tests.serving import serving, tracebacks
from tests.stores import new_bucket, s3_options

SEGMENT = 1024
PLAIN = bytes(range(256)) * 40 + b"Zq-s3cr3t"  # 10,249 bytes: 11 segments, the last one short
CONTEXT = {"tenant": "acme", "customer": "C-1", "filename": "statement 11.txt"}


def allow(request: Request, doc_id: str, header: Any) -> Grant:
    return Grant(subject="C-1")


@pytest.fixture
def vault(tmp_path: Path, ring: sealdoc.MemoryKeyring) -> sealdoc.Vault:
    v = sealdoc.Vault(f"file://{tmp_path}/vault", keys=ring, segment_size=SEGMENT)
    v.put("C-1/statement", PLAIN, context=CONTEXT)
    v.put("C-2/statement", b"other customer", context={"tenant": "acme", "customer": "C-2"})
    return v


def served_events(events: list[sealdoc.AuditEvent]) -> list[sealdoc.AuditEvent]:
    return [e for e in events if e.operation == "serve"]


def test_get_streams_the_plaintext_with_its_headers(vault: sealdoc.Vault) -> None:
    with serving(DocumentApp(vault, authorize=allow)) as (url, records):
        r = httpx.get(f"{url}/C-1/statement")
        head = httpx.head(f"{url}/C-1/statement")
    assert r.status_code == 200
    assert r.content == PLAIN
    assert r.headers["content-length"] == str(len(PLAIN))
    assert r.headers["accept-ranges"] == "bytes"
    assert r.headers["cache-control"] == "private, no-store"
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.headers["content-disposition"] == "inline; filename*=utf-8''statement%2011.txt"
    assert re.fullmatch(r'"[0-9a-f]{32}"', r.headers["etag"])
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(PLAIN))
    assert head.headers["etag"] == r.headers["etag"]
    assert not tracebacks(records)


# -- the same answers as Starlette's FileResponse for the same bytes ----------------------

RANGES = [
    None,
    "bytes=0-0",
    "bytes=0-99",
    "bytes=1000-3071",
    "bytes=10000-",
    "bytes=-100",
    "bytes=-0",
    "bytes=0-",
    "bytes=0-99999999999999999999",
    "bytes=0-99,200-299",
    "bytes=0-99,50-150,3000-3100",
    "bytes=5000-5100,0-10",
    "bytes=10244-",
    "bytes=99999999999999-",
    "bytes=10-5",
    "bytes=abc",
    "bytes=",
    "bites=0-1",
    "bytes=-",
    "0-100",
    "bytes=0-1, , 5-6",
]


@pytest.fixture
def side_by_side(vault: sealdoc.Vault, tmp_path: Path) -> Iterator[str]:
    plain = tmp_path / "statement 11.txt"
    plain.write_bytes(PLAIN)

    async def file(request: Request) -> FileResponse:
        return FileResponse(plain, filename=plain.name, content_disposition_type="inline")

    app = Starlette(
        routes=[
            Route("/file", file, methods=["GET", "HEAD"]),
            Mount("/docs", app=DocumentApp(vault, authorize=allow)),
        ]
    )
    with serving(app) as (url, records):
        yield url
        assert not tracebacks(records)


COMPARED = ("content-length", "content-range", "content-type", "accept-ranges")


def _normal(r: httpx.Response) -> tuple[int, dict[str, str], bytes]:
    """Status, compared headers and body, the multipart boundary (random) made one."""
    boundary = re.search(r"boundary=(\w+)", r.headers.get("content-type", ""))
    body, headers = r.content, {k: r.headers[k] for k in COMPARED if k in r.headers}
    if boundary:
        body = body.replace(boundary.group(1).encode(), b"B")
        headers["content-type"] = headers["content-type"].replace(boundary.group(1), "B")
    if "content-disposition" in r.headers:
        headers["content-disposition"] = r.headers["content-disposition"]
    return r.status_code, headers, body


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("value", RANGES)
def test_ranges_answer_as_file_response_does(
    side_by_side: str, method: str, value: str | None
) -> None:
    headers = {"range": value} if value is not None else {}
    with httpx.Client() as client:
        ours = client.request(method, f"{side_by_side}/docs/C-1/statement", headers=headers)
        theirs = client.request(method, f"{side_by_side}/file", headers=headers)
    assert _normal(ours) == _normal(theirs)
    if ours.status_code == 416:
        assert ours.headers["content-range"] == f"bytes */{len(PLAIN)}"


def test_if_range_answers_as_file_response_does(side_by_side: str) -> None:
    with httpx.Client() as client:
        ours_etag = client.head(f"{side_by_side}/docs/C-1/statement").headers["etag"]
        theirs_etag = client.head(f"{side_by_side}/file").headers["etag"]
        for ours_tag, theirs_tag, status in (
            (ours_etag, theirs_etag, 206),
            ('"stale"', '"stale"', 200),
            ("W/" + ours_etag, "W/" + theirs_etag, 200),
        ):
            ours = client.get(
                f"{side_by_side}/docs/C-1/statement",
                headers={"range": "bytes=5-9", "if-range": ours_tag},
            )
            theirs = client.get(
                f"{side_by_side}/file", headers={"range": "bytes=5-9", "if-range": theirs_tag}
            )
            assert ours.status_code == theirs.status_code == status
            assert _normal(ours) == _normal(theirs)


def test_more_ranges_than_the_limit_are_refused(side_by_side: str) -> None:
    """1,000 ranges: a 400 (FileResponse ignores such a header and sends everything)."""
    many = "bytes=" + ",".join(f"{i}-{i}" for i in range(1000))
    r = httpx.get(f"{side_by_side}/docs/C-1/statement", headers={"range": many})
    assert r.status_code == 400
    assert b"at most 100 ranges" in r.content
    hundred = "bytes=" + ",".join(f"{2 * i}-{2 * i}" for i in range(100))
    r = httpx.get(f"{side_by_side}/docs/C-1/statement", headers={"range": hundred})
    assert r.status_code == 206
    assert r.content.count(b"Content-Range: bytes") == 100


# -- conditions and the ETag -------------------------------------------------------------


def test_conditional_requests(vault: sealdoc.Vault) -> None:
    with serving(DocumentApp(vault, authorize=allow)) as (url, _), httpx.Client() as client:
        doc = f"{url}/C-1/statement"
        etag = client.head(doc).headers["etag"]
        r = client.get(doc, headers={"if-none-match": etag})
        assert (r.status_code, r.content) == (304, b"")
        assert r.headers["etag"] == etag
        assert r.headers["cache-control"] == "private, no-store"
        assert client.get(doc, headers={"if-none-match": f'"x", W/{etag}'}).status_code == 304
        assert client.get(doc, headers={"if-none-match": "*"}).status_code == 304
        assert client.get(doc, headers={"if-none-match": '"x"'}).status_code == 200
        assert client.get(doc, headers={"if-match": '"x"'}).status_code == 412
        assert client.get(doc, headers={"if-match": f"W/{etag}"}).status_code == 412
        r = client.get(doc, headers={"if-match": etag, "range": "bytes=0-3"})
        assert (r.status_code, r.content) == (206, PLAIN[:4])
        assert client.get(doc, headers={"if-match": "*"}).status_code == 200


def test_etag_follows_the_body_not_the_wraps(
    vault: sealdoc.Vault, other_ring: sealdoc.MemoryKeyring
) -> None:
    app = DocumentApp(vault, authorize=allow)
    with serving(app) as (url, _), httpx.Client() as client:
        doc = f"{url}/C-1/statement"
        first = client.head(doc).headers["etag"]
        assert client.head(f"{url}/C-2/statement").headers["etag"] != first
        # A rotate draws a fresh document key: a new ETag, and the old one no longer matches.
        assert vault.rotate_all().rewritten == 2
        rotated = client.head(doc).headers["etag"]
        assert rotated != first
        assert client.get(doc, headers={"if-none-match": first}).status_code == 200
        # A rewrap adds a wrap (the header changes, the body does not): the same ETag.
        sealed = vault._read_sealed("C-1/statement")
        rewrapped = sealdoc.rewrap(
            sealed,
            keys=vault.providers,
            to=[*vault.providers, other_ring],
            binding=vault.binding_for("C-1/statement"),
        )
        assert rewrapped != sealed
        vault._write_sealed("C-1/statement", rewrapped)
        assert client.head(doc).headers["etag"] == rotated
        assert client.get(doc, headers={"if-none-match": rotated}).status_code == 304
        # A new version of the same document: a new ETag too.
        vault.put("C-1/statement", PLAIN, context=CONTEXT)
        assert client.head(doc).headers["etag"] not in (first, rotated)


# -- only the segments a range needs -----------------------------------------------------


@pytest.fixture
def opened_segments(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The index of every segment authenticated (a spy: the real decryption still runs)."""
    seen: list[int] = []
    real_open, real_run = _stream.SegmentCipher.open, _stream.SegmentCipher.open_run

    def spy_open(self: Any, index: int, last: bool, segment: Any) -> bytes:
        seen.append(index)
        return real_open(self, index, last, segment)

    def spy_run(self: Any, index: int, body: Any, out: Any, size: int, **kw: Any) -> int:
        count = -(-len(body) // (size + 16))
        seen.extend(range(index, index + count))
        return real_run(self, index, body, out, size, **kw)

    monkeypatch.setattr(_stream.SegmentCipher, "open", spy_open)
    monkeypatch.setattr(_stream.SegmentCipher, "open_run", spy_run)
    return seen


def test_a_range_authenticates_only_its_segments(
    vault: sealdoc.Vault, opened_segments: list[int]
) -> None:
    with serving(DocumentApp(vault, authorize=allow)) as (url, _), httpx.Client() as client:
        doc = f"{url}/C-1/statement"
        r = client.get(doc, headers={"range": "bytes=3100-3200"})
        assert r.content == PLAIN[3100:3201]
        # segment 3 for the bytes, and the last (10) once, which authenticates the length
        assert sorted(opened_segments) == [3, 10]
        opened_segments.clear()
        r = client.get(doc, headers={"range": "bytes=1000-1100,5000-5100"})
        assert r.status_code == 206
        assert sorted(opened_segments) == [0, 1, 4, 10]
        opened_segments.clear()
        client.get(doc)
        assert sorted(opened_segments) == list(range(11))
        opened_segments.clear()
        assert client.get(doc, headers={"if-none-match": r.headers["etag"]}).status_code == 304
        assert sorted(opened_segments) == [10]


def test_a_client_that_goes_stops_the_reading(
    tmp_path: Path, ring: sealdoc.MemoryKeyring, opened_segments: list[int]
) -> None:
    big = sealdoc.Vault(f"file://{tmp_path}/big", keys=ring, segment_size=64 * 1024)
    big.put("big", bytes(64 * 1024 * 1024))  # 1,024 segments
    opened_segments.clear()
    with serving(DocumentApp(big, authorize=allow)) as (url, records):
        with httpx.Client() as client, client.stream("GET", f"{url}/big") as r:
            assert r.status_code == 200
            next(r.iter_raw(64 * 1024))
        # wait until the reading has stopped (no new segment for a second), however loaded
        deadline, seen = time.monotonic() + 20, -1
        while len(opened_segments) != seen and time.monotonic() < deadline:
            seen = len(opened_segments)
            time.sleep(1)
        assert len(opened_segments) == seen  # stopped, not still reading
        assert seen < 512  # of 1,024: the rest was never read
        assert not tracebacks(records)


# -- authorization and audit -------------------------------------------------------------


def test_no_authorize_no_app(vault: sealdoc.Vault) -> None:
    with pytest.raises(TypeError, match="authorize"):
        DocumentApp(vault, authorize=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="authorize"):
        DocumentApp(vault)  # type: ignore[call-arg]


def test_a_refusal_is_a_missing_document(
    vault: sealdoc.Vault, events: list[sealdoc.AuditEvent]
) -> None:
    seen: list[tuple[str, dict[str, str]]] = []

    async def only_own(request: Request, doc_id: str, header: Any) -> Grant | None:
        seen.append((doc_id, dict(header.context)))
        customer = request.headers.get("x-customer", "")
        return Grant(subject=customer) if header.context.get("customer") == customer else None

    with serving(DocumentApp(vault, authorize=only_own)) as (url, _), httpx.Client() as client:
        hers = client.get(f"{url}/C-2/statement", headers={"x-customer": "C-1"})
        missing = client.get(f"{url}/C-9/statement", headers={"x-customer": "C-1"})
        own = client.get(f"{url}/C-1/statement", headers={"x-customer": "C-1"})
        refused_by_default = client.get(f"{url}/C-1/statement")
    assert hers.status_code == missing.status_code == refused_by_default.status_code == 404
    assert hers.content == missing.content
    assert dict(hers.headers) == dict(missing.headers)
    assert own.content == PLAIN
    assert seen[0] == ("C-2/statement", {"tenant": "acme", "customer": "C-2"})
    served = served_events(events)
    assert [e.outcome for e in served] == ["denied", "missing", "ok", "denied"]
    assert [e.doc_id for e in served] == [
        "C-2/statement",
        "C-9/statement",
        "C-1/statement",
        "C-1/statement",
    ]
    ok = served[2]
    assert (ok.subject, ok.channel, ok.byte_range) == ("C-1", "portal", "")
    assert ok.context["customer"] == "C-1"


def test_one_audit_event_per_access_and_no_secrets_in_it(
    vault: sealdoc.Vault, events: list[sealdoc.AuditEvent]
) -> None:
    with serving(DocumentApp(vault, authorize=allow)) as (url, _), httpx.Client() as client:
        client.get(f"{url}/C-1/statement", headers={"range": "bytes=0-9,20-29"})
        client.get(f"{url}/C-1/statement", headers={"range": "bytes=999999-"})
    served = served_events(events)
    assert [(e.outcome, e.byte_range) for e in served] == [
        ("ok", "0-9,20-29"),
        ("unsatisfiable", ""),
    ]
    text = repr(served) + repr([e.as_dict() for e in events])
    assert PLAIN[:16].hex() not in text
    assert "Zq-s3cr3t" not in text


def test_true_is_the_portal_and_bad_grants_fail_closed(vault: sealdoc.Vault) -> None:
    with serving(DocumentApp(vault, authorize=lambda *_: True)) as (url, _):
        assert httpx.get(f"{url}/C-1/statement").content == PLAIN
    with serving(DocumentApp(vault, authorize=lambda *_: 0)) as (url, _):
        assert httpx.get(f"{url}/C-1/statement").status_code == 404
    with pytest.raises(ValueError, match="device key"):
        Grant(channel="mobile")
    with pytest.raises(ValueError, match="unknown channel"):
        Grant(channel="fax")


def test_a_query_parameter_does_not_choose_the_channel(vault: sealdoc.Vault) -> None:
    with serving(DocumentApp(vault, authorize=allow)) as (url, _):
        r = httpx.get(f"{url}/C-1/statement", params={"channel": "email", "format": "html"})
    assert r.content == PLAIN
    assert r.headers["content-type"] == "text/plain; charset=utf-8"


# -- hostile requests --------------------------------------------------------------------


def _raw_request(url: str, target: bytes, headers: bytes = b"") -> int:
    """Send a request line as it is (httpx would normalise the path); the status code."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(
            b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headers + b"\r\n"
        )
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1])


HOSTILE_PATHS = [
    b"/C-1/../C-2/statement",
    b"/../C-1/statement",
    b"/C-1/%2e%2e/C-2/statement",
    b"/C-1%2Fstatement",
    b"/C-1%2fstatement",
    b"/C-1%5Cstatement",
    b"/C-1/statement%00",
    b"/C-1/%0astatement",
    b"/C-1/%1bstatement",
    b"/C-1//statement",
    b"/",
    b"/" + b"a" * 600,
    b"/%ff%fe",
    b"/C-1/statement%E2%80%AE",
]
HOSTILE_RANGES = [
    (b"bytes=-1-2", 400),
    (b"bytes=--5", 416),  # a negative offset
    (b"bytes=5-3", 400),
    (b"bytes=99999999999999999999999999-", 416),  # a huge one
    (b"bytes=" + b",".join(b"%d-%d" % (i, i + 5) for i in range(1000)), 400),
    (b"bytes=\x01", 400),
    (b"bytes=" + b"9" * 5000 + b"-", 400),  # past Python's int() digit limit
    (b"bytes=0-5,3-9,1-2", 206),  # overlapping: merged, as FileResponse does
    (b"bytes=-99999999999999", 206),  # a suffix longer than the document: all of it
]


def test_hostile_requests_get_a_clean_4xx(vault: sealdoc.Vault) -> None:
    with serving(DocumentApp(vault, authorize=allow)) as (url, records):
        for target in HOSTILE_PATHS:
            assert _raw_request(url, target) == 404, target
        for value, status in HOSTILE_RANGES:
            got = _raw_request(url, b"/C-1/statement", b"Range: " + value + b"\r\n")
            assert got == status, value[:40]
    assert not tracebacks(records)
    assert not [r for r in records if r.levelname == "ERROR"]


# -- stores: a local folder above, S3 (moto's server) here -------------------------------


def test_serves_from_s3(moto_endpoint: str, ring: sealdoc.MemoryKeyring) -> None:
    bucket = new_bucket(moto_endpoint)
    vault = sealdoc.Vault(
        f"s3://{bucket}/vault",
        keys=ring,
        storage_options=s3_options(moto_endpoint),
        segment_size=SEGMENT,
    )
    vault.put("C-1/statement", PLAIN, context=CONTEXT)
    with serving(DocumentApp(vault, authorize=allow)) as (url, records), httpx.Client() as c:
        whole = c.get(f"{url}/C-1/statement")
        part = c.get(f"{url}/C-1/statement", headers={"range": "bytes=2000-2999,7000-"})
        missing = c.get(f"{url}/C-1/nothing")
    assert whole.content == PLAIN
    assert part.status_code == 206
    assert PLAIN[2000:3000] in part.content
    assert PLAIN[7000:] in part.content
    assert missing.status_code == 404
    assert not tracebacks(records)


# -- a document that fails to authenticate -----------------------------------------------


def test_a_tampered_segment_ends_the_body_without_releasing_it(
    vault: sealdoc.Vault, events: list[sealdoc.AuditEvent]
) -> None:
    sealed = bytearray(vault._read_sealed("C-1/statement"))
    header_len = len(sealed) - (len(PLAIN) + 11 * 16)
    sealed[header_len + 5 * (SEGMENT + 16) + 7] ^= 1  # one bit of segment 5
    vault._write_sealed("C-1/statement", bytes(sealed))
    with serving(DocumentApp(vault, authorize=allow)) as (url, records), httpx.Client() as c:
        early = c.get(f"{url}/C-1/statement", headers={"range": "bytes=0-2047"})
        assert (early.status_code, early.content) == (206, PLAIN[:2048])
        received: list[bytes] = []

        def read_all() -> None:
            with c.stream("GET", f"{url}/C-1/statement") as whole:
                received.extend(whole.iter_raw())

        with pytest.raises(httpx.RemoteProtocolError):
            read_all()
        got = b"".join(received)  # authenticated bytes before the bad segment, none of it
        assert PLAIN.startswith(got)
        assert len(got) <= 5 * SEGMENT
        with pytest.raises(httpx.RemoteProtocolError, match="received 0 bytes"):
            c.get(f"{url}/C-1/statement", headers={"range": "bytes=5200-5300"})
    assert not tracebacks(records)
    warnings = [r.getMessage() for r in records if r.name == "sealdoc.serve"]
    assert warnings
    assert all("cannot open" in w or "stopped" in w for w in warnings)
    outcomes = [e.outcome for e in events if e.operation == "serve"]
    assert outcomes == ["ok", "failed", "failed"]


def test_a_store_that_is_down_is_a_clean_503(
    ring: sealdoc.MemoryKeyring, events: list[sealdoc.AuditEvent], moto_endpoint: str
) -> None:
    """moto_endpoint sets the fake credentials; this test stops a server of its own."""
    from moto.server import ThreadedMotoServer

    own = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    own.start()
    host, port = own.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    bucket = new_bucket(endpoint)
    options = s3_options(endpoint) | {
        "config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 1},
    }
    vault = sealdoc.Vault(f"s3://{bucket}/v", keys=ring, storage_options=options)
    vault.put("C-1/statement", PLAIN, context=CONTEXT)
    with serving(DocumentApp(vault, authorize=allow)) as (url, records):
        assert httpx.get(f"{url}/C-1/statement").content == PLAIN
        own.stop()  # the store goes away
        r = httpx.get(f"{url}/C-1/statement", timeout=60)
    assert (r.status_code, r.content) == (503, b"Service Unavailable")
    assert not tracebacks(records)
    warnings = [x.getMessage() for x in records if x.name == "sealdoc.serve"]
    assert len(warnings) == 1
    assert warnings[0].startswith("cannot serve C-1/statement: ")
    assert [e.outcome for e in events if e.operation == "serve"] == ["ok", "failed"]


def test_the_log_check_sees_a_traceback(vault: sealdoc.Vault) -> None:
    """What `not tracebacks(records)` guards against above: a bug in authorize shows."""

    def broken(request: Request, doc_id: str, header: Any) -> Grant:
        raise RuntimeError("a bug in the service's authorize")

    with serving(DocumentApp(vault, authorize=broken)) as (url, records):
        assert httpx.get(f"{url}/C-1/statement").status_code == 500
    assert tracebacks(records)


def test_a_corrupt_document_is_a_404_to_a_caller_nobody_authorized(
    vault: sealdoc.Vault, tmp_path: Path, events: list[sealdoc.AuditEvent]
) -> None:
    """Before authorize has run, a header that does not parse must not answer 500:
    that would tell any caller that the id exists (review of the serve merge)."""
    path = tmp_path / "vault" / vault.path_of("C-2/statement")
    path.write_bytes(b"\0\0\0\0" + path.read_bytes()[4:])

    def deny(request: Request, doc_id: str, header: Any) -> bool:
        return False

    with serving(DocumentApp(vault, authorize=deny)) as (url, records):
        corrupt = httpx.get(f"{url}/C-2/statement")
        missing = httpx.get(f"{url}/C-2/no-such-statement")
        corrupt_head = httpx.head(f"{url}/C-2/statement")
        missing_head = httpx.head(f"{url}/C-2/no-such-statement")
    for a, b in ((corrupt, missing), (corrupt_head, missing_head)):
        assert (a.status_code, a.content) == (b.status_code, b.content) == (404, a.content)
        assert dict(a.headers) | {"date": ""} == dict(b.headers) | {"date": ""}
    assert not tracebacks(records)
    assert [e.outcome for e in events if e.operation == "serve"] == [
        "failed",
        "missing",
        "failed",
        "missing",
    ]


@pytest.mark.parametrize(
    "hostile",
    [
        'a"; filename=evil.exe; x="',  # ends the quoted string
        "..\\..\\statement.pdf",  # a Windows path
        "statement\u3164\u3164\u3164.pdf",  # Hangul fillers: print as nothing
        "statement\u115f.pdf",
        "statement\u034f\ufe0f.pdf",  # combining grapheme joiner, a variation selector
        "statement\U000e0100.pdf",  # an ideographic variation selector
    ],
)
def test_a_hostile_filename_cannot_spoof_the_saved_name(
    tmp_path: Path, ring: sealdoc.MemoryKeyring, hostile: str
) -> None:
    """The filename comes from a header a document's author wrote: what 3.6 allows but
    shows escaped (invisible fillers, variation selectors) must not reach a save dialog."""
    v = sealdoc.Vault(f"file://{tmp_path}/v", keys=ring)
    v.put("C-1/doc", b"%PDF-1.4 statement", context={"filename": hostile})
    with serving(DocumentApp(v, authorize=allow)) as (url, _):
        r = httpx.get(f"{url}/C-1/doc")
    assert r.status_code == 200
    value = r.headers["content-disposition"]
    shown = urllib.parse.unquote(value.split("''", 1)[1]) if "''" in value else value
    assert shown.count('"') <= 2
    assert "\\" not in shown
    assert sealdoc._text.safe(shown) == shown, shown  # nothing left that safe() would escape


def test_a_document_over_the_kdf_budget_is_a_500_not_retry_later(tmp_path: Path) -> None:
    """A KdfBudgetError will never pass on a retry: 500 as for a document that does not
    open, not the 503 of a store that is down (review of the serve merge)."""
    secret = "vq9Lx#mZ2-kTp7!wQe"
    sealer = sealdoc.Vault(
        f"file://{tmp_path}/v", keys=Password(secret, memory_kib=32 * 1024, iterations=16)
    )
    sealer.put("C-1/doc", b"statement")
    vault = sealdoc.Vault(f"file://{tmp_path}/v", keys=Password(secret))  # the service budget
    with serving(DocumentApp(vault, authorize=allow)) as (url, records):
        r = httpx.get(f"{url}/C-1/doc")
    assert (r.status_code, r.content) == (500, b"Internal Server Error")
    assert not tracebacks(records)


@pytest.mark.parametrize(
    "context",
    [
        {"media_type": "text/html"},
        {"content_type": "application/xhtml+xml"},
        {"filename": "statement.svg"},  # image/svg+xml, guessed from the name
        {"filename": "statement.html"},
    ],
)
def test_a_document_a_browser_would_script_is_never_a_page_of_the_portal(
    tmp_path: Path, ring: sealdoc.MemoryKeyring, context: dict[str, str]
) -> None:
    """The context names the type: shown inline as HTML or SVG, a document's script
    would run as the portal's origin, with its cookies (review of the serve merge)."""
    v = sealdoc.Vault(f"file://{tmp_path}/v", keys=ring)
    v.put(
        "C-1/doc",
        b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
        context=context,
    )
    with serving(DocumentApp(v, authorize=allow)) as (url, _):
        whole = httpx.get(f"{url}/C-1/doc")
        part = httpx.get(f"{url}/C-1/doc", headers={"range": "bytes=0-9"})
    for r in (whole, part):
        assert r.headers["content-disposition"].startswith("attachment;")
        assert r.headers["content-security-policy"] == "sandbox; default-src 'none'"


def test_a_pdf_is_still_shown_inline_without_a_sandbox(vault: sealdoc.Vault) -> None:
    vault.put("C-1/pdf", b"%PDF-1.4 statement", context={"filename": "s.pdf"})
    with serving(DocumentApp(vault, authorize=allow)) as (url, _):
        r = httpx.get(f"{url}/C-1/pdf")
    assert r.headers["content-disposition"].startswith("inline;")
    assert "content-security-policy" not in r.headers

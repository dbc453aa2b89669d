"""DocumentApp: the ASGI app a portal or mobile backend mounts to serve sealed documents."""

from __future__ import annotations

import inspect
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, Router
from starlette.types import Receive, Scope, Send

from .. import _audit
from .._html import export_html, html_size_problem
from .._names import check_doc_id
from .._pdf import export_pdf
from .._text import safe
from ..exceptions import (
    DecryptionError,
    DocumentNotFoundError,
    FormatError,
    InvalidDocumentIdError,
    KdfBudgetError,
    SealdocError,
)
from . import _http
from ._body import BodySender
from ._grant import Grant, as_grant
from ._source import Opened, StaleHeaderError, source_for

logger = logging.getLogger("sealdoc.serve")

Authorize = Callable[[Request, str, Any], Any]
"""``authorize(request, doc_id, header)``: a Grant or True serves, falsy refuses; may be async."""
EmailPassword = Callable[[Request, str, Grant], Any]
"""``email_password(request, doc_id, grant)``: the email copy's password; may be async."""

_CHUNK = 64 * 1024
_NOT_FOUND = "Not Found"  # Starlette's own 404 body: a refusal and a missing id look alike
# A document that is there but will never open as it is: not a 503 (retry later).
_CANNOT_OPEN = (DecryptionError, FormatError, KdfBudgetError)
# Percent-encoded separators would name another path once decoded: never a doc id.
_ENCODED_SEPARATORS = (b"%2f", b"%5c")


async def _call(fn: Callable[..., Any], *args: Any) -> Any:
    value = fn(*args)
    return await value if inspect.isawaitable(value) else value


def _not_found() -> Response:
    return PlainTextResponse(_NOT_FOUND, status_code=404)


class DocumentApp:
    """Serves the documents of ``vault`` at ``GET /{doc_id}``, to whoever ``authorize`` lets.

    ``vault`` is a :class:`sealdoc.Vault` (its blocking reads run in at most
    ``threads`` worker threads) or a :class:`sealdoc.aio.AsyncVault`.
    ``authorize(request, doc_id, header)`` (sync or async) sees the public
    header (its ``context``: tenant, customer, document type) before any key
    is used, and returns a :class:`Grant` (or ``True``: the portal channel)
    to serve, or a falsy value to refuse; a refusal is the same 404 as a
    missing document. ``email_password(request, doc_id, grant)`` gives the
    password of an email copy. Every request for a document is one audit
    event (operation ``serve``). ``disposition`` is the portal's
    Content-Disposition type (``inline``: a browser shows the document).
    ``header_cache`` (an AsyncVault only) is how many documents' authenticated
    headers are kept, each checked against the stored version on every
    request (docs/serving.md); 0 keeps none.
    """

    def __init__(
        self,
        vault: object,
        *,
        authorize: Authorize,
        email_password: EmailPassword | None = None,
        disposition: str = "inline",
        threads: int = 16,
        header_cache: int = 1024,
    ) -> None:
        if authorize is None or not callable(authorize):
            raise TypeError(
                "DocumentApp needs authorize=: a callable(request, doc_id, header) that returns "
                "a Grant to serve (it denies by default; there is no open mode)"
            )
        if email_password is not None and not callable(email_password):
            raise TypeError("email_password must be a callable(request, doc_id, grant)")
        if disposition not in ("inline", "attachment"):
            raise ValueError("disposition is 'inline' or 'attachment'")
        self._source = source_for(vault, threads=threads, header_cache=header_cache)
        self._authorize = authorize
        self._email_password = email_password
        self._disposition = disposition
        self._router = Router(
            routes=[Route("/{doc_id:path}", self._endpoint, methods=["GET", "HEAD"])]
        )

    def __repr__(self) -> str:
        return f"<sealdoc DocumentApp over {type(self._source).__name__}>"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._router(scope, receive, send)

    # -- one request --------------------------------------------------------------------

    async def _endpoint(self, request: Request) -> Response | BodySender:
        audit = _Audit(doc_id=str(request.path_params.get("doc_id", "")))
        try:
            return await self._answer(request, audit, fresh=False)
        except StaleHeaderError:
            # A cached header was not the stored version's (found before
            # anything was sent): once more, read afresh and authorized again.
            return await self._answer(request, audit, fresh=True)

    async def _answer(
        self, request: Request, audit: _Audit, *, fresh: bool
    ) -> Response | BodySender:
        try:
            doc_id = self._doc_id(request)
            doc = await self._source.open(doc_id, fresh=fresh)
        except SealdocError as exc:
            return self._unopened(audit, exc)
        try:
            audit.context = doc.header.context
            grant = as_grant(await _call(self._authorize, request, doc_id, doc.header))
            if grant is None:
                # a refusal from a cached header stands only if it is still the stored one
                await doc.current()
                await doc.aclose()
                audit.emit("denied")
                return _not_found()
            audit.subject, audit.channel = grant.subject, grant.channel
            if grant.channel == "portal":
                return await self._portal(request, doc_id, doc, audit)
            return await self._copy(request, doc_id, doc, grant, audit)
        except SealdocError as exc:
            await doc.aclose()
            return self._failed(audit, exc)
        except BaseException:
            await doc.aclose()
            raise

    def _doc_id(self, request: Request) -> str:
        raw = request.scope.get("raw_path") or b""
        if any(sep in raw.lower() for sep in _ENCODED_SEPARATORS):
            raise InvalidDocumentIdError("a doc id in a URL has no percent-encoded separators")
        return check_doc_id(request.path_params["doc_id"])

    def _unopened(self, audit: _Audit, exc: SealdocError) -> Response:
        """A document that did not open, before anyone was authorized to know it exists."""
        if isinstance(exc, DocumentNotFoundError | InvalidDocumentIdError):
            audit.emit("missing")
            return _not_found()
        failed = self._failed(audit, exc)
        # A document that is there but does not parse (or, from an async vault,
        # does not open) answers as a missing one: a 500 would tell any caller
        # which ids exist. A store that is down is down for every id (503).
        return _not_found() if isinstance(exc, _CANNOT_OPEN) else failed

    def _failed(self, audit: _Audit, exc: SealdocError) -> Response:
        """A document that is there but cannot be served: a store, key or format failure."""
        audit.emit("failed", detail=type(exc).__name__)
        logger.warning("cannot serve %s: %s", safe(audit.doc_id), safe(exc))
        if isinstance(exc, _CANNOT_OPEN):
            return PlainTextResponse("Internal Server Error", status_code=500)
        return PlainTextResponse("Service Unavailable", status_code=503)

    # -- the portal: plaintext with ranges -------------------------------------------------

    async def _portal(
        self, request: Request, doc_id: str, doc: Opened, audit: _Audit
    ) -> Response | BodySender:
        size = await doc.unlock()
        context = doc.header.context
        filename = _http.filename_of(context, doc_id)
        media_type = _http.content_type(_http.media_type_of(context, filename))
        active = _http.is_active(media_type)
        disposition = "attachment" if active else self._disposition
        headers = {
            "accept-ranges": "bytes",
            "cache-control": "private, no-store",
            "content-disposition": _http.content_disposition(disposition, filename),
            "etag": doc.etag,
            "x-content-type-options": "nosniff",
        }
        if active:  # never shown as a page of the portal's origin, even if opened
            headers["content-security-policy"] = _http.SANDBOX
        early = self._conditions(request, doc.etag, headers)
        if early is None:
            answer = _http.RangeAnswer()
            if "range" in request.headers and _http.use_range(
                request.headers.get("if-range"), doc.etag
            ):
                answer = _http.parse_range(request.headers["range"], size)
            if answer.status == 400:
                early = PlainTextResponse(answer.message, status_code=400), "bad-range"
            elif answer.status == 416:
                early = (
                    PlainTextResponse(
                        status_code=416, headers={"content-range": f"bytes */{size}"}
                    ),
                    "unsatisfiable",
                )
        head = request.method == "HEAD"
        body = None if early is not None or head else (answer.ranges or [(0, size)])[0]
        # the length proven and the version current before any answer is sent
        await doc.ready(body)
        if early is not None:
            await doc.aclose()
            audit.emit(early[1])
            return early[0]
        done = self._closer(doc, audit)
        if not answer.ranges:
            headers.update({"content-type": media_type, "content-length": str(size)})
            parts = None if head else (lambda: doc.chunks(0, size))
            return BodySender(200, _raw(headers), parts, done)
        audit.byte_range = ",".join(f"{start}-{end - 1}" for start, end in answer.ranges)
        if len(answer.ranges) == 1:
            start, end = answer.ranges[0]
            headers.update(
                {
                    "content-type": media_type,
                    "content-range": f"bytes {start}-{end - 1}/{size}",
                    "content-length": str(end - start),
                }
            )
            parts = None if head else (lambda: doc.chunks(start, end))
            return BodySender(206, _raw(headers), parts, done)
        boundary = secrets.token_hex(13)  # as FileResponse: 104 bits, like the browsers'
        headers.update(
            {
                "content-type": f"multipart/byteranges; boundary={boundary}",
                "content-length": str(
                    _http.multipart_length(answer.ranges, boundary, media_type, size)
                ),
            }
        )

        async def multipart() -> AsyncIterator[bytes]:
            for start, end in answer.ranges:
                yield _http.multipart_part_header(boundary, media_type, start, end, size)
                async for chunk in doc.chunks(start, end):
                    yield chunk
                yield b"\r\n"
            yield f"--{boundary}--".encode("latin-1")

        return BodySender(206, _raw(headers), None if head else multipart, done)

    def _conditions(
        self, request: Request, etag: str, headers: dict[str, str]
    ) -> tuple[Response, str] | None:
        """If-Match (412) and If-None-Match (304), before any range (RFC 9110 13.2.2)."""
        if _http.if_match_fails(request.headers.get("if-match"), etag):
            return PlainTextResponse("Precondition Failed", status_code=412), "precondition-failed"
        if _http.not_modified(request.headers.get("if-none-match"), etag):
            kept = {k: headers[k] for k in ("etag", "cache-control")}
            return Response(status_code=304, headers=kept), "not-modified"
        return None

    def _closer(self, doc: Opened, audit: _Audit) -> Callable[[str], Awaitable[None]]:
        async def done(outcome: str) -> None:
            await doc.aclose()
            audit.emit(outcome)

        return done

    # -- mobile and email: a copy for the customer only ------------------------------------

    async def _copy(
        self, request: Request, doc_id: str, doc: Opened, grant: Grant, audit: _Audit
    ) -> BodySender:
        """A copy for the customer only: whole (no ranges), never cached, streamed."""
        name = _http.filename_of(doc.header.context, doc_id).rsplit(".", 1)[0]
        head = request.method == "HEAD"
        if grant.channel == "mobile":
            await doc.unlock()
            await doc.ready(None)
            # Sealed as it is sent: its length is known at the end only (chunked).
            headers = _copy_headers("application/vnd.sealdoc", name + ".sdoc")
            try:
                sealing = doc.copy_for(grant.recipients)
            except ValueError as exc:  # a bad key URI, or one of the vault's own keys
                raise FormatError(f"the mobile grant's recipients: {exc}") from None
            copy = None if head else (lambda: sealing)
            return BodySender(200, _raw(headers), copy, self._closer(doc, audit))
        if self._email_password is None:
            raise FormatError(
                "an email grant needs DocumentApp(email_password=...): no password to seal with"
            )
        password = await _call(self._email_password, request, doc_id, grant)
        if not isinstance(password, str) or not password:
            raise FormatError("email_password returned no password")
        size = await doc.unlock()
        too_large = html_size_problem(size) if grant.email_format == "html" else None
        if too_large is not None:  # before the whole document is read into memory
            raise FormatError(too_large)
        await doc.ready(None)
        plaintext = await doc.plaintext()
        await doc.aclose()
        if grant.email_format == "pdf":
            body = await anyio.to_thread.run_sync(lambda: export_pdf(plaintext, password=password))
            headers = _copy_headers("application/pdf", name + ".pdf")
        else:
            filename = _http.filename_of(doc.header.context, doc_id)
            body = await anyio.to_thread.run_sync(
                lambda: export_html(plaintext, password=password, filename=filename)
            )
            headers = _copy_headers("text/html; charset=utf-8", name + ".html")
        headers["content-length"] = str(len(body))
        view = memoryview(body)

        async def parts() -> AsyncIterator[bytes]:
            for offset in range(0, len(view), _CHUNK):
                yield bytes(view[offset : offset + _CHUNK])

        async def done(outcome: str) -> None:
            audit.emit(outcome)

        return BodySender(200, _raw(headers), None if head else parts, done)


def _copy_headers(media_type: str, filename: str) -> dict[str, str]:
    return {
        "cache-control": "private, no-store",
        "content-disposition": _http.content_disposition("attachment", filename),
        "content-type": media_type,
        "x-content-type-options": "nosniff",
    }


def _raw(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


class _Audit:
    """The one audit event of a request, filled in as the request goes."""

    def __init__(self, doc_id: str) -> None:
        self.doc_id = safe(doc_id)
        self.context: Any = {}
        self.subject = ""
        self.channel = ""
        self.byte_range = ""
        self._sent = False

    def emit(self, outcome: str, *, detail: str = "") -> None:
        if self._sent or not _audit.enabled():
            return
        self._sent = True
        _audit.emit(
            _audit.AuditEvent(
                operation="serve",
                outcome=outcome,
                context=self.context,
                detail=safe(detail),
                doc_id=self.doc_id,
                subject=safe(self.subject),
                channel=self.channel,
                byte_range=self.byte_range,
            )
        )

"""The two calls a bulk job makes per small document, without botocore's per-call machinery.

A rewrap of a document smaller than a part is one ranged GetObject and one
conditional PutObject. Through a botocore client each costs about 1.3 ms of
client CPU on a 2-core VM (measured, docs/performance.md): the event hooks,
parameter validation, endpoint rules, user-agent string and response parser
run for every call, far more than the request itself needs. At millions of
documents that decides how many cores a rotation takes.

This module sends those two requests itself, with botocore's own parts:

* the URL botocore built for the same bucket (its endpoint rules, addressing
  style, ``endpoint_url``), learnt from botocore's first real call of the
  store, with only the object key changed (percent-encoded as botocore's
  serializer does);
* botocore's signer (``request_signer.get_auth_instance``: the credentials
  chain, refreshed as botocore refreshes it, and SigV4 with a signed
  payload hash);
* the client's own HTTP session (its connection pool, TLS verification,
  client certificate, proxies and timeouts), so both paths share connections.

It handles success only; the caller (``_s3_client``) sends any other call
through botocore, which parses the error, follows redirects and retries as
configured. What each outcome leads to:

* a 2xx with the headers expected: the answer;
* no answer because the request never left (no connection): botocore's turn;
* no answer after the request was sent (a read time-out, a connection
  closed): for a GET botocore's turn; for a PutObject :data:`LOST`, as the
  write may have landed, and the caller finds out before anything repeats it;
* a changed or missing object (412, 404 NoSuchKey): the error botocore
  raises for that answer, without asking again;
* any other error answer: botocore's turn, since it reports the error as before.
  One whose S3 code says this path is wrong for the store (a redirect, a
  signature or region refused) turns it off for the store, with a warning;
  a throttle (503, SlowDown) leaves the next calls to botocore, and its
  back-off, for a few seconds;
* anything unexpected in this module (an answer without its headers,
  another botocore): off for the store, with a warning.

A PutObject carries ``x-amz-checksum-crc32`` (and
``x-amz-sdk-checksum-algorithm``) as a header, so S3 rejects a body damaged
on the way and keeps the checksum, unless the client was configured with
``request_checksum_calculation="when_required"``. It is used only where
nothing but the bucket, key, range, ``If-Match`` and body is sent: a store
with ``s3_additional_kwargs`` (server-side encryption headers and the
like), an anonymous client, or a signature other than SigV4 keeps botocore
for every call.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
import time
import zlib
from typing import Any, Final
from urllib.parse import urlsplit

logger = logging.getLogger("sealdoc.store.s3")

_SIGV4 = ("s3v4", "v4")
# S3 error codes that mean the route or its signature is wrong for this store
PATH_WRONG: Final = frozenset(
    {
        "AuthorizationHeaderMalformed",
        "SignatureDoesNotMatch",
        "PermanentRedirect",
        "TemporaryRedirect",
        "Redirect",
        "InvalidRequest",
        "IllegalLocationConstraintException",
        "InvalidAccessKeyId",
    }
)
# Answers about the object itself, the same whoever asks again
_FINAL: Final = {
    (412, "PreconditionFailed"): "At least one of the pre-conditions you specified did not hold",
    (404, "NoSuchKey"): "The specified key does not exist.",
}
THROTTLE_PAUSE_S: Final = 5.0
_clock = time.monotonic  # a module attribute, so a test can move time for this module alone
_CODE = re.compile(rb"<Code>([^<]{1,64})</Code>")


class Lost:
    """A PutObject sent with no answer back: it may have landed."""

    def __init__(self, crc: str | None) -> None:
        self.crc = crc  # the checksum it carried, to recognise it in the store


class Route:
    """Where botocore sends a bucket's object requests and how it signs them."""

    def __init__(self, bucket: str, base: str, signer: Any, region: str, name: str) -> None:
        self.bucket = bucket
        self.base = base  # the URL of the bucket's object with an empty key
        self.signer = signer
        self.region = region
        self.name = name


class Probe:
    """Learns a :class:`Route` from one botocore call, by its ``before-sign`` event."""

    def __init__(self) -> None:
        self._seen = threading.local()
        self.active = True

    def before_sign(self, request: Any, operation_name: str = "", **kwargs: Any) -> None:
        if not self.active or operation_name not in ("GetObject", "PutObject"):
            return
        # only what a route needs: holding the request would hold its body
        signing = dict(request.context.get("signing", {}))
        url = str(request.url).partition("?")[0]
        self._seen.value = (url, signing, kwargs)

    def route(self, bucket: str, key: str) -> Route | None:
        """The route of the call this thread just made for ``key``, if the fast path fits it."""
        seen = getattr(self._seen, "value", None)
        self._seen.value = None
        if seen is None:
            return None
        url, signing, kwargs = seen
        if kwargs.get("signature_version") not in _SIGV4 or signing.get("request_credentials"):
            self.active = False  # S3 Express, SigV4a or anonymous: botocore's alone, for good
            return None
        from botocore.utils import percent_encode  # noqa: PLC0415 - botocore is optional

        quoted = percent_encode(key, safe="/~")
        region = signing.get("region") or kwargs.get("region_name")
        name = signing.get("signing_name") or kwargs.get("signing_name") or "s3"
        if not url.endswith("/" + quoted) or not region:
            return None
        return Route(bucket, url[: len(url) - len(quoted)], kwargs["request_signer"], region, name)


class Direct:
    """GetObject and PutObject on one route; None where botocore must answer instead."""

    def __init__(self, route: Route, http: Any, agent: str, *, checksum: bool = True) -> None:
        self._route = route
        self._http = http
        self._agent = agent
        self._checksum = checksum
        self._paused_until = 0.0
        self.on = True

    def usable(self, bucket: str) -> bool:
        return self.on and bucket == self._route.bucket and _clock() >= self._paused_until

    def get(self, key: str, byte_range: str, if_match: str | None) -> dict[str, Any] | None:
        headers = {"Range": byte_range}
        if if_match is not None:
            headers["If-Match"] = if_match
        try:
            response = self._send("GET", key, headers, b"")
        except _NotSentError:
            return None
        except _NoAnswerError:
            return None  # a GET is safe to ask again
        if response.status_code != 206:
            self._refused(response, "GetObject")
            return None
        try:
            head = response.headers
            return {
                "ETag": str(head["ETag"]),
                "ContentRange": str(head["Content-Range"]),
                "Body": _Body(bytes(response.content)),
            }
        except Exception as exc:  # an answer this module cannot read
            self._off(f"a 206 answer it could not read ({type(exc).__name__})")
            return None

    def put(self, key: str, body: bytes, if_match: str | None) -> dict[str, Any] | Lost | None:
        headers: dict[str, str] = {}
        crc = None
        if self._checksum:
            crc = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode("ascii")
            headers["x-amz-checksum-crc32"] = crc
            headers["x-amz-sdk-checksum-algorithm"] = "CRC32"
        if if_match is not None:
            headers["If-Match"] = if_match
        try:
            response = self._send("PUT", key, headers, body)
        except _NotSentError:
            return None
        except _NoAnswerError:
            return Lost(crc)
        if response.status_code != 200:
            self._refused(response, "PutObject")
            return None
        etag = response.headers.get("ETag")
        if not etag:
            self._off("a PutObject answer without an ETag")
            return Lost(crc)  # it was written: the caller reads the version back
        return {"ETag": str(etag)}

    def _send(self, method: str, key: str, headers: dict[str, str], body: bytes) -> Any:
        try:
            from botocore.awsrequest import AWSRequest  # noqa: PLC0415 - botocore is optional
            from botocore.exceptions import (  # noqa: PLC0415
                ConnectTimeoutError,
                EndpointConnectionError,
                HTTPClientError,
            )
            from botocore.utils import percent_encode  # noqa: PLC0415

            route = self._route
            url = route.base + percent_encode(key, safe="/~")
            headers["User-Agent"] = self._agent
            request = AWSRequest(method=method, url=url, headers=headers, data=body)
            route.signer.get_auth_instance(
                signing_name=route.name, region_name=route.region, signature_version="s3v4"
            ).add_auth(request)
            prepared = request.prepare()
        except Exception as exc:  # botocore is not what this module knows
            self._off(f"it could not build a request ({type(exc).__name__})")
            raise _NotSentError from exc
        try:
            return self._http.send(prepared)
        except (EndpointConnectionError, ConnectTimeoutError) as exc:
            raise _NotSentError from exc  # never reached the store: botocore tries, and retries
        except HTTPClientError as exc:
            logger.debug("no answer to a direct %s: %s", method, type(exc).__name__)
            raise _NoAnswerError from exc
        except Exception as exc:  # another botocore's session
            self._off(f"its HTTP session failed ({type(exc).__name__})")
            raise _NoAnswerError from exc

    def _refused(self, response: Any, operation: str) -> None:
        """An error answer: botocore repeats the call; some answers change what comes next.

        A changed or missing object (412 PreconditionFailed, 404 NoSuchKey)
        is raised here as the ClientError botocore would raise for the same
        answer: asking again would cost a second request and say the same.
        """
        try:
            found = _CODE.search(bytes(response.content[:4096]))
        except Exception:  # the code is a hint only
            found = None
        code = found.group(1).decode("ascii", "replace") if found else ""
        status = int(response.status_code)
        if (status, code) in _FINAL:
            from botocore.exceptions import ClientError  # noqa: PLC0415 - botocore is optional

            error = {"Code": code, "Message": _FINAL[status, code]}
            raise ClientError(
                {"Error": error, "ResponseMetadata": {"HTTPStatusCode": status}}, operation
            )
        if code in PATH_WRONG or status in (301, 307):
            request_id = response.headers.get("x-amz-request-id", "")
            self._off(f"HTTP {status} {code} (request id {request_id or 'none'})")
        elif status == 503 or code == "SlowDown":
            self._paused_until = _clock() + THROTTLE_PAUSE_S

    def _off(self, why: str) -> None:
        if self.on:
            self.on = False
            host = urlsplit(self._route.base).hostname
            logger.warning(
                "S3 %s: direct object calls off for this store, botocore makes them all: %s",
                host,
                why,
            )


class _NotSentError(Exception):
    """The request did not reach the store."""


class _NoAnswerError(Exception):
    """The request may have reached the store; no answer came back."""


class _Body:
    """What botocore's streaming body offers the callers here: read() and close()."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self, size: int | None = None) -> bytes:
        cut = len(self._data) if size is None or size < 0 else size
        data, self._data = self._data[:cut], self._data[cut:]
        return data

    def close(self) -> None:
        self._data = b""

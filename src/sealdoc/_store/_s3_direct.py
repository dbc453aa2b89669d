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
  store, with only the object key changed;
* botocore's signer (``request_signer.get_auth_instance``: the credentials
  chain, refreshed as botocore refreshes it, and SigV4 as S3 wants it);
* the client's own HTTP session (its connection pool, TLS verification,
  proxies and timeouts), so the fast and the slow path share connections.

It handles success only. Any other answer (412, 404, 416, a redirect, a
throttle, a time-out) sends the same call again through botocore, which
parses the error, follows redirects and retries as configured: a GET is
safe to repeat, and a PutObject either carries ``If-Match`` (repeating one
that landed is a 412, a changed document, which the job re-reads) or writes
the same bytes again. An answer that says the fast path itself is wrong
(400, 301, 403) turns it off for the store. A PutObject carries
``x-amz-checksum-crc32``, as botocore's would, so S3 rejects a body damaged
on the way.

It is used only where nothing but the bucket, key, range, ``If-Match`` and
body is sent: a store with ``s3_additional_kwargs`` (server-side encryption
headers and the like), an anonymous client, or a signature other than
SigV4 keeps botocore for every call.
"""

from __future__ import annotations

import base64
import logging
import threading
import zlib
from typing import Any

logger = logging.getLogger("sealdoc.store.s3")

_SIGV4 = ("s3v4", "v4")
_OFF = frozenset({301, 307, 400, 403})  # the fast path's URL or signature is wrong here


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

    def before_sign(self, request: Any, operation_name: str = "", **kwargs: Any) -> None:
        if operation_name not in ("GetObject", "PutObject"):
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
            return None  # S3 Express, SigV4a or anonymous: botocore's alone
        from botocore.utils import percent_encode  # noqa: PLC0415 - botocore is optional

        quoted = percent_encode(key, safe="/~")
        if not url.endswith("/" + quoted):
            return None
        region = signing.get("region") or kwargs.get("region_name")
        name = signing.get("signing_name") or kwargs.get("signing_name") or "s3"
        if not region:
            return None
        return Route(bucket, url[: len(url) - len(quoted)], kwargs["request_signer"], region, name)


class Direct:
    """GetObject and PutObject on one route; None where botocore must answer instead."""

    def __init__(self, route: Route, http: Any, agent: str) -> None:
        self._route = route
        self._http = http
        self._agent = agent
        self.on = True

    def get(
        self, bucket: str, key: str, byte_range: str, if_match: str | None
    ) -> dict[str, Any] | None:
        if bucket != self._route.bucket:
            return None
        headers = {"Range": byte_range}
        if if_match is not None:
            headers["If-Match"] = if_match
        response = self._send("GET", key, headers, b"")
        if response is None or response.status_code != 206:
            self._check(response)
            return None
        head = response.headers
        return {
            "ETag": head["ETag"],
            "ContentRange": head.get("Content-Range"),
            "ContentLength": int(head["Content-Length"]),
            "Body": _Body(response.content),
        }

    def put(
        self, bucket: str, key: str, body: bytes, if_match: str | None
    ) -> dict[str, Any] | None:
        if bucket != self._route.bucket:
            return None
        crc = zlib.crc32(body).to_bytes(4, "big")
        headers = {"x-amz-checksum-crc32": base64.b64encode(crc).decode("ascii")}
        if if_match is not None:
            headers["If-Match"] = if_match
        response = self._send("PUT", key, headers, body)
        if response is None or response.status_code != 200:
            self._check(response)
            return None
        return {"ETag": response.headers["ETag"]}

    def _send(self, method: str, key: str, headers: dict[str, str], body: bytes) -> Any:
        from botocore.awsrequest import AWSRequest  # noqa: PLC0415 - botocore is optional
        from botocore.utils import percent_encode  # noqa: PLC0415

        route = self._route
        url = route.base + percent_encode(key, safe="/~")
        headers["User-Agent"] = self._agent
        if method == "PUT" and url.startswith("https"):
            # TLS and a checksum protect the body: botocore signs no payload then either
            headers["X-Amz-Content-SHA256"] = "UNSIGNED-PAYLOAD"
        request = AWSRequest(method=method, url=url, headers=headers, data=body)
        try:
            route.signer.get_auth_instance(
                signing_name=route.name, region_name=route.region, signature_version="s3v4"
            ).add_auth(request)
            return self._http.send(request.prepare())
        except Exception:  # botocore repeats the call and reports what failed
            logger.debug("direct %s failed; botocore repeats it", method, exc_info=True)
            return None

    def _check(self, response: Any) -> None:
        if response is not None and response.status_code in _OFF:
            self.on = False
            logger.debug("direct S3 calls off for this store: HTTP %s", response.status_code)


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

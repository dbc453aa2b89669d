"""A blocking botocore client shared by the threads, set up as an s3fs file system's own.

s3fs runs every call on its one event-loop thread: each worker blocks in
``fsspec.asyn.sync`` while that thread builds, signs and parses the request,
so the loop caps the request rate and adds a thread hop per call. botocore's
blocking clients are thread-safe and need no loop, so the workers' requests
proceed side by side. One client per store, not one per thread: the engine
starts new worker threads for every bulk job, and building a client costs
5-30 ms of CPU (measured), which per-thread clients paid again each job; one
client also keeps one connection pool (``max_pool_connections``).

The client gets what s3fs would use: ``client_kwargs``, ``key`` / ``secret``
/ ``token``, ``endpoint_url`` (botocore reads ``AWS_ENDPOINT_URL`` itself when
none is given, as aiobotocore does), ``use_ssl``, ``config_kwargs`` with s3fs's
timeouts, ``anon``, and ``s3_additional_kwargs`` (server-side encryption and
the like) on every call, filtered to what each operation accepts. A file
system whose caller supplied their own aiobotocore session gets no client
here: its credentials live in that session, so s3fs's client is used.
"""

from __future__ import annotations

import logging
import re
import threading
from datetime import datetime
from typing import Any, cast

logger = logging.getLogger("sealdoc.store.s3")

_MD5_ETAG = re.compile(r'"[0-9a-f]{32}"')  # a single-part object's ETag, SSE-S3 or none
_LOCAL_ONLY_CONFIG = ("connector_args", "http_session_cls")  # aiobotocore's AioConfig only


class SharedClient:
    """``call(method, **kwargs)`` on one blocking botocore S3 client shared by all threads."""

    def __init__(self, session: Any, create: dict[str, Any], extra: dict[str, Any]) -> None:
        self._session = session
        self._create = create
        self._extra = extra
        self._lock = threading.Lock()
        self._client: Any = None
        self._accepted: dict[str, frozenset[str]] = {}

    def client(self) -> Any:
        if self._client is None:
            with self._lock:  # a botocore Session is not thread-safe; its clients are
                if self._client is None:
                    self._client = self._session.create_client("s3", **self._create)
        return self._client

    def get_whole(self, bucket: str, key: str, byte_range: str, if_match: str | None) -> Any:
        """A bounded ranged GetObject, its body read whole: ``(response, data)``."""
        kwargs = {"Bucket": bucket, "Key": key, "Range": byte_range}
        if if_match is not None:
            kwargs["IfMatch"] = if_match
        response = self.call("get_object", **kwargs)
        body = response["Body"]
        try:
            # read to its end, the connection goes back to the pool; close()
            # would drop it, and the next request would open a new one
            data = body.read()
        except BaseException:
            body.close()
            raise
        return response, data

    def call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        client = self.client()
        if self._extra:
            merged = {**self._extra, **kwargs}
            accepted = self._accepted.get(method)
            if accepted is None:
                operation = client.meta.method_to_api_mapping[method]
                shape = client.meta.service_model.operation_model(operation).input_shape
                accepted = frozenset(shape.members)
                self._accepted[method] = accepted
            kwargs = {
                k: v
                for k, v in merged.items()
                if k in accepted and not (k == "RequestPayer" and v is None)
            }
        result: dict[str, Any] = getattr(client, method)(**kwargs)
        return result


def _timestamp(value: str) -> datetime:
    """An S3 timestamp, ISO 8601 read by datetime; anything else by botocore's own parser."""
    try:
        # Python 3.10's fromisoformat does not read the "Z" S3 writes
        text = value[:-1] + "+00:00" if value.endswith("Z") else value
        parsed = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        from botocore.utils import parse_timestamp  # noqa: PLC0415 - optional, rare

        return cast("datetime", parse_timestamp(value))
    return parsed


def shared_client(fs: Any) -> SharedClient | None:
    """A client configured as ``fs``'s, or None where that cannot be done."""
    try:
        import botocore.session  # noqa: PLC0415 - optional: comes with s3fs's aiobotocore
        from botocore import UNSIGNED  # noqa: PLC0415
        from botocore.config import Config  # noqa: PLC0415
    except ImportError:
        return None
    if getattr(fs, "session", None) is not None and not getattr(fs, "_session_is_owned", True):
        return None  # the caller's own session holds the credentials
    try:
        client_kwargs = dict(fs.client_kwargs)
        init = {
            "aws_access_key_id": fs.key,
            "aws_secret_access_key": fs.secret,
            "aws_session_token": fs.token,
            "endpoint_url": fs.endpoint_url,
        }
        init = {k: v for k, v in init.items() if v is not None and v != client_kwargs.get(k)}
        if "use_ssl" not in client_kwargs:
            init["use_ssl"] = fs.use_ssl
        config_kwargs = {
            k: v for k, v in fs._prepare_config_kwargs().items() if k not in _LOCAL_ONLY_CONFIG
        }
        if fs.anon:
            for name in ("aws_access_key_id", "aws_secret_access_key", "aws_session_token"):
                init.pop(name, None)
                client_kwargs.pop(name, None)
            config_kwargs["signature_version"] = UNSIGNED
        session = botocore.session.Session(**fs.kwargs)  # what s3fs gives its AioSession
        # A listing page of 1,000 keys carries 1,000 timestamps, which botocore
        # parses with dateutil (about 0.1 ms each); S3 writes them in ISO 8601,
        # which datetime reads itself. Same values, as aws-cli does it.
        session.get_component("response_parser_factory").set_parser_defaults(
            timestamp_parser=_timestamp
        )
        create = {"config": Config(**config_kwargs), **init, **client_kwargs}
        extra = {**fs.s3_additional_kwargs, **getattr(fs, "req_kw", {})}
    except (AttributeError, TypeError, ValueError):
        return None  # an s3fs whose settings this module does not know: use its own client
    return SharedClient(session, create, extra)

"""An exclusive create on S3 whose answer was lost after it landed is reported as written.

Found in review: botocore repeats a PutObject that got no answer; with
``If-None-Match: *`` the repeat meets the object the first attempt made and
gets 412, which read as "already exists; nothing was written" although the
caller's own bytes were published (issue 19 item 10's rule, for create).
Against moto's server; the answer is lost in botocore's own send hook.
"""

from __future__ import annotations

from typing import Any

import fsspec
import pytest

from sealdoc._store.factory import store_for
from sealdoc.exceptions import DocumentExistsError

from .stores import new_bucket, s3_options


def _store(endpoint: str) -> Any:
    fs, root = fsspec.core.url_to_fs(f"s3://{new_bucket(endpoint)}/v", **s3_options(endpoint))
    return store_for(fs, root)


def _lose_first_answer(store: Any) -> list[int]:
    """Send the first PutObject for real, then raise as if its answer never came."""
    from botocore.exceptions import ReadTimeoutError

    client = store._clients.client()
    sent: list[int] = []

    def send(request: Any, **_: Any) -> Any:
        sent.append(1)
        if len(sent) == 1:
            client._endpoint.http_session.send(request)  # it lands
            raise ReadTimeoutError(endpoint_url=request.url)
        return None  # the repeat goes through botocore as usual

    client.meta.events.register("before-send.s3.PutObject", send)
    return sent


@pytest.mark.parametrize(
    "config", [{}, {"request_checksum_calculation": "when_required"}], ids=["crc", "none"]
)
def test_a_create_that_landed_is_reported_written(moto_endpoint: str, config: Any) -> None:
    fs, root = fsspec.core.url_to_fs(
        f"s3://{new_bucket(moto_endpoint)}/v", **s3_options(moto_endpoint), config_kwargs=config
    )
    store = store_for(fs, root)
    sent = _lose_first_answer(store)
    version = store.create("doc", lambda f: f.write(b"mine"))
    assert len(sent) == 2  # botocore repeated it
    head = store.read_head("doc", 16)
    assert (head.data, head.version) == (b"mine", version)


def test_a_create_another_writer_made_first_is_still_refused(moto_endpoint: str) -> None:
    store = _store(moto_endpoint)
    store.put("doc", lambda f: f.write(b"theirs"))
    with pytest.raises(DocumentExistsError):
        store.create("doc", lambda f: f.write(b"mine"))
    assert store.read_head("doc", 16).data == b"theirs"

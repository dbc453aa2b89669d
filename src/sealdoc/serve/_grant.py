"""What an authorize callable hands back: who may have the document, and through which channel."""

from __future__ import annotations

from typing import Any

import attrs

CHANNELS = ("portal", "mobile", "email")
EMAIL_FORMATS = ("pdf", "html")


def _tuple(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not hasattr(value, "__iter__"):
        return (value,)
    return tuple(value)


@attrs.frozen
class Grant:
    """A yes from ``authorize``, with what the service knows about the caller.

    ``True`` from ``authorize`` is the same as ``Grant()``: the portal
    channel, no subject. The channel is the service's decision, made in its
    own authorize callable; no query parameter can change it.
    """

    subject: str = ""
    """Who is served, for the audit event (a customer or session id; never a secret)."""
    channel: str = attrs.field(default="portal")
    """``portal`` (the plaintext, with ranges), ``mobile`` (a copy sealed for
    ``recipients``) or ``email`` (a password PDF or self-decrypting HTML page)."""
    recipients: tuple[Any, ...] = attrs.field(default=(), converter=_tuple)
    """For ``mobile``: the device keys (``X25519Recipient`` or key URIs) the copy is for."""
    email_format: str = "pdf"
    """For ``email``: ``pdf`` (the document must be a PDF) or ``html``."""

    @channel.validator
    def _check_channel(self, _: attrs.Attribute[str], value: str) -> None:
        if value not in CHANNELS:
            raise ValueError(f"unknown channel {value!r}: one of {', '.join(CHANNELS)}")

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.subject, str):
            raise TypeError("a grant's subject is a str")
        if self.channel == "mobile" and not self.recipients:
            raise ValueError("a mobile grant names the device key(s) the copy is sealed for")
        if self.channel != "mobile" and self.recipients:
            raise ValueError("recipients are for the mobile channel only")
        if self.email_format not in EMAIL_FORMATS:
            raise ValueError(f"email_format is one of {', '.join(EMAIL_FORMATS)}")


def as_grant(value: object) -> Grant | None:
    """What authorize returned, as a Grant; None for a refusal (anything falsy)."""
    if not value:
        return None
    if isinstance(value, Grant):
        return value
    if value is True:
        return Grant()
    raise TypeError(
        f"authorize returned {type(value).__name__}: return a sealdoc.serve.Grant, True, "
        "or a falsy value to refuse"
    )

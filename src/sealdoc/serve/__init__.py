"""Serving sealed documents over HTTP to every channel (docs/serving.md).

:class:`DocumentApp` is an ASGI app (Starlette) that a FastAPI or Starlette
service mounts: the portal gets the plaintext with HTTP ranges, a mobile app
a copy sealed for its device key, email a password PDF or self-decrypting
page. Needs the ``serve`` extra: ``pip install 'sealdoc[serve]'``.
"""

from ._app import DocumentApp
from ._grant import Grant

__all__ = ["DocumentApp", "Grant"]

"""A customer portal that shows each customer their own statements, straight from the vault.

Run: python examples/serve_portal.py (needs pip install 'sealdoc[serve]' fastapi httpx).
It mounts sealdoc's DocumentApp in a FastAPI app, starts it with uvicorn on
127.0.0.1 (a free port), asks for a few documents as two customers would,
prints what each got and the audit trail, and stops.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI, Request

import sealdoc
from sealdoc.serve import DocumentApp, Grant

# The portal's own sessions: in production, your session store or an OIDC token check.
SESSIONS = {"token-alice": "C-1029", "token-bob": "C-2048"}


def authorize(request: Request, doc_id: str, header: sealdoc.Header) -> Grant | None:
    """A customer sees the documents whose context names them; everyone else sees a 404."""
    token = request.headers.get("authorization", "").removeprefix("Bearer ")
    customer = SESSIONS.get(token)
    if customer is None or header.context.get("customer") != customer:
        return None
    return Grant(subject=customer)  # the portal channel: the plaintext, with ranges


def build(folder: Path) -> FastAPI:
    ring = sealdoc.MemoryKeyring()  # a LocalKeyring, KMS or HSM in production
    vault = sealdoc.Vault(f"file://{folder}/vault", keys=ring)
    for customer in SESSIONS.values():
        vault.put(
            f"{customer}/2026-11.txt",
            f"Statement 2026-11 for {customer}\nbalance: 1,234.56\n".encode() * 50,
            context={"customer": customer, "doc_type": "statement"},
        )
    app = FastAPI()
    app.mount("/documents", DocumentApp(vault, authorize=authorize))
    return app


def main(folder: Path) -> None:
    trail: list[str] = []

    def audit(event: sealdoc.AuditEvent) -> None:
        if event.operation == "serve":  # one per request; unwraps and others are events too
            trail.append(f"{event.doc_id} for {event.subject or '-'}: {event.outcome}")

    remove = sealdoc.add_audit_hook(audit)
    config = uvicorn.Config(build(folder), host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}/documents"
    alice = {"authorization": "Bearer token-alice"}
    try:
        with httpx.Client() as client:
            whole = client.get(f"{base}/C-1029/2026-11.txt", headers=alice)
            print(whole.status_code, whole.headers["content-type"], len(whole.content), "bytes")
            first_line = client.get(
                f"{base}/C-1029/2026-11.txt", headers={**alice, "range": "bytes=0-31"}
            )
            print(first_line.status_code, first_line.headers["content-range"], first_line.text)
            again = client.get(
                f"{base}/C-1029/2026-11.txt",
                headers={**alice, "if-none-match": whole.headers["etag"]},
            )
            print(again.status_code, "(not modified: the browser keeps what it has)")
            other = client.get(f"{base}/C-2048/2026-11.txt", headers=alice)
            print(other.status_code, "for Bob's statement: the same as a missing one")
            assert (whole.status_code, first_line.status_code, again.status_code) == (200, 206, 304)
            assert other.status_code == 404
    finally:
        server.should_exit = True
        thread.join(10)
        remove()
    print("\n".join(trail))


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        main(Path(tmp))

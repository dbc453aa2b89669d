"""Vectors for the post-quantum device wrap, format.md 8.6 (``mlkem768x25519``).

ML-KEM encapsulation draws fresh randomness inside ``cryptography`` and
offers no way to fix it, so unlike 8.3's fixed-ephemeral wraps these cannot
be recomputed byte for byte. The wrap made the first time for a given
``info`` is kept in scripts/hybrid_wraps.json and reused on every later
run, after checking that it still opens to the same DEK under the same
``info``; ``generate_vectors.py --check`` therefore stays exact, and a
change to the document (hence to ``info``) makes a new wrap, which --check
reports as a changed vector.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from vector_kit import raw_wrap

from sealdoc._wrap_ad import wrap_ad
from sealdoc.exceptions import NotMineError
from sealdoc.providers import AssociatedData, HybridIdentity, WrappedKey
from sealdoc.providers._hybrid import _SUITE

KIND = "mlkem768x25519"
_STORE = Path(__file__).resolve().parent / "hybrid_wraps.json"
OPEN = "open failure: "


def hybrid_seed(name: str) -> bytes:
    return hashlib.sha256(b"sealdoc test hybrid " + name.encode()).digest()


def hybrid_entry(name: str) -> dict[str, Any]:
    return {"kind": KIND, "key_id": "device", "version": 1, "seed": hybrid_seed(name).hex()}


class FrozenHybridRecipient:
    """An ``mlkem768x25519`` wrap that is the same on every run (see the module's doc)."""

    kind = KIND

    def __init__(self, recipient: str, label: str = "device", version: int = 1) -> None:
        self.identity = HybridIdentity(hybrid_seed(recipient), label=label)
        self.label, self.version = label, version

    def wrap(self, dek: bytes, ad: AssociatedData) -> WrappedKey:
        info = wrap_ad(KIND, self.label, self.version, ad.digest)
        key = hashlib.sha256(info).hexdigest()
        store = json.loads(_STORE.read_text()) if _STORE.exists() else {}
        if key in store:
            kept = WrappedKey(KIND, self.label, self.version, base64.b64decode(store[key]))
            try:
                if self._opens(kept, ad) == dek:
                    return kept
            except NotMineError:
                pass
        public = self.identity.to_recipient()._public
        payload = _SUITE.encrypt(dek, public, info=info)  # info with this version
        made = WrappedKey(KIND, self.label, self.version, payload)
        store[key] = base64.b64encode(made.payload).decode()
        _STORE.write_text(json.dumps(store, indent=1, sort_keys=True) + "\n")
        return made

    def _opens(self, wrapped: WrappedKey, ad: AssociatedData) -> bytes:
        # HybridIdentity declines versions other than 1, so the check is direct
        info = wrap_ad(KIND, self.label, self.version, ad.digest)
        try:
            return _SUITE.decrypt(wrapped.payload, self.identity.hpke_private_key(), info=info)
        except Exception:
            raise NotMineError("stale") from None

    def handles(self, wrapped: WrappedKey) -> bool:
        return False

    def unwrap(self, wrapped: WrappedKey, ad: AssociatedData) -> bytes:
        raise NotImplementedError


def hybrid_vectors(add: Any) -> None:
    """Forged key sections: the label, the version and each length check of 8.6."""

    def wraps(label: str = "device", version: int = 1, change: Any = None) -> Any:
        recipient = FrozenHybridRecipient("device", label, version)

        def made(dek: bytes, digest: bytes) -> list[bytes]:
            wk = recipient.wrap(dek, AssociatedData(digest=digest))
            payload = change(wk.payload) if change else wk.payload
            return [raw_wrap(KIND.encode(), wk.key_id.encode(), wk.version, payload)]

        return made

    opener = [hybrid_entry("device")]
    add(
        "hybrid_label_not_checked",
        "a post-quantum device wrap labelled 'phone' (8.6)",
        "success",
        opener=opener,
        wraps=wraps("phone"),
    )
    add(
        "hybrid_version_2",
        "a post-quantum device wrap with key_version 2: declined",
        OPEN + "no key unwraps",
        opener=opener,
        wraps=wraps(version=2),
    )
    add(
        "hybrid_payload_short",
        "a post-quantum device wrap of 1,167 bytes (one short): declined unread",
        OPEN + "no key unwraps",
        opener=opener,
        wraps=wraps(change=lambda p: p[:-1]),
    )
    add(
        "hybrid_payload_long",
        "a post-quantum device wrap of 1,169 bytes (one over): declined unread",
        OPEN + "no key unwraps",
        opener=opener,
        wraps=wraps(change=lambda p: p + b"\x00"),
    )
    add(
        "hybrid_mlkem_ciphertext_altered",
        "one bit of the ML-KEM ciphertext flipped: implicit rejection, the tag fails",
        OPEN + "no key unwraps",
        opener=opener,
        wraps=wraps(change=lambda p: bytes([p[0] ^ 1]) + p[1:]),
    )
    add(
        "hybrid_x25519_share_altered",
        "one bit of the X25519 share in enc flipped: the tag fails",
        OPEN + "no key unwraps",
        opener=opener,
        wraps=wraps(change=lambda p: p[:1100] + bytes([p[1100] ^ 1]) + p[1101:]),
    )

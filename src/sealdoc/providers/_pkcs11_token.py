"""PKCS#11 token objects: sessions, finding a key's versions by label, making KEKs.

Split from _pkcs11.py, which holds the provider; see docs/pkcs11.md.
"""

from __future__ import annotations

import os
import struct
from typing import Any

GCM, KWP = "aes-gcm", "aes-kwp"


def _mapper(p11: Any) -> Any:
    """python-pkcs11's attribute mapper, taught CKA_ALLOWED_MECHANISMS (an array of ulongs)."""
    from pkcs11.attributes import AttributeMapper  # noqa: PLC0415

    size = struct.calcsize("L")
    mapper = AttributeMapper()
    mapper.register_handler(
        p11.Attribute.ALLOWED_MECHANISMS,
        lambda values: b"".join(struct.pack("L", int(v)) for v in values),
        lambda raw: [struct.unpack_from("L", raw, i)[0] for i in range(0, len(raw), size)],
    )
    return mapper


def _logged_in_session(p11: Any, token: Any, secret: str) -> Any:
    """A session logged in as the user; joins the login another session of this process holds.

    PKCS#11 logs in per token and process: while another session is logged
    in, C_Login answers USER_ALREADY_LOGGED_IN without checking the PIN, so
    a wrong PIN is only refused by the first login of a process.
    """
    mapper = _mapper(p11)
    try:
        return token.open(user_pin=secret, rw=True, attribute_mapper=mapper)
    except p11.exceptions.UserAlreadyLoggedIn:
        return token.open(rw=True, attribute_mapper=mapper)


def _scan(p11: Any, session: Any, key_label: str) -> dict[int, list[str]]:
    """Version to the labels of every secret key object of that version.

    ``key.vN`` is version N, and a bare ``key`` (an HSM team's own) version 1.
    More than one object for a version is a duplicate the caller refuses.
    """
    prefix = f"{key_label}."
    found: dict[int, list[str]] = {}
    for obj in session.get_objects({p11.Attribute.CLASS: p11.ObjectClass.SECRET_KEY}):
        label = obj[p11.Attribute.LABEL]
        if label == key_label:
            version = 1
        elif label.startswith(prefix + "v") and label[len(prefix) + 1 :].isdigit():
            version = int(label[len(prefix) + 1 :])
            if version < 1:
                continue
        else:
            continue
        found.setdefault(version, []).append(label)
    return found


def _duplicate_message(module_path: str, token_label: str, labels: list[str]) -> str:
    names = ", ".join(repr(label) for label in labels)
    first = labels[0]
    return (
        f"token {token_label!r} holds more than one key for one version ({names}), so sealdoc "
        "cannot tell which one a document was sealed under. Keep the key your documents open "
        "with (one made by mistake, e.g. a second create_key(), has sealed nothing: seals fail "
        "while both exist) and delete the other, e.g. list them with "
        f"`pkcs11-tool --module {module_path} --login --list-objects --type secrkey` and delete "
        f"one by its ID: `pkcs11-tool --module {module_path} --login --delete-object "
        f"--type secrkey --id <ID>` (or, with python-pkcs11, pick one of "
        f"session.get_objects({{Attribute.LABEL: {first!r}}}) and call .destroy())"
    )


def _generate(p11: Any, session: Any, label: str, mechanism: str, kwp_mechanism: int) -> None:
    """A non-extractable AES-256 KEK that can do only what ``mechanism`` needs."""
    gcm = mechanism == GCM
    template = {
        p11.Attribute.EXTRACTABLE: False,
        p11.Attribute.SENSITIVE: True,
        p11.Attribute.ENCRYPT: gcm,
        p11.Attribute.DECRYPT: gcm,
        p11.Attribute.WRAP: not gcm,
        p11.Attribute.UNWRAP: not gcm,
        p11.Attribute.SIGN: False,
        p11.Attribute.VERIFY: False,
        p11.Attribute.DERIVE: False,
    }
    allowed = [int(p11.Mechanism.AES_GCM) if gcm else kwp_mechanism]
    key_id = os.urandom(8)  # a CKA_ID, so that a key can be named for deletion

    def generate(attributes: dict[Any, Any]) -> None:
        session.generate_key(
            p11.KeyType.AES,
            256,
            id=key_id,
            label=label,
            store=True,
            capabilities=0,
            template=attributes,
        )

    try:
        generate({**template, p11.Attribute.ALLOWED_MECHANISMS: allowed})
    except (
        p11.exceptions.AttributeTypeInvalid,
        p11.exceptions.AttributeValueInvalid,
        p11.exceptions.TemplateInconsistent,
    ):
        # a token without CKA_ALLOWED_MECHANISMS (PKCS#11 before 2.40): the
        # capability attributes alone still keep the key to its mode
        generate(template)

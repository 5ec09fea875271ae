"""A bundle file: signed by its sender with Ed25519, then encrypted to its receiver with age.

Layout (docs/office.md, "Bundle file format"):

    file      = age-encryption.org/v1 file (X25519 recipient: the receiving PC), whose plaintext is
    plaintext = signed || signature
    signed    = b"PRAKERJA-BUNDLE/1\\n" || u32 big-endian length of header || header || payload
    header    = UTF-8 JSON: format, kind ("desk" or "hub"), office_code, from, to, id, created_at
    payload   = gzip of UTF-8 JSON (the batches, or the answers and feed events)
    signature = Ed25519 over `signed` (64 bytes) by the sender's key

age authenticates the ciphertext (a flipped bit or a cut-off end fails to decrypt) but not who
wrote it: anyone holding the receiver's public key can encrypt to it. The signature inside says
who; the header it covers names the receiver, so a bundle re-encrypted for another PC is refused.
"""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass
from typing import Any

from prakerja_cli.bundle.keys import Identity, PublicKey
from prakerja_cli.errors import BundleError

MAGIC = b"PRAKERJA-BUNDLE/1\n"
FORMAT = 1
SIGNATURE_BYTES = 64
#: A bundle file is read whole; its payload may inflate to at most this much JSON.
MAX_FILE_BYTES = 1 << 30
MAX_PAYLOAD_BYTES = 4 << 30
_MAX_HEADER_BYTES = 4096


def seal(header: dict[str, Any], payload: dict[str, Any], sender: Identity, to: PublicKey) -> bytes:
    import pyrage
    from pyrage import x25519

    head = json.dumps({"format": FORMAT, **header}, sort_keys=True, separators=(",", ":"))
    body = gzip.compress(
        json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
        compresslevel=6,
        mtime=0,
    )
    signed = MAGIC + len(head).to_bytes(4, "big") + head.encode("utf-8") + body
    plaintext = signed + sender.sign(signed)
    return pyrage.encrypt(plaintext, [x25519.Recipient.from_str(to.age)])


@dataclass(frozen=True, slots=True)
class Opened:
    """A decrypted bundle whose signature is not checked yet (the header says whose key to use)."""

    header: dict[str, Any]
    signed: bytes
    signature: bytes
    body: bytes

    def payload(self, sender: PublicKey) -> dict[str, Any]:
        """The payload, once the sender's signature over header and payload holds."""
        if not sender.verifies(self.signature, self.signed):
            raise BundleError(
                "error.bundle_signature", hint="hint.bundle_damaged", sender=sender.desk
            )
        try:
            data = _gunzip(self.body)
            document = json.loads(data.decode("utf-8"))
        except (OSError, EOFError, zlib.error, UnicodeDecodeError, ValueError, RecursionError):
            raise BundleError("error.bundle_unreadable", hint="hint.bundle_damaged") from None
        if not isinstance(document, dict):
            raise BundleError("error.bundle_unreadable", hint="hint.bundle_damaged")
        return document


def open_sealed(data: bytes, me: Identity) -> Opened:
    """Decrypt a bundle for this PC. A truncated, altered or foreign file is refused here."""
    import pyrage

    try:
        plain = me.decrypt(data)
    except pyrage.DecryptError:
        raise BundleError("error.bundle_unreadable", hint="hint.bundle_damaged") from None
    if not plain.startswith(MAGIC) or len(plain) < len(MAGIC) + 4 + SIGNATURE_BYTES:
        raise BundleError("error.bundle_unreadable", hint="hint.bundle_damaged")
    start = len(MAGIC) + 4
    size = int.from_bytes(plain[len(MAGIC) : start], "big")
    end = start + size
    if size > _MAX_HEADER_BYTES or end > len(plain) - SIGNATURE_BYTES:
        raise BundleError("error.bundle_unreadable", hint="hint.bundle_damaged")
    try:
        header = json.loads(plain[start:end].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BundleError("error.bundle_unreadable", hint="hint.bundle_damaged") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BundleError("error.bundle_unreadable", hint="hint.bundle_damaged")
    return Opened(header, plain[:-SIGNATURE_BYTES], plain[-SIGNATURE_BYTES:], plain[end:-64])


def _gunzip(body: bytes) -> bytes:
    """Decompress at most MAX_PAYLOAD_BYTES (a signed payload is ours, but bounded all the same)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = inflater.decompress(body, MAX_PAYLOAD_BYTES)
    if inflater.unconsumed_tail or not inflater.eof or inflater.unused_data:
        raise ValueError("not one whole gzip member within the limit")
    return out

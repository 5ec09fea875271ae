"""This PC's bundle keys, and the public keys of the PCs it exchanges bundles with.

Each PC (a desk or the hub) holds one age X25519 identity (bundles for it are encrypted to it) and
one Ed25519 signing key (bundles from it are signed with it), in `bundle.key` in the app folder,
owner-only, made once when first needed. What others need of them is one line of text, the
public key (docs/office.md, "The USB routine"):

    prakerja-key-1:3273:D02:age1...:<Ed25519 public key, base64url>

written to a small file on the USB stick at enrolment; each side shows its fingerprint so the
clerks can compare the two screens.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from prakerja_cli.errors import BundleError, ConfigError

if TYPE_CHECKING:
    from pyrage import x25519

KEY_NAME = "bundle.key"
PREFIX = "prakerja-key-1"
SUFFIX = ".prakerja-key"
_PUBLIC = re.compile(
    r"prakerja-key-1:(?P<office>\d{4}):(?P<desk>[A-Z0-9]{1,8}):(?P<age>age1[0-9a-z]{58})"
    r":(?P<ed>[A-Za-z0-9_-]{43})"
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class PublicKey:
    """What one PC tells the others: who it is, where to encrypt to, what verifies its bundles."""

    office_code: str
    desk: str
    age: str
    ed25519: bytes

    def text(self) -> str:
        return f"{PREFIX}:{self.office_code}:{self.desk}:{self.age}:{_b64(self.ed25519)}"

    @property
    def fingerprint(self) -> str:
        """20 hex digits in fives, for two clerks to read to each other (or compare on paper)."""
        digest = hashlib.sha256(self.text().encode("ascii")).hexdigest()[:20].upper()
        return "-".join(digest[i : i + 5] for i in range(0, 20, 5))

    def verifies(self, signature: bytes, data: bytes) -> bool:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        try:
            Ed25519PublicKey.from_public_bytes(self.ed25519).verify(signature, data)
        except (InvalidSignature, ValueError):
            return False
        return True


def parse_public(text: str, source: str = "-") -> PublicKey:
    """A public key line (surrounding blanks and comment lines ignored); refused if malformed."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    found = _PUBLIC.fullmatch(lines[0]) if len(lines) == 1 else None
    if found is None:
        raise BundleError("error.bundle_key_invalid", hint="hint.bundle_key_file", file=source)
    try:
        from pyrage import RecipientError, x25519

        x25519.Recipient.from_str(found["age"])
        raw = _unb64(found["ed"])
    except (RecipientError, ValueError):
        raise BundleError(
            "error.bundle_key_invalid", hint="hint.bundle_key_file", file=source
        ) from None
    return PublicKey(found["office"], found["desk"], found["age"], raw)


def read_public(path: Path) -> PublicKey:
    """A public key file from the USB stick (at most a few hundred bytes are read)."""
    from prakerja_cli.errors import check_input_file

    check_input_file(path)
    with path.open("rb") as handle:
        data = handle.read(4096)
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise BundleError(
            "error.bundle_key_invalid", hint="hint.bundle_key_file", file=str(path)
        ) from None
    return parse_public(text, str(path))


@dataclass(frozen=True, slots=True)
class Identity:
    """This PC's secret keys."""

    age_secret: str
    ed25519_seed: bytes

    def recipient(self) -> str:
        return str(self._age().to_public())

    def _age(self) -> x25519.Identity:
        from pyrage import x25519

        return x25519.Identity.from_str(self.age_secret)

    def decrypt(self, data: bytes) -> bytes:
        import pyrage

        return pyrage.decrypt(data, [self._age()])

    def sign(self, data: bytes) -> bytes:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        return Ed25519PrivateKey.from_private_bytes(self.ed25519_seed).sign(data)

    def public(self, office_code: str, desk: str) -> PublicKey:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        signing = Ed25519PrivateKey.from_private_bytes(self.ed25519_seed)
        raw = signing.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return PublicKey(office_code, desk, self.recipient(), raw)


def key_path() -> Path:
    from prakerja_cli.config import app_dir

    return app_dir() / KEY_NAME


def identity(*, create: bool = False) -> Identity:
    """This PC's bundle keys; made (owner-only, once) when `create` and there are none yet."""
    from prakerja_cli import vault
    from prakerja_cli.config import write_private
    from prakerja_cli.files import private_folder

    path = key_path()
    inside = vault.secret("bundle_key")  # an encrypted store keeps them inside
    try:
        data = inside.encode("ascii") if inside is not None else path.read_bytes()
    except FileNotFoundError:
        if not create:
            raise BundleError("error.bundle_no_keys", hint="hint.bundle_no_keys") from None
        import secrets

        from pyrage import x25519

        made = {"age": str(x25519.Identity.generate()), "ed25519": _b64(secrets.token_bytes(32))}
        if vault.encrypted_open():
            from prakerja_cli.office import keep_secret

            keep_secret("bundle_key", json.dumps(made))
            return identity()
        private_folder(path.parent)
        write_private(path, json.dumps(made).encode("ascii"), overwrite=False)
        data = path.read_bytes()  # ours, or the one another process made first
    from pyrage import IdentityError

    try:
        stored = json.loads(data)
        seed = _unb64(str(stored["ed25519"]))
        kept = Identity(str(stored["age"]), seed)
        kept.recipient()
        if len(seed) != 32:
            raise ValueError
    except (ValueError, KeyError, TypeError, IdentityError):  # any damage: the same finding
        raise ConfigError(
            "error.bundle_keys_broken", hint="hint.bundle_keys_broken", path=str(path)
        ) from None
    return kept

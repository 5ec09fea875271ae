"""Message catalogues: Bahasa Indonesia by default, English on request (--lang en, PRAKERJA_LANG)."""

from __future__ import annotations

import functools
import os
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prakerja_cli.core.findings import Finding

LANGUAGES = ("id", "en")
_language: str | None = None


def set_language(lang: str | None) -> None:
    global _language
    _language = lang if lang in LANGUAGES else None


def current_language() -> str:
    if _language:
        return _language
    env = os.environ.get("PRAKERJA_LANG", "").strip().lower()[:2]
    return env if env in LANGUAGES else "id"


@functools.cache
def _catalogue(lang: str) -> dict[str, str]:
    if lang == "en":
        from prakerja_cli.i18n.en import MESSAGES as EN

        return EN
    from prakerja_cli.i18n.id import MESSAGES as ID

    return ID


def t(key: str, /, lang: str | None = None, **params: Any) -> str:
    """The message `key` in the chosen language, filled in with `params`."""
    lang = lang or current_language()
    text = _catalogue(lang).get(key) or _catalogue("en").get(key) or key
    shown = {k: printable(v) if isinstance(v, str) else v for k, v in params.items()}
    try:
        return text.format(**shown)
    except (KeyError, IndexError, ValueError):
        return text


#: Control characters (C0, DEL, C1) and the bidirectional overrides that reorder what follows.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` as it is, with every control character written out (`\\x1b`): a file, sheet or
    column name comes from whoever made the file, and an ESC sequence or a newline in it must
    not recolour the terminal, move the cursor or forge a line of ours. Every value a message
    is filled in with passes through here."""
    return _CONTROLS.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def maybe(key: str, lang: str | None = None) -> str | None:
    """The message `key`, or None when the catalogue has none."""
    return _catalogue(lang or current_language()).get(key)


def field_label(name: str, lang: str | None = None) -> str:
    return t(f"field.{name}", lang)


def finding_message(finding: Finding, lang: str | None = None) -> str:
    """'<Field>: <what is wrong and what to do>' for one finding."""
    params = dict(finding.params)
    for k, v in finding.params.items():
        if k.endswith("_gender"):
            params[k] = t(f"gender.{v}", lang)
        elif k == "fields":  # field names, as the clerk's language labels them
            params[k] = ", ".join(field_label(name, lang) for name in v)
        elif k == "same":  # one field's name
            params[k] = field_label(v, lang)
        elif k.endswith(("_date", "_on")) and v and len(str(v)) >= 10:  # ISO days in the core,
            # DD-MM-YYYY to people; a masked one (the year only) as it is
            from prakerja_cli.i18n.format import day

            params[k] = day(v)
    label = field_label(finding.field, lang)
    params.setdefault("field", label)
    # A code may have a more telling wording for a particular case (params["variant"]).
    variant = finding.params.get("variant")
    key = f"finding.{finding.code}" + (f".{variant}" if variant else "")
    return f"{label}: {t(key, lang, **params)}"

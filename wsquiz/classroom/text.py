"""Text that comes from students: the rule for names (and when two names are one), and what any
untrusted text becomes before anyone sees it (control and bidirectional characters escaped).

Both sides apply `check_name`: the host, and the student's terminal, which says why at once.
"""

from __future__ import annotations

import re
import unicodedata

MAX_NAME = 32
NAME_RULE = (
    f"1 to {MAX_NAME} characters: letters, digits, spaces and . ' @ - _, "
    "a letter, a digit or _ first"
)

# Letters that draw nothing: a name of them alone is a blank row on the board, and inside a
# name they make two names that read the same.
INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e\u17b4\u17b5")
# Bidirectional overrides and isolates, and the marks that steer them: they reorder what a
# terminal or a page shows after them.
BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Scripts whose letters pass for Latin ones: a name may use one of them, never mix them.
LOOKALIKE_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK")
# Cyrillic and Greek letters that look like Latin ones (after case folding): two names that
# differ only by them are one name.
SKELETON = str.maketrans(
    {
        "а": "a",
        "в": "b",
        "е": "e",
        "ё": "e",
        "з": "3",
        "і": "i",
        "ј": "j",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "с": "c",
        "т": "t",
        "у": "y",
        "х": "x",
        "ѕ": "s",
        "ԁ": "d",
        "ԛ": "q",
        "ԝ": "w",
        "α": "a",
        "β": "b",
        "ε": "e",
        "η": "n",
        "ι": "i",
        "κ": "k",
        "μ": "u",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "ω": "w",
    }
)


def _script(char: str) -> str | None:
    if not char.isalpha():
        return None
    name = unicodedata.name(char, "")
    return next((s for s in LOOKALIKE_SCRIPTS if name.startswith(s)), None)


def check_name(raw: object) -> str:
    """A student's name as it is kept (NFC, trimmed); ValueError says what is wrong with it."""
    if not isinstance(raw, str):
        raise ValueError("a name is required")
    name = unicodedata.normalize("NFC", raw).strip()
    if not name:
        raise ValueError("a name is required")
    if len(name) > MAX_NAME:
        raise ValueError(f"a name has 1 to {MAX_NAME} characters, this one {len(name)}")
    hidden = "".join(dict.fromkeys(c for c in name if c in INVISIBLE))
    if hidden:
        shown = ", ".join(f"U+{ord(c):04X}" for c in hidden)
        raise ValueError(f"a name shows every character it holds, not invisible ones ({shown})")
    if not re.fullmatch(r"[\w][\w .'@-]*", name):
        odd = "".join(dict.fromkeys(c for c in name if not re.fullmatch(r"[\w .'@-]", c)))
        if not odd:
            raise ValueError(f"a name starts with a letter, a digit or _, not {name[0]!r}")
        raise ValueError(f"a name holds letters, digits, spaces and . ' @ - _ only, not {odd!r}")
    scripts = sorted({s for c in name if (s := _script(c)) is not None})
    if len(scripts) > 1:
        raise ValueError(
            f"a name is written in one alphabet, not {' and '.join(s.title() for s in scripts)}"
            " letters mixed (they look alike)"
        )
    return name


def name_key(name: str) -> str:
    """What makes two names one: `Ada`, `ada`, `Ａｄａ` and Cyrillic-lettered `Аdа` are the same
    student (NFKC, case folding, look-alike letters, runs of spaces)."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    folded = unicodedata.normalize("NFKC", folded).translate(SKELETON)
    return " ".join(folded.split())


def _escaped(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def literal(text: object, limit: int | None = None) -> str:
    """Untrusted text made safe to show: control, bidirectional and other format characters
    escaped (`\\x1b`, `\\u202e`), so none of them reaches a terminal or a page as itself.

    Tabs and newlines become spaces: one answer is one line. `limit` cuts it with an ellipsis.
    """
    given = text if isinstance(text, str) else str(text)
    out = []
    for char in given:
        if char in "\t\n\r":
            out.append(" ")
        elif char in BIDI or char in INVISIBLE or unicodedata.category(char) in ("Cc", "Cf"):
            out.append(_escaped(char))
        else:
            out.append(char)
    shown = "".join(out)
    if limit is not None and len(shown) > limit:
        shown = shown[: max(0, limit - 1)] + "…"
    return shown

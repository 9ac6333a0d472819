"""Slugs made from names, and the candidates tried when one is taken."""

from __future__ import annotations

import re
import secrets
import string
import unicodedata

MAX_LEN = 50
MAX_SUFFIX = 11
_RANDOM_ALPHABET = string.ascii_lowercase + string.digits


def slugify(name: str) -> str:
    """Fold to ASCII, lower-case, spaces/underscores to ``-``, drop the rest, trim, cut to 50."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[\s_]+", "-", folded.lower())
    text = re.sub(r"[^a-z0-9-]", "", text)
    text = re.sub(r"-{2,}", "-", text).strip("-")
    return text[:MAX_LEN].rstrip("-")


def base_slug(name: str) -> str:
    """The slug for a name; a name that yields under 2 characters gets a random one."""
    made = slugify(name)
    if len(made) >= 2:
        return made
    return "game-" + "".join(secrets.choice(_RANDOM_ALPHABET) for _ in range(6))


def candidates(base: str) -> list[str]:
    """``base``, then ``base-2`` ... ``base-11``, the base shortened to stay within 50."""
    out = [base]
    for n in range(2, MAX_SUFFIX + 1):
        suffix = f"-{n}"
        out.append(base[: MAX_LEN - len(suffix)].rstrip("-") + suffix)
    return out

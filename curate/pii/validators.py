"""Checks run on regex candidates only: checksums, dates, address ranges, entropy.

The detectors' regexes are deliberately loose (they find the shape); these functions decide.
Each takes the matched string and returns True when it is the real thing.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter
from datetime import date

# GB 11643-1999: weights 2^(17-i) mod 11 for the first 17 characters, then the check character
# indexed by (sum mod 11).
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# Province-level codes of GB/T 2260 (the first two digits of a resident ID).
_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 "
    "71 81 82 83 91".split()
)
_TODAY = date.today()


def gb11643_check_char(first17: str) -> str:
    """The check character (0-9 or X) of an 18-character resident ID."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS)) % 11]


def id_birth_date_ok(digits: str) -> bool:
    """Characters 7-14 are a real calendar date between 1900-01-01 and today."""
    try:
        born = date(int(digits[6:10]), int(digits[10:12]), int(digits[12:14]))
    except ValueError:
        return False
    return date(1900, 1, 1) <= born <= _TODAY


def id_shaped(s: str) -> bool:
    """A province code and a real birth date where a resident ID has them (the check digit aside)."""
    return len(s) == 18 and s[:17].isdigit() and s[:2] in _PROVINCES and id_birth_date_ok(s)


def valid_cn_id(s: str) -> bool:
    """An 18-character Chinese resident ID: province, birth date and GB 11643 check digit."""
    return id_shaped(s) and s[17].upper() == gb11643_check_char(s[:17])


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = ord(c) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def card_prefix_ok(digits: str) -> bool:
    """Issuer ranges of the card networks in use (Visa, Mastercard, Amex, Discover, JCB, Diners,
    UnionPay, Maestro, Mir): a Luhn-valid number outside them is far more often an identifier."""
    n = len(digits)
    if not 13 <= n <= 19:
        return False
    p2, p4 = int(digits[:2]), int(digits[:4])
    if digits[0] == "4":  # Visa
        return n in (13, 16, 19)
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:  # Mastercard
        return n == 16
    if p2 in (34, 37):  # Amex
        return n == 15
    if p2 == 62 or p2 == 81:  # UnionPay (incl. the 81 range)
        return 16 <= n <= 19
    if p4 == 6011 or p2 == 65 or 644 <= int(digits[:3]) <= 649:  # Discover
        return 16 <= n <= 19
    if 3528 <= p4 <= 3589:  # JCB
        return 16 <= n <= 19
    if p2 in (36, 38, 39) or 300 <= int(digits[:3]) <= 305:  # Diners
        return 14 <= n <= 19
    if p2 in (50, 56, 57, 58, 63, 67):  # Maestro
        return 12 <= n <= 19
    if 2200 <= p4 <= 2204:  # Mir
        return 16 <= n <= 19
    return False


def valid_card(digits: str) -> bool:
    return card_prefix_ok(digits) and luhn_ok(digits)


def public_ip(s: str) -> bool:
    """A globally routable address: not private, loopback, link-local, documentation, multicast."""
    try:
        ip = ipaddress.ip_address(s)
    except ValueError:
        return False
    if ip.version == 6:
        # Global unicast is 2000::/3; Python's is_global also accepts odd leftovers such as 'a::b'.
        return ip.is_global and 0x2000 <= (int(ip) >> 112) <= 0x3FFF
    return ip.is_global and not ip.is_multicast


def shannon_entropy(s: str) -> float:
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values()) if n else 0.0


_PLACEHOLDER_HINTS = (
    "xxxx", "****", "....", "<", ">", "{", "}", "your", "example", "changeme", "placeholder",
    "redacted", "dummy", "sample", "process.env", "os.environ", "getenv", "none", "null", "true", "false",
)  # fmt: skip


# A template or a reference, not a value: $VAR, ${VAR}, %(name)s, %s, @secret_name
TEMPLATE = re.compile(r"\$|%\(|%[sdr]\Z|@[A-Za-z_]+\Z")
# Letters-only words joined by - _ . : / (each lower, upper or capitalised): names and paths.
_WORD = r"(?:[a-z]+|[A-Z]+|[A-Z][a-z]+)"
_WORDS = re.compile(rf"/?{_WORD}(?:[-_.:/]+{_WORD})*/?\Z")
_CODE_REF = re.compile(r"[A-Za-z_][A-Za-z_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*(?:\(\))?\Z")


def high_entropy_secret(value: str) -> bool:
    """A `password=` / `token=` value that looks generated, not a placeholder or a variable name.

    Like detect-secrets' entropy plugins, but on the assigned value only: at least 8 characters,
    not an identifier, and three character classes (lower, upper, digit, symbol), or two with
    >= 3 bits of entropy per character.
    """
    if len(value) < 8:
        return False
    low = value.lower()
    if TEMPLATE.match(value) or any(h in low for h in _PLACEHOLDER_HINTS):
        return False
    classes = (
        any(c.islower() for c in value)
        + any(c.isupper() for c in value)
        + any(c.isdigit() for c in value)
        + any(not c.isalnum() for c in value)
    )
    if classes < 2:
        return False
    # identifiers such as `SECRET_KEY`, `self.token` or `settings.API_KEY` are code, not secrets
    if _CODE_REF.match(value) and (
        "." in value or sum(a.isupper() != b.isupper() for a, b in zip(value, value[1:])) <= 3
    ):
        return False
    if _WORDS.match(value):  # 'address-list', 'GID:user_list', '/etc/samba/smbpasswd': not secrets
        return False
    if "@" in value and "." in value.split("@")[-1]:  # `user: name@example.com`: an email, not a key
        return False
    return classes >= 3 or shannon_entropy(value) >= 3.0

"""Detectors: find personal data and secrets in a text as (start, end, type) spans.

The hot path: one RE2 set pass over the text tells which detectors can match at all (GATES: an
'@', a 13-digit run, a dotted quad, a key prefix...); only those run their compiled scans (`re`
where a regex starts with a literal or a class, so that it skips ahead; RE2 for alternations and
for patterns that would backtrack). Boundaries are checked in Python on the few candidates,
because `\\b` treats CJK characters as word characters ('联系zhang@example.com' has no `\\b`
before 'z'), and the validators in `curate.pii.validators` decide what is real.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import re2

from curate.pii.validators import TEMPLATE as _TEMPLATE_VALUE
from curate.pii.validators import high_entropy_secret, id_shaped, public_ip, valid_card, valid_cn_id

Span = tuple[int, int, str]  # (start, end, type)

_ALNUM = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_DIGITS = frozenset("0123456789")


def _free_left(text: str, i: int, banned: frozenset[str] = _ALNUM) -> bool:
    return i == 0 or text[i - 1] not in banned


_GROUP_BEFORE = re.compile(r"[0-9][ \-]\Z")
_GROUP_AFTER = re.compile(r"[ \-][0-9]")


def _whole_number(text: str, s: int, e: int) -> bool:
    """Not one group of a longer grouped number ('4606 0919 7359 4654' holds no phone number)."""
    return (
        _free_left(text, s)
        and _GROUP_BEFORE.search(text, max(0, s - 2), s) is None
        and (_GROUP_AFTER.match(text, e) is None)
    )


# Words just before a number that say it is an identifier, not personal data. Checked on
# candidates only, in the 24 characters before them.
_NOT_PII_CONTEXT = re.compile(
    r"(?i)(?<![a-z])(order|invoice|tracking|waybill|isbn|doi|sku|serial|ticket|transaction|txn|ref(?:erence)?"
    r"|订单|运单|快递单|发票|流水号|交易号|单号|序列号|条形码|工单|编号)\s*(?:no\.?|number|#|id|号|号码)?\s*[:：#]?\s*$"
)


def _identifier_context(text: str, start: int) -> bool:
    return _NOT_PII_CONTEXT.search(text, max(0, start - 24), start) is not None


# ------------------------------------------------------------------------------------ email

_LOCAL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-")
_EMAIL_DOMAIN = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,24})(?![A-Za-z0-9\-])"
)
# 'logo@2x.png', 'icon@3x.webp': asset names, not addresses
_FILE_TLDS = frozenset("png jpg jpeg gif svg webp bmp ico css js ts json xml pdf zip mp4 mp3".split())


def find_emails(text: str, gates: frozenset[str] | None = None) -> list[Span]:
    out: list[Span] = []
    i = text.find("@") if gates is None or "email" in gates else -1
    last_end = 0
    while i != -1:
        # the local part: back from the '@' over at most 64 characters (a walk, not a regex
        # search from every start: linear however many '@' a hostile page holds)
        start, lo = i, max(last_end, i - 64)
        while start > lo and text[start - 1] in _LOCAL_CHARS:
            start -= 1
        while start < i and text[start] in "._%+-":  # a local part starts with a letter or digit
            start += 1
        if start < i and _AFTER_URL_USER.search(text, max(0, start - 70), start) is None:
            d = _EMAIL_DOMAIN.match(text, i + 1)
            if d is not None and d.group(1).lower() not in _FILE_TLDS:
                out.append((start, d.end(), "email"))
                last_end = d.end()
        i = text.find("@", max(i + 1, last_end))
    return out


# ------------------------------------------------------------------------------------ phone

# Chinese mobile: 1[3-9]x xxxx xxxx, with '-' or ' ' between the groups, optionally +86 / 0086 /
# (+86) before it.
_CN_MOBILE = re.compile(r"1[3-9][0-9](?:[ \-]?[0-9]{4}){2}(?![0-9])")
_CN_PREFIX = re.compile(r"(?:\+86|0086|\(\+?86\)|（\+?86）|(?<![0-9])86(?=-))[ \-]?\Z")
# Chinese landline: area code (010, 02x, 0xxx) then a separator and 7-8 digits. Without the
# separator an 11-12 digit run is as likely an order number, so the separator is required.
_CN_LANDLINE = re.compile(
    r"0(?:10|2[0-9]|[3-9][0-9]{2})(?:[)）] ?|[ \-])[2-9][0-9]{2,3}[ \-]?[0-9]{4}(?![0-9])"
)
# International E.164 as written: '+', country code, groups split by space, '-', '.', '(...)'.
# RE2: in `re` the nested groups backtrack exponentially on a '+' before a long digit run.
_INTL = re2.compile(r"\+[1-9](?:[ .\-]?\(?[0-9]{1,5}\)?){2,7}")
_CC1 = frozenset("17")
_CC2 = frozenset(
    "20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 60 61 62 63 64 65 66 "
    "81 82 84 86 90 91 92 93 94 95 98".split()
)
_CC3_PREFIX = frozenset("21 22 23 24 25 26 29 35 37 38 42 50 59 67 68 69 85 87 88 96 97 99".split())


def _country_code_ok(digits: str) -> bool:
    return digits[0] in _CC1 or digits[:2] in _CC2 or digits[:2] in _CC3_PREFIX


def find_phones(text: str, gates: frozenset[str] | None = None) -> list[Span]:
    out: list[Span] = []
    if not _open("phone", text, gates):
        return out
    if "1" in text:
        for m in _CN_MOBILE.finditer(text):
            s = m.start()
            p = _CN_PREFIX.search(text, max(0, s - 7), s)
            if p is not None:
                s = p.start()
            elif not _whole_number(text, s, m.end()) or _identifier_context(text, s):
                continue
            out.append((s, m.end(), "phone"))
    if "0" in text:
        for m in _CN_LANDLINE.finditer(text):
            s = m.start()
            if s and text[s - 1] in "(（":
                s -= 1
            if _whole_number(text, s, m.end()) and not _identifier_context(text, s):
                out.append((s, m.end(), "phone"))
    if "+" in text:
        for m in _INTL.finditer(text):
            s, e = m.span()
            raw = m.group()
            if e < len(text) and (text[e] in _DIGITS or text[e] in ".," and text[e + 1 : e + 2].isdigit()):
                continue  # part of a longer number, or a decimal
            digits = "".join(c for c in raw if c in _DIGITS)
            if not 8 <= len(digits) <= 15 or not _country_code_ok(digits) or raw.count("(") != raw.count(")"):
                continue
            if raw.count(".") == 1:  # '+35236450.6' is a signed decimal
                continue
            if _free_left(text, s, _ALNUM | {"+"}) and "--" not in raw and ".." not in raw:
                out.append((s, e, "phone"))
    return out


# ------------------------------------------------------------------------------------ ID, card

_CN_ID = re.compile(r"[1-9][0-9]{16}[0-9Xx](?![0-9])")
# 13-19 digits: contiguous, in groups of four (4-4-4-4, 4-4-4-4-3, 4-4-4-1..3), or Amex 4-6-5.
_CARD = re.compile(
    r"[2-6](?:[0-9]{12,18}|[0-9]{3}(?:([ \-])[0-9]{4})(?:\1[0-9]{4}){1,3}(?:\1[0-9]{1,3})?|[0-9]{3}([ \-])[0-9]{6}\2[0-9]{4,5})(?![0-9Xx])"
)


# RE2 gates (DFA scans, several hundred MB/s): most web texts hold no 13-digit run and no dotted
# quad, and then the slower `re` scans with their Python checks never start.


def find_ids(text: str, gates: frozenset[str] | None = None) -> list[Span]:
    out: list[Span] = []
    if not _open("id_number", text, gates):
        return out
    for m in _CN_ID.finditer(text):
        s = m.start()
        if _free_left(text, s) and valid_cn_id(m.group()) and not _identifier_context(text, s):
            out.append((s, m.end(), "id_number"))
    return out


def find_cards(text: str, gates: frozenset[str] | None = None) -> list[Span]:
    out: list[Span] = []
    if not _open("card", text, gates):
        return out
    for m in _CARD.finditer(text):
        s = m.start()
        if not _whole_number(text, s, m.end()):
            continue
        digits = m.group().replace(" ", "").replace("-", "")
        # an 18-digit number shaped like a resident ID (province + birth date) is one, valid or not
        if valid_card(digits) and not id_shaped(digits) and not _identifier_context(text, s):
            out.append((s, m.end(), "card"))
    return out


# ------------------------------------------------------------------------------------ IP

_IPV4 = re.compile(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(?![0-9]|\.[0-9])")
# A version, not an address: 'v1.2.3.4', 'Chrome/120.0.0.0', 'version 2.0.0.1', '版本 1.0.0.1'.
_VERSION_BEFORE = re.compile(
    r"(?i)(?:(?<![a-z])(?:v|ver\.?|version|release|build|firmware|(?:upgrade|update)d? to|sections?|chapters?|clause)"
    r"|版本号?|升级到|更新到|章节?|[a-z]/|[<>=~!^]=|[<>]|§)\s*[:：]?\s*[\"'(]?\Z"
)
# Global unicast (2000::/3) starts with a 4-digit group 2xxx or 3xxx.
_IPV6 = re.compile(r"[23][0-9A-Fa-f]{3}:(?:[0-9A-Fa-f]{0,4}:){1,6}[0-9A-Fa-f]{0,4}(?![0-9A-Za-z:])")


def find_ips(text: str, gates: frozenset[str] | None = None) -> list[Span]:
    out: list[Span] = []
    if _open("ipv4", text, gates):
        for m in _IPV4.finditer(text):
            s, ip = m.start(), m.group()
            if not _free_left(text, s, _ALNUM | {".", "-"}):
                continue
            octets = ip.split(".")
            if any(len(o) > 1 and o[0] == "0" for o in octets):  # '01.02.03.04' is no address
                continue
            if all(len(o) == 1 for o in octets):  # '2.7.2.2', '3.1.1.6': versions and sections
                continue
            if _VERSION_BEFORE.search(text, max(0, s - 12), s) or not public_ip(ip):
                continue
            out.append((s, m.end(), "ip"))
    if _open("ipv6", text, gates):
        for m in _IPV6.finditer(text):
            s = m.start()
            if _free_left(text, s, _ALNUM | {":"}) and public_ip(m.group().rstrip(":")):
                e = m.end() - (1 if m.group().endswith(":") and not m.group().endswith("::") else 0)
                out.append((s, e, "ip"))
    return out


# ------------------------------------------------------------------------------------ secrets

# Token formats with a fixed prefix (gitleaks' and detect-secrets' rules), and `name = value`
# assignments. Both scans are RE2 (a DFA; `re` tries each branch of such an alternation at each
# position, ~20 MB/s), and the gates (see GATES) skip them in texts with no prefix or assignment.
_KEY_TOKEN_GATE = (
    r"A[KSBC][IC]A|gh[pousr]_|github_pat_|gl(?:pat|dt|rt|ptt|soat)-|xox[abposr]-|hooks\.slack|[sr]k[-_]"
    r"|AIza|eyJ|PRIVATE KEY"
)
_KEY_TOKEN = re2.compile(
    r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}"
    r"|gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255}"
    r"|gl(?:pat|dt|rt|ptt|soat)-[A-Za-z0-9_\-]{20,64}"
    r"|xox[abposr]-[A-Za-z0-9\-]{10,250}"
    r"|https://hooks\.slack\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]{16,}"
    r"|sk-(?:proj-|ant-(?:api[0-9][0-9]-)?|svcacct-|admin-)?[A-Za-z0-9_\-]{20,200}"
    r"|[rs]k_(?:live|test)_[A-Za-z0-9]{20,99}"
    r"|AIza[0-9A-Za-z_\-]{35}"
    r"|eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*"
)
_TOKEN_CHARS = _ALNUM | {"-"}
# A PEM block: BEGIN ... END, or to the end of the base64 lines when the END line is missing.
# Each BEGIN pairs with the next END before the next BEGIN (found once, not by a lazy scan per
# BEGIN: that would be quadratic on a page of BEGIN lines).
_PEM_BEGIN = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
_PEM_BODY = re.compile(r"(?:\s*[A-Za-z0-9+/=:\-]+)*")  # \s and the body characters are disjoint


def _pem_spans(text: str) -> list[Span]:
    begins = list(_PEM_BEGIN.finditer(text))
    ends = list(_PEM_END.finditer(text))
    out: list[Span] = []
    j = 0
    for k, b in enumerate(begins):
        limit = begins[k + 1].start() if k + 1 < len(begins) else len(text)
        while j < len(ends) and ends[j].start() < b.end():
            j += 1
        if j < len(ends) and ends[j].start() < limit:
            out.append((b.start(), ends[j].end(), "key"))
        else:
            out.append((b.start(), _PEM_BODY.match(text, b.end(), limit).end(), "key"))
    return out


# `DB_PASSWORD = `, `"api_key": `, `密码是`: a keyword, more name characters, an operator.
_ASSIGN_HEAD = (
    r"(?i:password|passwd|pwd|secret|token|api[_\-]?key|apikey|access[_\-]?key|private[_\-]?key"
    r"|credentials?|auth[_\-]?(?:token|key)|密码|口令|密钥|令牌)"
    r"[A-Za-z0-9_.\-]*[\"']?\s*(?:=>|:=|[:=：是为])\s*"
)
_ASSIGN = re2.compile(_ASSIGN_HEAD)
# The value: printable ASCII without quotes, brackets or commas (so `f(x)`, `"a" + b` and CJK
# text end it), in matching quotes or none.
_VALUE_CHAR = r"[A-Za-z0-9!#$%&*+\-./:=?@^_|~]"
_PLACEHOLDER_PASSWORDS = frozenset(
    "password pass passwd pwd secret changeme xxx xxxx *** **** ******** user".split()
)
_ASSIGN_VALUE = re.compile(r"""(["']?)(""" + _VALUE_CHAR + r"{8,200})\1")


# Credentials in a URL's authority: scheme://user:password@host (a database URL in a config).
_URL_CREDENTIALS_GATE = r"://[^\s/:@]{0,64}:[^\s/@]{3,128}@"
_URL_CREDENTIALS = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s/:@]{0,64}:([^\s/@]{3,128})@")
_AFTER_URL_USER = re.compile(r"://[^\s/:@]{1,64}:\Z")


def find_keys(text: str, gates: frozenset[str] | None = None) -> list[Span]:
    out: list[Span] = []
    if _open("key_url", text, gates):
        for m in _URL_CREDENTIALS.finditer(text):
            pw = m.group(1)
            if not _TEMPLATE_VALUE.match(pw) and pw.lower() not in _PLACEHOLDER_PASSWORDS:
                out.append((m.start(1), m.end(1), "key"))
    if _open("key_token", text, gates):
        for m in _KEY_TOKEN.finditer(text):
            s, e, tok = m.start(), m.end(), m.group()
            if not _free_left(text, s, _TOKEN_CHARS) or (e < len(text) and text[e] in _TOKEN_CHARS):
                continue
            if tok.startswith("sk-") and not (
                any(c.isdigit() for c in tok) and any(c.isalpha() for c in tok[3:])
            ):
                continue  # 'sk-learn-compatible-estimators' is a word, not a key
            out.append((s, e, "key"))
        if "PRIVATE KEY" in text:
            out.extend(_pem_spans(text))
    if _open("key_assign", text, gates):
        for k in _ASSIGN.finditer(text):
            m = _ASSIGN_VALUE.match(text, k.end())
            if m is not None and high_entropy_secret(m.group(2)):
                out.append((m.start(2), m.end(2), "key"))
    return out


# ------------------------------------------------------------------------------------ gates

# Cheap necessary conditions, one per scan: all of them run in a single RE2 Set pass over the
# text (a DFA, several hundred MB/s), and a detector's `re` scans and Python checks start only
# where its gate matched. Most web texts hold no 13-digit run, no dotted quad, no key prefix.
GATES = {
    "email": r"@",
    "phone": r"1[3-9][0-9]|0[1-9][0-9]{1,2}[)）\- ]|\+[1-9]",
    "id_number": r"[0-9]{17}[0-9Xx]",
    "card": r"[2-6][0-9]{3}(?:[ \-]?[0-9]){9}",
    "ipv4": r"[0-9]\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]",
    "ipv6": r"[23][0-9A-Fa-f]{3}:[0-9A-Fa-f]{0,4}:",
    "key_token": _KEY_TOKEN_GATE,
    "key_assign": _ASSIGN_HEAD,
    "key_url": _URL_CREDENTIALS_GATE,
}
_GATE_RES = {name: re2.compile(p) for name, p in GATES.items()}
_GATE_NAMES = list(GATES)
_options = re2.Options()
_options.max_mem = 64 << 20  # room for the DFA of the whole set: with the default 8 MB it thrashes
_GATE_SET = re2.Set.SearchSet(_options)
for _p in GATES.values():
    _GATE_SET.Add(_p.encode())
_GATE_SET.Compile()


def open_gates(text: str) -> frozenset[str]:
    """The names of the gates that match somewhere in `text` (one pass for all of them). On bytes:
    the wrapper's str path is several times slower than encoding once."""
    return frozenset(_GATE_NAMES[i] for i in _GATE_SET.Match(text.encode("utf-8", "replace")) or ())


def _open(name: str, text: str, gates: frozenset[str] | None) -> bool:
    return name in gates if gates is not None else _GATE_RES[name].search(text) is not None


# Type -> detector, in priority order: when two spans overlap, the one found by the earlier
# detector wins at equal start (a PEM block over the IPs inside it, an ID over a card).
DETECTORS: dict[str, Callable[[str, frozenset[str] | None], list[Span]]] = {
    "key": find_keys,
    "email": find_emails,
    "id_number": find_ids,
    "card": find_cards,
    "phone": find_phones,
    "ip": find_ips,
}
PLACEHOLDERS = {
    "email": "<EMAIL>",
    "phone": "<PHONE>",
    "id_number": "<ID_NUMBER>",
    "card": "<CARD>",
    "ip": "<IP>",
    "key": "<KEY>",
}

"""A seeded gold set for PII detection: Chinese and English documents with inline-tagged spans.

    python -m scripts.pii_gold --out data/pii_gold.jsonl [--docs 2400] [--seed 0]

Each record: `text`, `tagged` (the same text with `<pii type="email">...</pii>` and
`<neg kind="isbn">...</neg>` tags inline), `spans` [[start, end, type]] and `negatives`
[[start, end, kind]]. Carrier sentences are real English (docstrings shipped with the Python
standard library) and hand-written Chinese sentences from everyday genres (forum posts, shop
pages, notices, CVs, support tickets). Values come from their own generators here (check digits
and Luhn computed independently of curate.pii), in the formats people write them. Hard negatives
look like PII and are not: ISBNs, DOIs, order numbers, timestamps, 18-digit numbers with a
wrong check digit, Luhn-invalid card numbers, UUIDs, git hashes, version strings, private IPs,
dates, coordinates, OIDs, prices, ISSNs. Sentences, context phrases and name lists live in
scripts/pii_gold_data.json.
"""

from __future__ import annotations

import argparse
import base64
import importlib
import ipaddress
import json
import random
import re
import string
from datetime import date, timedelta
from pathlib import Path

_DATA = json.loads((Path(__file__).with_name("pii_gold_data.json")).read_text(encoding="utf-8"))

# ---------------------------------------------------------------------------------------------- carriers

_EN_MODULES = _DATA["en_modules"]

ZH_SENTENCES: list[str] = _DATA["zh_sentences"]

# Context phrases a value is written in, per type and language ({v} is the value).
POSITIVE_CONTEXT: dict[str, dict[str, list[str]]] = _DATA["positive_context"]
NEGATIVE_CONTEXT: dict[str, dict[str, list[str]]] = _DATA["negative_context"]


def english_sentences() -> list[str]:
    """Real English: sentences of the docstrings in Python's standard library."""
    out = []
    for name in _EN_MODULES:
        mod = importlib.import_module(name)
        docs = [mod.__doc__ or ""]
        for attr in dir(mod):
            obj = getattr(mod, attr, None)
            if getattr(obj, "__module__", None) == mod.__name__ and isinstance(
                getattr(obj, "__doc__", None), str
            ):
                docs.append(obj.__doc__)
        for d in docs:
            for s in re.split(r"(?<=[.!?])\s+", " ".join(d.split())):
                if (
                    40 <= len(s) <= 200
                    and s[0].isupper()
                    and s.endswith(".")
                    and not re.search(r"[<>{}\[\]=@]|\d{3}|::", s)
                ):
                    out.append(s)
    return sorted(set(out))


# ---------------------------------------------------------------------------------------------- values


def _luhn_digit(body: str) -> str:
    """The digit that makes body + digit pass the Luhn check."""
    total = 0
    for i, c in enumerate(reversed(body)):
        d = int(c) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def _id_check(first17: str) -> str:
    w = [2 ** (17 - i) % 11 for i in range(17)]
    return "10X98765432"[sum(int(c) * k for c, k in zip(first17, w)) % 11]


_PROVINCES = _DATA["provinces"]
_SURNAMES = _DATA["surnames"]
_GIVEN = _DATA["given_names"]
_DOMAINS = _DATA["email_domains"]
_MOBILE = _DATA["cn_mobile_prefixes"]
_AREA = _DATA["cn_area_codes"]


class Values:
    def __init__(self, rng: random.Random) -> None:
        self.r = rng

    def digits(self, n: int) -> str:
        return "".join(self.r.choice(string.digits) for _ in range(n))

    def email(self) -> str:
        r = self.r
        a, b = r.choice(_GIVEN), r.choice(_SURNAMES)
        local = r.choice(
            [
                f"{a}.{b}",
                f"{a}{b}",
                f"{b}{a}{r.randint(1, 99)}",
                f"{a}_{b}",
                f"{a[0]}{b}",
                f"{a}-{b}",
                f"{a}+news",
                f"{self.digits(9)}",
            ]
        )
        if r.random() < 0.1:
            local = local.capitalize()
        domain = r.choice(_DOMAINS)
        if r.random() < 0.05:
            domain = domain.capitalize()
        return f"{local}@{domain}"

    def phone(self) -> str:
        r = self.r
        kind = r.random()
        if kind < 0.5:
            n = r.choice(_MOBILE) + self.digits(8)
            fmt = r.choice(
                [
                    "{a}{b}{c}",
                    "{a} {b} {c}",
                    "{a}-{b}-{c}",
                    "+86 {a}{b}{c}",
                    "+86-{a}-{b}-{c}",
                    "+86 {a} {b} {c}",
                    "(+86) {a}{b}{c}",
                    "0086 {a}{b}{c}",
                    "+86{a}{b}{c}",
                    "86-{a}{b}{c}",
                    "+86 {a}-{b}-{c}",
                ]
            )
            return fmt.format(a=n[:3], b=n[3:7], c=n[7:])
        if kind < 0.75:
            area = r.choice(_AREA)
            local = str(r.randint(2, 8)) + self.digits(7 if len(area) == 3 else r.choice([6, 7]))
            fmt = r.choice(
                ["{a}-{l}", "({a}){l}", "({a}) {l1} {l2}", "{a}-{l1} {l2}", "{a} {l}", "{a}-{l1}-{l2}"]
            )
            return fmt.format(a=area, l=local, l1=local[:-4], l2=local[-4:])
        return r.choice(
            [
                "+1 {0}{1}{2}-555-0{3}{4}{5}",
                "+1 ({0}{1}{2}) 555-01{3}{4}",
                "+44 20 79{0}{1} {2}{3}{4}{5}",
                "+49 30 {0}{1}{2}{3}{4}{5}{6}",
                "+33 1 4{0} {1}{2} {3}{4} {5}{6}",
                "+81 3-{0}{1}{2}{3}-{4}{5}{6}{7}",
                "+61 2 9{0}{1}{2} {3}{4}{5}{6}",
                "+91 98{0}{1}{2} {3}{4}{5}{6}{7}",
                "+852 2{0}{1}{2} {3}{4}{5}{6}",
                "+65 6{0}{1}{2} {3}{4}{5}{6}",
                "+886 2 2{0}{1}{2} {3}{4}{5}{6}",
                "+34 91 {0}{1}{2} {3}{4} {5}{6}",
                "+1-{0}{1}{2}-555-01{3}{4}",
                "+1.{0}{1}{2}.555.01{3}{4}",
                "+44 (0)20 79{0}{1} {2}{3}{4}{5}",
                "+7 495 {0}{1}{2}-{3}{4}-{5}{6}",
            ]
        ).format(*[r.choice("23456789") for _ in range(8)])

    def birth(self) -> date:
        return date(1940, 1, 1) + timedelta(days=self.r.randrange(365 * 70))

    def id_number(self) -> str:
        body = f"{self.r.choice(_PROVINCES)}{self.r.randint(1, 99):02d}{self.r.randint(1, 99):02d}"
        body += self.birth().strftime("%Y%m%d") + self.digits(3)
        check = _id_check(body)
        return body + (check.lower() if check == "X" and self.r.random() < 0.2 else check)

    def card_number(self) -> str:
        r = self.r
        prefix, n = r.choice(
            [
                ("4", 16),
                ("51", 16),
                ("55", 16),
                ("2221", 16),
                ("34", 15),
                ("37", 15),
                ("6011", 16),
                (str(self.r.randint(3528, 3589)), 16),
                ("62", 16),
                ("62", 19),
                ("4", 16),
            ]
        )
        body = prefix + self.digits(n - len(prefix) - 1)
        return body + _luhn_digit(body)

    def card(self) -> str:
        d = self.card_number()
        style = self.r.random()
        if style < 0.4:
            return d
        sep = self.r.choice([" ", "-"])
        if len(d) == 15:
            return sep.join([d[:4], d[4:10], d[10:]])
        return sep.join(d[i : i + 4] for i in range(0, len(d), 4))

    def ip(self) -> str:
        r = self.r
        if r.random() < 0.8:
            while True:
                ip = ipaddress.IPv4Address(r.getrandbits(32))
                if ip.is_global and not ip.is_multicast:
                    return str(ip)
        while True:
            ip = ipaddress.IPv6Address(
                (r.choice([0x2001, 0x2400, 0x2408, 0x240E, 0x2600, 0x2A00, 0x2A02]) << 112)
                | r.getrandbits(96) << 16
            )
            if ip.is_global and not str(ip).startswith("2001:db8"):
                return ip.compressed if r.random() < 0.7 else ip.exploded

    def _alnum(self, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
        return "".join(self.r.choice(alphabet) for _ in range(n))

    def key(self) -> str:
        r = self.r
        kind = r.randrange(11)
        if kind == 0:
            return "AKIA" + self._alnum(16, string.ascii_uppercase + string.digits)
        if kind == 1:
            return r.choice(["ghp_", "gho_", "ghs_"]) + self._alnum(36)
        if kind == 2:
            return "glpat-" + self._alnum(20, string.ascii_letters + string.digits + "_-")
        if kind == 3:
            return f"xoxb-{self.digits(12)}-{self.digits(12)}-{self._alnum(24)}"
        if kind == 4:
            return "sk-" + r.choice(["", "proj-"]) + self._alnum(48)
        if kind == 5:
            return "sk_live_" + self._alnum(24)
        if kind == 6:
            return "AIza" + self._alnum(35, string.ascii_letters + string.digits + "_-")
        if kind == 7:

            def b64(obj: dict) -> str:
                return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

            head = b64({"alg": "HS256", "typ": "JWT"})
            body = b64(
                {"sub": self.digits(8), "name": r.choice(_GIVEN), "iat": 1700000000 + r.randrange(10**7)}
            )
            return f"{head}.{body}.{self._alnum(43, string.ascii_letters + string.digits + '_-')}"
        if kind == 8:
            lines = "\n".join(
                self._alnum(64, string.ascii_letters + string.digits + "+/") for _ in range(r.randint(3, 8))
            )
            label = r.choice(["RSA ", "EC ", "", "OPENSSH "])
            return f"-----BEGIN {label}PRIVATE KEY-----\n{lines}\n-----END {label}PRIVATE KEY-----"
        return "__ASSIGN__"  # a password= / secret= assignment: the context carries the name

    def password(self) -> str:
        r = self.r
        if r.random() < 0.3:  # human-made but not weak
            return f"{r.choice(_GIVEN).capitalize()}{r.choice(['@', '#', '!', '_'])}{r.randint(1970, 2024)}{r.choice(['', '!', '$'])}"
        return self._alnum(r.randint(12, 32), string.ascii_letters + string.digits + "!#%^&*_-+")


ASSIGN_CONTEXT: dict[str, list[str]] = _DATA["assign_context"]


class Negatives:
    def __init__(self, rng: random.Random, values: Values) -> None:
        self.r, self.v = rng, values

    def isbn(self) -> str:
        body = "978" + self.r.choice(["7", "0", "1", "3", "4"]) + self.v.digits(8)
        check = (10 - sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(body)) % 10) % 10
        d = body + str(check)
        return d if self.r.random() < 0.5 else f"{d[:3]}-{d[3]}-{d[4:7]}-{d[7:12]}-{d[12]}"

    def doi(self) -> str:
        return f"10.{self.r.randint(1000, 9999)}/{self.r.choice(['', 's', 'j.'])}{self.v.digits(self.r.randint(5, 9))}"

    def order_number(self) -> str:
        r = self.r
        style = r.randrange(4)
        if style == 0:
            return (date(2023, 1, 1) + timedelta(days=r.randrange(700))).strftime("%Y%m%d") + self.v.digits(
                r.randint(6, 12)
            )
        if style == 1:
            return f"{self.v.digits(4)}-{self.v.digits(4)}-{self.v.digits(4)}"
        if style == 2:
            return r.choice(["SF", "YT", "JD", "ZTO"]) + self.v.digits(r.randint(10, 15))
        return self.v.digits(r.randint(10, 20))

    def timestamp(self) -> str:
        r = self.r
        t = 1_500_000_000 + r.randrange(300_000_000)
        style = r.randrange(4)
        if style == 0:
            return str(t)
        if style == 1:
            return str(t * 1000 + r.randrange(1000))
        d = date(2015, 1, 1) + timedelta(days=r.randrange(4000))
        hms = f"{r.randrange(24):02d}:{r.randrange(60):02d}:{r.randrange(60):02d}"
        return f"{d.isoformat()}T{hms}Z" if style == 2 else d.strftime("%Y%m%d") + hms.replace(":", "")

    def bad_id_check(self) -> str:
        good = self.v.id_number()
        wrong = [c for c in "0123456789X" if c != good[-1].upper()]
        return good[:-1] + self.r.choice(wrong)

    def luhn_invalid(self) -> str:
        d = self.v.card_number()
        d = d[:-1] + str((int(d[-1]) + self.r.randint(1, 9)) % 10)
        return d if self.r.random() < 0.5 else " ".join(d[i : i + 4] for i in range(0, len(d), 4))

    def uuid(self) -> str:
        h = f"{self.r.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{h[16:20]}-{h[20:]}"

    def git_hash(self) -> str:
        h = f"{self.r.getrandbits(160):040x}"
        return h if self.r.random() < 0.5 else h[:7]

    def version(self) -> str:
        r = self.r
        return r.choice(
            [
                f"{r.randint(1, 130)}.0.{r.randint(0, 6000)}.{r.randint(0, 200)}",
                f"{r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 30)}",
                f"{r.randint(1, 5)}.{r.randint(0, 9)}.{r.randint(0, 9)}.{r.randint(0, 99)}",
            ]
        )

    def date(self) -> str:
        d = date(1990, 1, 1) + timedelta(days=self.r.randrange(13000))
        return self.r.choice(
            [d.isoformat(), d.strftime("%Y/%m/%d"), f"{d.year}年{d.month}月{d.day}日", d.strftime("%d.%m.%Y")]
        )

    def coordinates(self) -> str:
        return f"{self.r.uniform(-80, 80):.4f}, {self.r.uniform(-179, 179):.4f}"

    def oid(self) -> str:
        return "1.3.6.1." + ".".join(str(self.r.randint(1, 40)) for _ in range(self.r.randint(1, 6)))

    def price(self) -> str:
        n = self.r.randint(1000, 99_999_999)
        return self.r.choice(["¥", "$", "€", "HK$"]) + f"{n // 100:,}.{n % 100:02d}"

    def issn(self) -> str:
        return f"{self.v.digits(4)}-{self.v.digits(3)}{self.r.choice('0123456789X')}"

    def private_ip(self) -> str:
        r = self.r
        return r.choice(
            [
                f"192.168.{r.randint(0, 255)}.{r.randint(1, 254)}",
                f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
                f"172.{r.randint(16, 31)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
                "127.0.0.1",
                f"169.254.{r.randint(0, 255)}.{r.randint(1, 254)}",
                "fe80::1",
                "::1",
            ]
        )


# ---------------------------------------------------------------------------------------------- documents

TYPES = ("email", "phone", "id_number", "card", "ip", "key")
NEG_KINDS = tuple(NEGATIVE_CONTEXT)


def _piece(template: str, value: str) -> tuple[str, int, int]:
    i = template.index("{v}")
    return template.replace("{v}", value), i, i + len(value)


def build_gold(n_docs: int = 2400, seed: int = 0) -> list[dict]:
    rng = random.Random(f"pii-gold/{seed}")
    values, negs = Values(rng), Negatives(rng, Values(rng))
    en = english_sentences()
    docs = []
    for k in range(n_docs):
        lang = "zh" if k % 2 else "en"
        carriers = ZH_SENTENCES if lang == "zh" else en
        joiner = "" if lang == "zh" else " "
        items: list[tuple[str, str, str, str]] = []  # (template, value, label, kind: pos|neg)
        for _ in range(rng.randint(1, 4)):
            t = rng.choice(TYPES)
            v = getattr(values, t)()
            if v == "__ASSIGN__":
                template, pw = rng.choice(ASSIGN_CONTEXT[lang]), values.password()
                if "://" in template:  # a password inside a URL holds URL-safe characters only
                    pw = re.sub(r"[^A-Za-z0-9!_.~-]", "", pw).ljust(8, "x")
                items.append((template, pw, "key", "pos"))
            else:
                contexts = POSITIVE_CONTEXT[t][lang]
                if ":" in v:  # an IPv6 address is written in brackets inside a URL
                    contexts = [c.replace("//{v}:", "//[{v}]:") for c in contexts]
                items.append((rng.choice(contexts), v, t, "pos"))
        for _ in range(rng.randint(1, 3)):
            kind = rng.choice(NEG_KINDS)
            ctx = NEGATIVE_CONTEXT[kind]
            items.append((rng.choice(ctx.get(lang) or ctx["en"]), getattr(negs, kind)(), kind, "neg"))
        pieces: list[tuple[str, tuple | None]] = [
            (rng.choice(carriers), None) for _ in range(rng.randint(3, 8))
        ]
        for item in items:
            pieces.insert(rng.randrange(len(pieces) + 1), ("", item))
        text, tagged, spans, negatives = "", "", [], []
        for i, (sentence, item) in enumerate(pieces):
            sep = joiner if i else ""
            if item is None:
                text += sep + sentence
                tagged += sep + sentence
                continue
            template, value, label, kind = item
            s, a, b = _piece(template, value)
            start = len(text) + len(sep) + a
            (spans if kind == "pos" else negatives).append([start, start + len(value), label])
            tag = f'<pii type="{label}">' if kind == "pos" else f'<neg kind="{label}">'
            close = "</pii>" if kind == "pos" else "</neg>"
            text += sep + s
            tagged += sep + s[:a] + tag + value + close + s[b:]
        docs.append({"lang": lang, "text": text, "tagged": tagged, "spans": spans, "negatives": negatives})
    return docs


def score(docs: list[dict], find_spans) -> dict:
    """Recall per type, precision of all detections, and the share of hard negatives flagged.

    A gold span counts as found when detections of its type cover every character of it. A
    detection is a false positive when it overlaps no gold span (a hard negative or carrier text).
    """
    found, total = dict.fromkeys(TYPES, 0), dict.fromkeys(TYPES, 0)
    tp = fp = neg_hit = n_neg = 0
    for d in docs:
        det = find_spans(d["text"])
        for s, e, t in d["spans"]:
            total[t] += 1
            covered = sum(min(e, de) - max(s, ds) for ds, de, dt in det if dt == t and de > s and ds < e)
            found[t] += covered >= e - s
        for ds, de, _ in det:
            hit = any(de > s and ds < e for s, e, _ in d["spans"])
            tp += hit
            fp += not hit
        for s, e, _ in d["negatives"]:
            n_neg += 1
            neg_hit += any(de > s and ds < e for ds, de, _ in det)
    return {
        "recall": {t: found[t] / total[t] if total[t] else 1.0 for t in TYPES},
        "spans": total,
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "false_positives": fp,
        "hard_negatives": n_neg,
        "hard_negative_hit_rate": neg_hit / n_neg if n_neg else 0.0,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Write the seeded PII gold set (JSONL).")
    ap.add_argument("--out", type=Path, default=Path("data/pii_gold.jsonl"))
    ap.add_argument("--docs", type=int, default=2400)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    docs = build_gold(args.docs, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    n = sum(len(d["spans"]) for d in docs)
    print(
        f"wrote {len(docs)} documents, {n} PII spans, {sum(len(d['negatives']) for d in docs)} hard negatives to {args.out}"
    )


if __name__ == "__main__":
    main()

"""Pages with planted personal data for the sample crawl (scripts.sample_crawl calls `pii_pages`).

Good pages of the crawl's own sites (a support forum, a contact page, an order thread...), and
three Chinese pages of scripts.sample_cjk's sites, with a few sentences carrying emails, Chinese and international phone numbers, Chinese resident IDs,
card numbers, public IPs and API keys, written the way scripts.pii_gold writes them. The label's
`notes` is `pii: ` + a JSON list of the planted values, so that the leak test can search every
output for each of them (`planted_values(labels)`).
"""

from __future__ import annotations

import json
import random

from scripts.pii_gold import Values

N_PAGES = 8
NOTES_PREFIX = "pii: "
# (site host, sentence templates); {email} {phone} {cn_phone} {id} {card} {ip} {key} {password}
PLANTS = [
    ("techtalk-forum.io", ["My config is below, the key is {key} and the server is {ip}.", "Ping me at {email} if it fails."]),
    ("forum.gardenersguild.net", ["Call me on {phone} or write to {email}, happy to share seeds.", "我的手机号是{cn_phone}，欢迎来电。"]),
    ("devnotes-blog.dev", ["Never paste secrets: the old deploy script had password={password} and token {key} in it.", "It connected to {ip} on port 22."]),
    ("cheap-deals-shop.biz", ["Paid with card {card}, order still missing, contact {email}.", "Billing phone {phone}."]),
    ("metro-tribune.com", ["Readers can reach the newsroom at {email} or {phone}.", "The leaked file listed an ID number, {id}, and a card, {card}."]),
    ("www.dailyharbor-news.com", ["The tip came from {email}, who gave the number {cn_phone}.", "Logs show access from {ip}."]),
    ("wiki.openatlas.org", ["Maintainer contact: {email}.", "Mirror at {ip}, backup key {key}."]),
    ("homecooking-journal.com", ["Questions about the recipe? Email {email} or call {phone}.", "Resident ID {id} won the raffle."]),
]  # fmt: skip


def _values(v: Values) -> dict[str, str]:
    key = v.key()
    while key == "__ASSIGN__" or "\n" in key:  # single-line tokens: the extractor joins lines
        key = v.key()
    cn = v.r.choice(["130", "138", "159", "186", "199"]) + v.digits(8)
    ip = v.ip()
    while ":" in ip:
        ip = v.ip()
    return {
        "email": v.email(),
        "phone": v.r.choice(
            ["+44 20 7946 0{0}{1}{2}", "+1 (212) 555-01{0}{1}", "+49 30 9018{0}{1}{2}"]
        ).format(*v.digits(3)),
        "cn_phone": f"{cn[:3]} {cn[3:7]} {cn[7:]}" if v.r.random() < 0.5 else cn,
        "id": v.id_number(),
        "card": v.card(),
        "ip": ip,
        "key": key,
        "password": v.password().replace("&", "A"),
    }


# Chinese pages (sites and sentences of scripts.sample_cjk), PII written the Chinese way.
ZH_PLANTS = [
    ["如需帮助请联系客服邮箱{email}，或拨打{cn_phone}。", "申请人身份证号码：{id}，银行卡号：{card}。"],
    ["服务器地址 {ip}，访问密钥 {key}。", "数据库密码是{password}，请勿外传。"],
    ["报名请发送邮件至{email}，咨询电话{cn_phone}。", "退款请打到我的卡{card}上，身份证{id}。"],
]


def zh_pii_pages(b) -> list:
    """Chinese good pages with planted values (notes as for pii_pages)."""
    from scripts.sample_cjk import CJK_SITES, SITE_LANG, ZH_POOL, _page

    v = Values(random.Random(f"sample-pii-zh/{b.seed}"))
    zh_sites = [s for s in CJK_SITES if SITE_LANG[s.host] == "zh"]
    pages = []
    for k, templates in enumerate(ZH_PLANTS):
        vals = _values(v)
        paras = ["".join(v.r.sample(ZH_POOL, 3)) for _ in range(4)]
        planted = []
        for t in templates:
            i = v.r.randrange(len(paras))
            paras[i] += t.format(**vals)
            planted += [vals[key] for key in vals if "{" + key + "}" in t]
        title = paras[0].split("，")[0][:20]
        p = _page(b, zh_sites[k % len(zh_sites)], "good", title, paras)
        p.notes = NOTES_PREFIX + json.dumps(sorted(set(planted)), ensure_ascii=False)
        pages.append(p)
    return pages


def pii_pages(b) -> list:
    """N_PAGES good pages (`b` is the crawl's Builder) with planted values recorded in `notes`."""
    from scripts.sample_crawl import SITES, finish

    v = Values(random.Random(f"sample-pii/{b.seed}"))
    by_host = {s.host: s for s in SITES}
    pages = []
    for host, templates in PLANTS[:N_PAGES]:
        p = b.good(by_host[host])
        vals = _values(v)
        planted = []
        for t in templates:
            sentence = t.format(**vals)
            i = v.r.randrange(len(p.paras))
            p.paras[i] = f"{p.paras[i]} {sentence}"
            planted += [vals[k] for k in vals if "{" + k + "}" in t]
        p.notes = NOTES_PREFIX + json.dumps(sorted(set(planted)), ensure_ascii=False)
        pages.append(finish(p, b.rng))
    return pages + zh_pii_pages(b)


def planted_values(labels: list[dict]) -> list[str]:
    """Every value planted in the crawl, from its labels.jsonl rows."""
    out = []
    for r in labels:
        if (r.get("notes") or "").startswith(NOTES_PREFIX):
            out += json.loads(r["notes"][len(NOTES_PREFIX) :])
    return sorted(set(out))

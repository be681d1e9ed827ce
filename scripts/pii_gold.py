"""A seeded gold set for PII detection: Chinese and English documents with inline-tagged spans.

    python -m scripts.pii_gold --out data/pii_gold.jsonl [--docs 2400] [--seed 0]

Each record: `text`, `tagged` (the same text with `<pii type="email">...</pii>` and
`<neg kind="isbn">...</neg>` tags inline), `spans` [[start, end, type]] and `negatives`
[[start, end, kind]]. Carrier sentences are real English (docstrings shipped with the Python
standard library) and hand-written Chinese sentences from everyday genres (forum posts, shop
pages, notices, CVs, support tickets). Values come from their own generators here (check digits
and Luhn computed independently of curate.pii), in the formats people write them. Hard negatives
look like PII and are not: ISBNs, DOIs, order numbers, timestamps, 18-digit numbers with a
wrong check digit, Luhn-invalid card numbers, UUIDs, git hashes, version strings, private IPs.
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

# ---------------------------------------------------------------------------------------------- carriers

_EN_MODULES = (
    "argparse", "logging", "email.message", "http.client", "json", "csv", "subprocess", "threading",
    "collections", "pathlib", "urllib.request", "zipfile", "tarfile", "shutil", "textwrap", "unittest",
    "sqlite3", "smtplib", "socket", "ssl", "hashlib", "random", "datetime", "calendar", "configparser",
    "difflib", "heapq", "inspect",
)  # fmt: skip

ZH_SENTENCES = """
今天下午三点在三楼会议室召开项目周会，请各位准时参加。
这款手机的续航表现不错，重度使用一天下来还剩百分之二十的电量。
小区物业通知：本周六上午九点至十二点停水，请业主提前做好储水准备。
我在这家店买过好几次了，发货很快，包装也很仔细。
本人三年前端开发经验，熟悉常见的前端框架和工程化工具。
如果您在使用过程中遇到任何问题，欢迎随时与我们联系。
报名截止日期为本月二十日，逾期将不再受理。
楼主说的情况我也遇到过，重启路由器之后就好了。
活动期间全场满三百减五十，部分商品除外。
这篇文章介绍了如何在家里用烤箱做出松软的面包。
学校图书馆将于下周一起延长开放时间至晚上十点。
请将简历和作品集一并发送，我们会在五个工作日内回复。
售后服务：自签收之日起七天内支持无理由退货。
昨天的比赛非常精彩，两支球队一直打到了加时赛。
春节假期期间，客服的工作时间调整为每天上午十点到下午六点。
房子在地铁站附近，步行大约十分钟，周边配套比较齐全。
作者长期关注城市规划和公共交通方面的话题。
有需要的朋友可以私信我，价格好商量。
这个问题在官方论坛上已经有人反馈过，开发者表示会在下个版本修复。
会议纪要已经整理好了，请大家查收并提出修改意见。
本店所有商品均为正品，支持专柜验货。
孩子最近对天文很感兴趣，周末我们去了一趟科技馆。
系统将于今晚十一点进行例行维护，届时部分功能可能无法使用。
快递显示已经到了驿站，但是我一直没有收到取件短信。
欢迎转载，但请注明出处并保留原文链接。
招聘岗位：数据分析师，工作地点在上海，薪资面议。
我们的团队由来自不同背景的工程师和设计师组成。
这家餐厅的招牌菜是红烧肉，味道偏甜，适合南方人的口味。
如需开具发票，请在下单时备注公司抬头和税号。
志愿者报名请填写以下信息，我们会尽快与您取得联系。
这段代码在本地运行正常，部署到服务器上就报错了。
新学期的课程表已经发布，请同学们登录教务系统查看。
天气预报说明天有大雨，出门记得带伞。
如果发现账号有异常登录，请立即修改密码。
感谢大家一直以来的支持，我们会继续努力做得更好。
该小区建于二零零八年，共有十二栋住宅楼。
参会人员名单如下，如有变动请及时告知。
本次调查结果仅用于学术研究，不会用于任何商业用途。
请在收到货物后仔细检查，如有破损请当场拒收。
我把配置文件贴在下面了，麻烦帮忙看一下哪里有问题。
""".split()

# Context phrases a value is written in, per type and language ({v} is the value).
POSITIVE_CONTEXT = {
    "email": {
        "en": [
            "Contact me at {v}.",
            "Send the draft to {v} before Friday.",
            "email: {v}",
            "({v})",
            "Questions? Write to {v}",
            "Reply-To: {v}",
            "or mail {v} directly",
        ],
        "zh": [
            "联系邮箱：{v}",
            "简历请发送至{v}，邮件标题注明应聘岗位。",
            "有问题可以发邮件到{v}。",
            "邮箱{v}",
            "作者邮箱（{v}）",
        ],
    },
    "phone": {
        "en": [
            "Call us on {v}.",
            "Tel: {v}",
            "phone {v}",
            "You can reach the office at {v} during business hours.",
            "Mobile: {v}",
            "WhatsApp {v}",
        ],
        "zh": [
            "联系电话：{v}",
            "如有疑问请致电{v}。",
            "我的手机号是{v}，欢迎来电。",
            "电话{v}（工作日）",
            "手机：{v}",
            "咨询热线 {v}",
        ],
    },
    "id_number": {
        "en": [
            "ID card number {v} was submitted with the form.",
            "Resident ID: {v}",
            "the applicant's ID {v}",
        ],
        "zh": ["身份证号码：{v}", "身份证号{v}", "请核对身份证 {v} 是否正确。", "证件号码（{v}）"],
    },
    "card": {
        "en": [
            "Card number: {v}",
            "I paid with my card {v} and it was charged twice.",
            "card {v} exp 09/27",
            "Credit card {v}",
        ],
        "zh": ["银行卡号：{v}", "退款请打到我的卡{v}上。", "卡号 {v}", "信用卡{v}被扣了两次款。"],
    },
    "ip": {
        "en": [
            "The request came from {v}.",
            "server {v} is down",
            "Ping {v} to test the connection.",
            "connect to http://{v}:8080/",
            "client_ip={v}",
            "[{v}]",
            "allow from {v}/24",
            "curl https://{v}:443/health",
        ],
        "zh": ["服务器地址：{v}", "登录IP {v} 异常。", "访问来源 {v}", "我这边 ping {v} 一直超时。"],
    },
    "key": {
        "en": [
            "export AWS_ACCESS_KEY_ID={v}",
            "token: {v}",
            "I accidentally committed {v} to the repo.",
            "Authorization: Bearer {v}",
            'key = "{v}"',
            "{v}",
        ],
        "zh": ["我的密钥是{v}，先别外传。", "配置里写的是 {v}", "令牌：{v}", "不小心把 {v} 提交到仓库了。"],
    },
}
NEGATIVE_CONTEXT = {
    "isbn": {"en": ["ISBN {v}", "(ISBN {v})", "ISBN-13: {v}"], "zh": ["ISBN {v}", "书号：{v}"]},
    "doi": {"en": ["doi:{v}", "https://doi.org/{v}", "DOI {v}"], "zh": ["论文 DOI：{v}"]},
    "order_number": {
        "en": [
            "Order #{v} has shipped.",
            "Your parcel {v} is out for delivery.",
            "reference code {v}",
            "Booking {v} confirmed.",
        ],
        "zh": ["订单号：{v}", "快递单号 {v}", "您的订单{v}已发货。", "工单编号{v}已受理。"],
    },
    "timestamp": {
        "en": ["at {v}", "timestamp {v}", "created_at: {v}", "logged {v}"],
        "zh": ["时间戳 {v}", "更新时间：{v}"],
    },
    "bad_id_check": {"en": ["number {v}", "ID {v}"], "zh": ["号码{v}", "身份证号：{v}"]},
    "luhn_invalid": {"en": ["card {v}", "number {v}"], "zh": ["卡号：{v}", "账号{v}"]},
    "uuid": {"en": ["request id {v}", "uuid: {v}"], "zh": ["请求ID {v}"]},
    "git_hash": {"en": ["commit {v}", "fixed in {v}", "revert {v}"], "zh": ["提交 {v}", "已在 {v} 中修复"]},
    "version": {
        "en": ["version {v}", "Chrome/{v}", "v{v}", "upgrade to {v}"],
        "zh": ["版本 {v}", "升级到 v{v} 之后"],
    },
    "date": {"en": ["on {v}", "dated {v}"], "zh": ["发布于{v}", "日期：{v}"]},
    "coordinates": {"en": ["located at {v}", "GPS {v}"], "zh": ["坐标 {v}"]},
    "oid": {"en": ["OID {v}", "the MIB node {v}"], "zh": ["节点 {v}"]},
    "price": {"en": ["priced at {v}", "total {v}"], "zh": ["售价{v}", "合计 {v}"]},
    "issn": {"en": ["ISSN {v}"], "zh": ["刊号 ISSN {v}"]},
    "private_ip": {
        "en": ["the router at {v}", "listen on {v}", "inet {v}"],
        "zh": ["内网地址 {v}", "路由器后台 {v}"],
    },
}


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


_PROVINCES = [
    11,
    12,
    13,
    14,
    15,
    21,
    22,
    23,
    31,
    32,
    33,
    34,
    35,
    36,
    37,
    41,
    42,
    43,
    44,
    45,
    46,
    50,
    51,
    52,
    53,
    54,
    61,
    62,
    63,
    64,
    65,
]
_SURNAMES = [
    "zhang",
    "wang",
    "li",
    "liu",
    "chen",
    "yang",
    "huang",
    "zhao",
    "wu",
    "zhou",
    "smith",
    "jones",
    "garcia",
    "miller",
    "nguyen",
    "kim",
    "patel",
    "muller",
]
_GIVEN = [
    "wei",
    "fang",
    "na",
    "min",
    "jing",
    "lei",
    "yan",
    "jun",
    "anna",
    "james",
    "maria",
    "david",
    "sofia",
    "lucas",
    "emma",
    "noah",
    "olivia",
    "mia",
]
_DOMAINS = [
    "gmail.com",
    "163.com",
    "qq.com",
    "126.com",
    "outlook.com",
    "yahoo.co.jp",
    "sina.com.cn",
    "foxmail.com",
    "mail.tsinghua.edu.cn",
    "hotmail.co.uk",
    "company.io",
    "shop-online.de",
    "alumni.stanford.edu",
    "proton.me",
]
_MOBILE = [
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "145",
    "147",
    "150",
    "151",
    "152",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "170",
    "173",
    "176",
    "177",
    "178",
    "180",
    "181",
    "182",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "198",
    "199",
]
_AREA = [
    "010",
    "020",
    "021",
    "022",
    "023",
    "024",
    "025",
    "027",
    "028",
    "029",
    "0311",
    "0351",
    "0371",
    "0431",
    "0451",
    "0512",
    "0531",
    "0571",
    "0574",
    "0591",
    "0731",
    "0755",
    "0757",
    "0769",
    "0871",
    "0898",
]


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


ASSIGN_CONTEXT = {
    "en": [
        "password={v}",
        'DB_PASSWORD="{v}"',
        "secret: {v}",
        "client_secret = '{v}'",
        "api_key: {v}",
        "aws_secret_access_key = {v}",
        '"token": "{v}"',
    ],
    "zh": ["密码：{v}", "数据库密码={v}", "登录密码是{v}", "password: {v}"],
}


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
                items.append((rng.choice(ASSIGN_CONTEXT[lang]), values.password(), "key", "pos"))
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

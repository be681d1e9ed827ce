"""The `pii` stage: detectors on Chinese and English text, hard negatives, the gold set, the stage."""

from __future__ import annotations

import gzip
import importlib.metadata
import re
import sysconfig
import time
from pathlib import Path

import pytest
import yaml

from curate.config import ConfigError, from_dict
from curate.pii import Redactor, terms_regex
from curate.pii.validators import gb11643_check_char, luhn_ok, valid_cn_id
from curate.stage import ShardStats, StageContext
from curate.stages.pii import PII, PIIConfig
from scripts.pii_gold import build_gold, score

R = Redactor({})


def redact(text: str) -> str:
    return R.redact(text)[0]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("请联系zhang.wei@example.com获取资料。", "请联系<EMAIL>获取资料。"),
        ("邮箱：li_na+news@mail.tsinghua.edu.cn，谢谢", "邮箱：<EMAIL>，谢谢"),
        ("Mail Anna.Smith@company.io.", "Mail <EMAIL>."),
        ("我的手机号是13812345678，欢迎来电", "我的手机号是<PHONE>，欢迎来电"),
        ("手机：+86 138-1234-5678。", "手机：<PHONE>。"),
        ("电话(+86)139 1234 5678", "电话<PHONE>"),
        ("咨询热线 010-62345678（工作日）", "咨询热线 <PHONE>（工作日）"),
        ("（0755）8612 3456", "<PHONE>"),
        ("Call +44 20 7946 0958 today", "Call <PHONE> today"),
        ("Phone: +1 (212) 555-0198.", "Phone: <PHONE>."),
        ("身份证号码：11010519491231002X。", "身份证号码：<ID_NUMBER>。"),
        ("身份证440524199001010018", "身份证<ID_NUMBER>"),
        ("卡号 6222 0212 3456 7890 128 已绑定", "卡号 <CARD> 已绑定"),
        ("Visa 4111-1111-1111-1111 exp 09/27", "Visa <CARD> exp 09/27"),
        ("Amex 3782 822463 10005", "Amex <CARD>"),
        ("来自 61.135.169.121 的请求", "来自 <IP> 的请求"),
        ("connect to http://[2a00:1450:4001:82b::200e]:8080/", "connect to http://[<IP>]:8080/"),
        ("export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "export AWS_ACCESS_KEY_ID=<KEY>"),
        ("token ghp_0123456789abcdefghijABCDEFGHIJ012345 leaked", "token <KEY> leaked"),
        ("glpat-xYz12345678901234567 and xoxb-1234567890-abcdefghij", "<KEY> and <KEY>"),
        ("OPENAI_API_KEY=sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z", "OPENAI_API_KEY=<KEY>"),
        ('DB_PASSWORD="Xk9#mP2$vL7q"', 'DB_PASSWORD="<KEY>"'),
        ("数据库密码是Wz8!kq72Lm", "数据库密码是<KEY>"),
        (
            "DATABASE_URL=postgres://admin:Xy7!pq92@10.0.0.5:5432/db",
            "DATABASE_URL=postgres://admin:<KEY>@10.0.0.5:5432/db",
        ),
        ("redis://:p4ssw0rd@cache:6379", "redis://:<KEY>@cache:6379"),
        (
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM\n-----END RSA PRIVATE KEY-----\nok",
            "<KEY>\nok",
        ),
    ],
)
def test_detects_and_replaces(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "ISBN 978-7-111-54742-6 和 ISBN-13: 9787111547426",
        "doi:10.1038/nature12373, https://doi.org/10.1145/3292500.3330701",
        "订单号：202403151234567890 已发货",
        "Order #13812345678 has shipped.",
        "时间戳 1712345678901，2024-03-15T08:30:00Z",
        "身份证号：110105194912310021",  # wrong GB 11643 check digit
        "card 4111 1111 1111 1112",  # fails Luhn
        "request id 550e8400-e29b-41d4-a716-446655440000",
        "fixed in 3f786850e387550fdab836ed7e6dc881de23001b",
        "upgrade to 2.0.0.1, Chrome/120.0.6099.109, v1.2.3.4, 版本 1.0.0.1, lz4>=1.7.4.2",
        "路由器后台 192.168.1.1，内网 10.0.0.8，127.0.0.1，fe80::1，2001:db8::1",
        "icon@2x.png and @types/node",
        "password = os.environ['DB_PASSWORD'] and token: str = None and secret_key = settings.SECRET_KEY",
        "password=changeme, password: ********, api_key=<your-api-key>",
        "https://user:password@host/ and mongodb://${USER}:${PASS}@h/ and http://x.org:8080/",
        "性价比很高的手机，性能不错",
        "The sklearn-compatible estimator sk-learn-compatible-estimators",
        "12:30:45 and 00:1a:2b:3c:4d:5e",
        'valid version numbers: 2.7.2.2, 3.1.1.6; sections "8.2.4.44 Bogus comment"',
        "token_type = 'address-list' and Decimal('+35236450.6')",
    ],
)
def test_hard_negatives_stay(text: str) -> None:
    assert redact(text) == text


def test_terms_match_whole_ascii_words_and_cjk_anywhere() -> None:
    rx = terms_regex(["Ann", "张三丰", "Acme Corp"])
    text = "Annual report by ann and ACME corp, 联系人张三丰。"
    assert [text[m.start() : m.end()] for m in rx.finditer(text)] == ["ann", "ACME corp", "张三丰"]
    assert terms_regex([" ", ""]) is None


@pytest.mark.parametrize(
    "text",
    [
        ("+" + "1" * 60 + " ") * 2000,  # nested phone groups: exponential in a backtracking engine
        ("a!" * 32 + "@") * 20000,  # many '@' after long local-part runs
        "-----BEGIN PRIVATE KEY-----\n" * 20000,  # BEGIN lines without END
        "1" * 300_000,
        ("2001:" * 30 + " ") * 2000,
        "password=" * 20000,
    ],
)
def test_hostile_inputs_stay_linear(text: str) -> None:
    start = time.perf_counter()
    R.redact(text)
    assert time.perf_counter() - start < 3.0  # each is well under 0.5 s; the bound allows a busy CI


def test_checksums() -> None:
    assert gb11643_check_char("11010519491231002") == "X"
    assert valid_cn_id("11010519491231002X") and valid_cn_id("11010519491231002x")
    assert not valid_cn_id("110105194913310021")  # month 13
    assert not valid_cn_id("990105194912310025")  # no such province
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")


def test_gold_set_thresholds() -> None:
    """A modest gold set (seed 1; the bench scores the full one): the issue's targets."""
    docs = build_gold(600, seed=1)
    res = score(docs, R.spans)
    assert sum(res["spans"].values()) >= 1400
    for t in ("id_number", "card"):  # checksum-validated types
        assert res["recall"][t] >= 0.99, (t, res)
    for t in ("email", "phone", "ip", "key"):
        assert res["recall"][t] >= 0.98, (t, res)
    assert res["precision"] >= 0.98, res
    assert res["hard_negative_hit_rate"] <= 0.02, res


def test_gold_set_is_tagged_inline() -> None:
    d = build_gold(4, seed=3)[1]
    assert d["lang"] == "zh"
    tags = re.findall(r'<pii type="(\w+)">(.*?)</pii>', d["tagged"], re.S)
    assert [(t, v) for t, v in tags] == [(t, d["text"][s:e]) for s, e, t in d["spans"]]
    assert re.sub(r"</?(?:pii|neg)[^>]*>", "", d["tagged"]) == d["text"]


def test_real_package_metadata() -> None:
    """Real text: every Author-email / Maintainer-email address in the installed packages' METADATA."""
    texts = [d.read_text("METADATA") or "" for d in importlib.metadata.distributions()][:80]
    emails = 0
    for text in texts:
        out = redact(text)
        for line in text.splitlines():
            if line.lower().startswith(("author-email:", "maintainer-email:")):
                for e in re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", line):
                    emails += 1
                    assert e not in out
    assert emails >= 20


def test_real_source_code_has_few_false_positives() -> None:
    """Real text: the standard library's own modules (code, docstrings, examples; ~12 MB). Authors'
    emails are real PII; anything else found is a false positive (e.g. '123.45.67.89' in an
    example), at most one per MB."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = [
        p for p in sorted(stdlib.glob("**/*.py")) if "test" not in p.parts and "site-packages" not in p.parts
    ]
    mb, other = 0.0, []
    for p in files:
        text = p.read_text(encoding="utf-8", errors="replace")
        mb += len(text.encode()) / 1e6
        other += [(p.name, t) for _, _, t in R.spans(text) if t != "email"]
    assert mb > 5 and len(other) <= mb, other


def test_real_chinese_and_japanese_sentences_hold_nothing() -> None:
    """Real Chinese and Japanese prose (man-page sentences shipped with the sample crawl): no item."""
    from scripts.sample_cjk_text import JA_SENTENCES, ZH_SENTENCES

    text = "\n".join(ZH_SENTENCES + JA_SENTENCES)
    assert len(text) > 5000 and R.spans(text) == []


ZH_MAN = sorted(Path("/usr/share/man/zh_CN").glob("man*/*.gz"))


@pytest.mark.skipif(not ZH_MAN, reason="Debian's manpages-zh is not installed")
def test_real_chinese_man_pages() -> None:
    """Real Chinese text: Debian's translated man pages, which credit translators by email. Every
    address an independent pattern finds is redacted; other items (real addresses and phone
    numbers in examples, a few false positives) stay under 10 per MB."""
    emails = other = 0
    mb = 0.0
    for p in ZH_MAN:
        text = gzip.open(p, "rt", encoding="utf-8", errors="replace").read()
        mb += len(text.encode()) / 1e6
        out, counts = R.redact(text)
        other += sum(n for t, n in counts.items() if t != "email")
        for e in re.findall(r"[A-Za-z0-9][\w.+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", text):
            emails += 1
            assert e not in out, (p.name, e)
    assert emails >= 100 and other <= 10 * mb


@pytest.mark.parametrize("name", ["web", "smoke", "code-docs", "zh-web"])
def test_shipped_pipelines_redact_right_after_ingest(name: str) -> None:
    spec = yaml.safe_load((Path(__file__).resolve().parents[2] / "pipelines" / f"{name}.yaml").read_text())
    stages = [next(iter(s.items())) for s in spec["stages"]]
    assert [n for n, _ in stages[:2]] == ["ingest", "pii"]
    cfg = from_dict(PIIConfig, stages[1][1] or {}, "pii")
    assert all(getattr(cfg, t) == "replace" for t in ("email", "phone", "id_number", "card", "ip", "key"))
    filt = dict(stages)["filter"]
    assert filt["harmful"]["categories"] == ["adult", "gambling", "fraud", "phishing"]


def _run(cfg: dict, docs: list[dict]) -> tuple[list[tuple[dict, str | None]], ShardStats]:
    config = from_dict(PIIConfig, cfg, "pii")
    stage = PII(config, StageContext(Path("."), Path("."), 1, "t"))
    stats = ShardStats()
    return list(stage.process(iter(docs), stats)), stats


def test_stage_actions_and_counters(tmp_path: Path) -> None:
    terms = tmp_path / "terms.txt"
    terms.write_text("# customers\nAcme Corp\n张三丰\n", encoding="utf-8")
    docs = [
        {
            "id": "a",
            "text": "Write to zhang@example.com or call 13812345678.",
            "url": "https://x.org/u?m=zhang@example.com",
        },
        {"id": "b", "text": "服务器 8.8.8.8 的密钥 AKIAIOSFODNN7EXAMPLE", "url": "https://x.org/b"},
        {"id": "c", "text": "Acme Corp 的联系人张三丰, employee EMP-123456, ip 1.1.1.1", "url": None},
        {"id": "d", "text": "nothing here", "url": "https://x.org/d"},
    ]
    cfg = {
        "ip": "keep",
        "key": "drop",
        "terms_file": str(terms),
        "patterns": [{"name": "employee_id", "regex": r"EMP-[0-9]{6}"}],
    }
    out, stats = _run(cfg, [dict(d) for d in docs])
    by_id = {d["id"]: (d, r) for d, r in out}
    assert by_id["a"] == (
        {"id": "a", "text": "Write to <EMAIL> or call <PHONE>.", "url": "https://x.org/u?m=<EMAIL>"},
        None,
    )
    doc_b, reason_b = by_id["b"]
    assert (
        reason_b == "pii_key" and doc_b["text"] == "服务器 8.8.8.8 的密钥 <KEY>"
    )  # dropped, stored redacted
    assert by_id["c"][0]["text"] == "<NAME> 的联系人<NAME>, employee <EMPLOYEE_ID>, ip 1.1.1.1"
    assert by_id["d"] == (docs[3], None)
    assert stats.counters == {
        "replaced:email": 2,
        "replaced:phone": 1,
        "replaced:key": 1,
        "replaced:term": 2,
        "replaced:employee_id": 1,
        "docs_redacted": 3,
    }


def test_stage_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown key 'emial'"):
        from_dict(PIIConfig, {"emial": "drop"}, "pii")
    with pytest.raises(ConfigError, match="not one of"):
        from_dict(PIIConfig, {"email": "mask"}, "pii")
    with pytest.raises(ConfigError, match="not a valid regex"):
        from_dict(PIIConfig, {"patterns": [{"name": "x", "regex": "("}]}, "pii")
    with pytest.raises(ConfigError, match="differ from the built-in"):
        from_dict(PIIConfig, {"patterns": [{"name": "email", "regex": "x"}]}, "pii")

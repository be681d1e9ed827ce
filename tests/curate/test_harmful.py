"""The `harmful` filter: URL and word lists shipped with the install, categories, Scunthorpe cases."""

from __future__ import annotations

import importlib.metadata
import socket
import time
from pathlib import Path

import pytest

from curate.config import ConfigError, from_dict
from curate.filters import DocView
from curate.filters import harmful as harmful_mod
from curate.filters.harmful import HarmfulConfig, HarmfulFilter
from curate.stages.filter import FilterConfig
from scripts.harmful_gold import build_harmful_gold, score


@pytest.fixture(scope="module")
def f() -> HarmfulFilter:
    return HarmfulFilter(HarmfulConfig())


def check(f: HarmfulFilter, url: str, text: str = "") -> str | None:
    return f.check(DocView({"url": url, "text": text}))


@pytest.mark.parametrize(
    "url, reason",
    [
        ("https://www.pornhub.com/view_video.php?v=1", "harmful_url:adult"),  # on the UT1 list
        ("https://m.0001casino.com/", "harmful_url:gambling"),  # a subdomain of a listed domain
        ("https://freepornvideos4k.xyz/a", "harmful_url:adult"),  # glued URL words
        ("https://royal-casino-bonus.top/slots", "harmful_url:gambling"),
        ("https://bet365.com/en", "harmful_url:gambling"),
        ("https://www.scunthorpe-telegraph.co.uk/news", None),
        ("https://cocktailbar-london.co.uk/menu", None),
        ("https://www.sussexexpress.co.uk/", None),
        ("https://peacock-films.org/", None),
        ("https://bigblackdog.com/", None),
        ("https://www.analyticsvidhya.com/", None),
        ("https://www.gamblingcommission.gov.uk/news/1", None),
        ("https://www.nhs.uk/live-well/sexual-health/sex-education/", None),  # datatrove's soft rule hits it
        ("https://sexy-lingerie-babes.com/x", "harmful_url:adult"),
    ],
)
def test_urls(f: HarmfulFilter, url: str, reason: str | None) -> None:
    assert check(f, url) == reason


def test_words_and_scunthorpe_cases(f: HarmfulFilter) -> None:
    url = "https://example.org/p"
    spam = "澳门葡京娱乐城真人荷官在线发牌，百家乐任你玩。首存送彩金，每日返水，提现秒到。"
    assert check(f, url, spam) == "harmful_words:gambling"
    assert check(f, url, "Hot milf porn videos, free xxx tube, live sex cams with horny camgirls.") == (
        "harmful_words:adult"
    )
    benign_zh = (
        "这款手机性价比很高，性能也很稳定。请填写姓名、性别。他个性爱好广泛。这位将军被后人叫做爱国英雄。"
        "清明时节淫雨霏霏。市民可以报名参加成人教育课程。我跟同事打赌明天下雨。"
    )
    assert f.words.hits(benign_zh) == {}
    benign_en = (
        "Scunthorpe and Sussex farmers met at a cocktail bar. Hancock read Dickens to the assassin. "
        "A peacock and a cocker spaniel. The therapist analysed the Titanic cumulative data."
    )
    assert f.words.hits(benign_en) == {}  # whole words: no listed term inside another word
    # a listed word used innocently once ('blue tit') is a hit, not a removal
    assert check(f, url, benign_en + " A blue tit sang.") is None
    lottery = "The Powerball jackpot climbed to 1.2 billion after no ticket matched in the lottery draw. " * 4
    assert check(f, url, lottery) is None  # lottery news is news
    # one casino mention in a news story is not a casino's page
    news = (
        "Police raided an illegal casino in the harbour district on Tuesday. " + "The city council met. " * 20
    )
    assert check(f, url, news) is None


def test_hostile_pages_stay_linear(f: HarmfulFilter) -> None:
    """A term inside a benign word, 200,000 times; a 1 MB URL: time linear in the size."""
    start = time.perf_counter()
    assert check(f, "https://x.org/", "个性爱好 " * 200_000) is None
    assert check(f, "https://x.org/" + "abcdefgh-" * 100_000) is None
    assert time.perf_counter() - start < 10.0  # ~2 s on a busy 2-core machine


def test_categories_are_selectable() -> None:
    only = HarmfulFilter(HarmfulConfig(categories=["gambling"]))
    assert check(only, "https://www.pornhub.com/") is None
    assert check(only, "https://0001casino.com/") == "harmful_url:gambling"
    with pytest.raises(ConfigError, match="unknown 'violence'"):
        from_dict(FilterConfig, {"harmful": {"categories": ["violence"]}}, "filter")


def test_filter_stage_runs_harmful_after_regex() -> None:
    from curate.filters.regex import RegexFilter
    from curate.stage import StageContext, get_stage

    cfg = from_dict(FilterConfig, {"regex": {"doc_patterns": ["x"]}, "harmful": {}, "min_chars": 0}, "filter")
    stage = get_stage("filter")(cfg, StageContext(Path("."), Path("."), 2, "t"))
    filters, _ = stage.build_filters()
    assert [type(x) for x in filters] == [RegexFilter, HarmfulFilter]


def test_eval_set_with_sockets_blocked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Recall >= 0.95 on adult and gambling URLs + pages, <= 1% false positives on benign pages with
    trap words; every list read from the installed packages with no network (the UT1 cache is
    rebuilt from datatrove's tarball into an empty cache directory)."""

    def no_network(*args, **kwargs):
        raise OSError("network access in a test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    for cached in (harmful_mod.ut1_domains, harmful_mod.ut1_urls, harmful_mod.word_lists):
        cached.cache_clear()
    f = HarmfulFilter(HarmfulConfig())
    assert list(tmp_path.glob("llmcli/ut1-domains-*.npy"))  # the cache was written
    items = build_harmful_gold(seed=1, per_class=60)
    res = score(items, lambda it: check(f, it["url"], it["text"]))
    assert res["recall"]["adult"] >= 0.95 and res["recall"]["gambling"] >= 0.95, res
    assert res["false_positive_rate"] <= 0.01, res["false_positives"]
    harmful_mod.ut1_domains.cache_clear()


ZH_MAN = sorted(Path("/usr/share/man/zh_CN").glob("man*/*.gz"))


@pytest.mark.skipif(not ZH_MAN, reason="Debian's manpages-zh is not installed")
def test_real_chinese_man_pages_are_benign(f: HarmfulFilter) -> None:
    """Real Chinese text: none of Debian's ~800 translated man pages is a harmful page."""
    import gzip

    flagged = [p.name for p in ZH_MAN if f.words_category(gzip.open(p, "rt", errors="replace").read())]
    assert len(ZH_MAN) > 100 and not flagged


def test_real_package_descriptions_are_benign(f: HarmfulFilter) -> None:
    """Real text: the READMEs of the installed packages (their METADATA) hold no harmful page."""
    flagged = []
    n = 0
    for dist in importlib.metadata.distributions():
        text = dist.read_text("METADATA") or ""
        if len(text) > 500:
            n += 1
            if f.words_category(text) is not None:
                flagged.append(dist.metadata["Name"])
    assert n >= 30 and not flagged

"""A seeded evaluation set for the harmful-content filter: labelled URLs and pages, en and zh.

    from scripts.harmful_gold import build_harmful_gold; items = build_harmful_gold(seed=0)

Each item: {url, text, lang, label} with label adult / gambling / fraud / phishing / benign.
Harmful pages are written in the voice of the spam they imitate, from sentence pools here (not
from the filter's lists); their URLs are either domains sampled from the UT1 list in datatrove's
wheel or new, unlisted hosts made of the words such sites use. Benign pages are real English
(Python's docstrings, as in scripts.pii_gold) and everyday Chinese sentences, each with trap
sentences added: words that contain a listed term (Scunthorpe, cocktail, Sussex, 性别, 性能,
性价比, 个性爱好, 淫雨霏霏) and single innocent mentions (a news story that names a casino).
Benign URLs include the classic glued traps (expertsexchange, penisland, therapistfinder).
"""

from __future__ import annotations

import random
import tarfile
from pathlib import Path

from scripts.pii_gold import ZH_SENTENCES, english_sentences

HARMFUL_POOLS = {
    ("adult", "en"): [
        "Watch free HD porn videos updated every day.",
        "Hot milf and teen xxx clips, no sign up required.",
        "The best adult tube with thousands of hardcore scenes.",
        "Live sex cams with naked girls waiting for you right now.",
        "Horny singles in your area want to chat tonight.",
        "Download uncensored hentai and nsfw galleries for free.",
        "Amateur blowjob and threesome videos in full length.",
        "Join now for unlimited access to exclusive porno content.",
        "Busty camgirls strip live, tip tokens to unlock private shows.",
        "Top rated xxx categories: anal, bdsm, lesbian, mature.",
    ],
    ("adult", "zh"): [
        "最新日本AV女优无码高清在线观看，每日更新。",
        "成人视频免费看，午夜福利不限速。",
        "美女直播视频裸聊，一对一私密真人秀场。",
        "同城约炮一夜情，附近的寂寞美女等你来撩。",
        "激情视频和色情小说合集，宅男福利请收藏。",
        "三级片伦理片在线播放，无需注册会员。",
        "楼凤外围女上门，诚信安全。",
        "高清偷拍自拍视频，啪啪啪精选。",
        "黄色网站永久地址发布页，防止失联。",
        "巨乳福利姬写真，VIP会员独享。",
    ],
    ("gambling", "en"): [
        "Claim your 200% welcome bonus and 100 free spins today.",
        "The best online casino with live dealers and instant withdrawals.",
        "Play roulette, blackjack and baccarat from your phone.",
        "Sports betting odds for every match, bet in-play with our sportsbook.",
        "Use bonus code WIN500 for a no deposit bonus.",
        "Progressive jackpot slots paid out over two million this week.",
        "Crypto casino: deposit bitcoin and start playing poker in seconds.",
        "Low wagering requirements on every deposit bonus.",
        "Texas holdem tournaments every night with guaranteed prize pools.",
        "Our bookmaker offers the best parlay payouts in the industry.",
    ],
    ("gambling", "zh"): [
        "澳门葡京娱乐城真人荷官在线发牌，百家乐龙虎斗任你玩。",
        "首存送彩金百分之百，每日返水最高百分之二。",
        "信誉平台，提现秒到，注册送88元体验金。",
        "北京赛车、幸运飞艇、时时彩计划免费分享。",
        "足球投注体育投注全网赔率最高。",
        "网上赌场老虎机电子游艺捕鱼游戏应有尽有。",
        "香港六合彩开奖直播，彩票计划稳赚不赔。",
        "太阳城威尼斯人官方直营，安全稳定。",
        "棋牌游戏炸金花斗地主赢钱，下注即送。",
        "存款优惠天天有，洗码无上限。",
    ],
    ("fraud", "en"): [
        "Buy fake passports and fake ids that pass any scanner.",
        "Cloned credit cards and fullz with high balance, cvv shop online.",
        "Double your bitcoin in 24 hours with our guaranteed returns.",
        "You have won the lottery, claim your prize by paying a small wire transfer fee.",
        "I am a barrister and you are the next of kin to an inheritance fund.",
        "Work from home and earn 500 dollars per day, no experience needed.",
    ],
    ("fraud", "zh"): [
        "兼职刷单日结，手机就能做，足不出户月入过万。",
        "办证刻章，代开发票，增值税发票可验证。",
        "网贷秒批黑户贷款，无视征信，秒下款。",
        "高价收购银行卡，出租银行卡跑分日赚千元。",
        "恭喜您中奖，请先缴纳手续费领取奖金。",
        "带单老师免费荐股，保本高收益翻倍收益。",
    ],
    ("phishing", "en"): [
        "Your account has been suspended due to unusual sign-in activity.",
        "Please verify your account within 24 hours to restore access.",
        "Click the link below and confirm your password.",
        "Update your payment information to avoid your account will be closed.",
    ],
    ("phishing", "zh"): [
        "您的账户已被冻结，请点击链接验证身份。",
        "您的账号存在风险，请立即登录并输入验证码。",
        "您的积分即将清零，请尽快重新登录验证。",
        "您的ETC已失效，请点击链接立即验证。",
    ],
}
TRAP_SENTENCES = {
    "en": [
        "Scunthorpe United won the match in front of a home crowd.",
        "The bar is known for its cocktail menu and its quiet terrace.",
        "Farms across Sussex, Essex and Middlesex reported a late harvest.",
        "Hancock signed the declaration with a famously large signature.",
        "The novel follows an assassin who retires to a fishing village.",
        "A blue tit and a great tit visited the feeder all morning.",
        "The hooker threw the ball into the lineout and the forwards drove forward.",
        "Researchers studied sex differences in the onset of the disease.",
        "Our cocker spaniel loves long walks by the canal.",
        "The sextant let sailors measure the angle of the sun.",
        "She read every novel by Dickens during the summer.",
        "The therapist suggested writing down one good thing each day.",
        "The Titanic sank on its maiden voyage in 1912.",
        "The film's casino scene was shot in a single take.",
        "I bet the train will be late again.",
        "The state lottery funds part of the school budget.",
        "Police shut down an illegal gambling den in the old warehouse.",
        "The cumulative analysis covered a whole decade of data.",
        "Grapeshot and cannon were used in the battle.",
        "A peacock wandered across the lawn of the manor.",
    ],
    "zh": [
        "这款手机性价比很高，性能也很稳定。",
        "请在表格中填写姓名、性别和出生日期。",
        "他个性爱好广泛，喜欢爬山和摄影。",
        "这位将军被后人叫做爱国英雄。",
        "清明时节淫雨霏霏，路上行人不多。",
        "市民可以报名参加成人教育课程和成人高考。",
        "我跟同事打赌，明天一定会下雨。",
        "本期体育彩票的销售额用于公益事业。",
        "新上映的电影支持裸眼3D效果。",
        "女性和男性在这项研究中的比例大致相同。",
        "系统的安全性和可靠性都经过了严格测试。",
        "警方依法打击网络赌博违法犯罪活动。",
        "他上个月裸辞了，打算休息一段时间。",
        "如果发现账号异常，请联系官方客服。",
    ],
}
_ADULT_HOST_WORDS = ["porn", "xxx", "sex", "milf", "cams", "tube", "hentai", "nsfw", "camgirls", "nude", "hotgirls", "adult", "escort", "teenporn", "freeporn", "pornhd"]  # fmt: skip
_GAMBLING_HOST_WORDS = ["casino", "bet", "poker", "slots", "jackpot", "spins", "betting", "roulette", "baccarat", "sportsbook", "bocai", "vegas", "lucky", "win", "royal"]  # fmt: skip
_TLDS = ["com", "net", "xyz", "top", "club", "vip", "cc", "online", "site"]
BENIGN_URLS = [
    "https://www.scunthorpe-telegraph.co.uk/news/{n}",
    "https://cocktailbar-london.co.uk/menu/{n}",
    "https://www.sussexexpress.co.uk/{n}",
    "https://essex-live.news/story-{n}",
    "https://www.expertsexchange.com/questions/{n}",
    "https://www.penisland.net/pens/{n}",
    "https://therapistfinder.com/profile/{n}",
    "https://peacock-films.org/{n}",
    "https://hancock-county.gov/{n}",
    "https://analytics.example-shop.com/report/{n}",
    "https://titanic-museum.org/{n}",
    "https://milford-mirror.com/{n}",
    "https://docs.python.org/3/library/{n}.html",
    "https://zh.wikipedia.org/wiki/{n}",
    "https://www.bbc.co.uk/news/articles/{n}",
    "https://cockpit-project.org/guide/{n}",
    "https://www.gamblingcommission.gov.uk/news/{n}",
    "https://news.sina.com.cn/c/{n}.shtml",
    "https://www.nhs.uk/live-well/sexual-health/sex-education-{n}/",
    "https://kidshealth.org/en/teens/sexual-orientation-{n}.html",
    "https://www.cancer.org/breast-cancer/nipple-changes-{n}",
]


def ut1_sample(n: int, rng: random.Random, gambling: bool) -> list[str]:
    """`n` domains from the UT1 list in datatrove's wheel (casino-like names, or the rest)."""
    from datatrove.utils._import_utils import ASSETS_PATH

    with tarfile.open(Path(ASSETS_PATH) / "url_filterblacklistsv0_3_0.tar.gz", "r:gz") as tar:
        data = tar.extractfile("domains").read()
    rng2 = random.Random(rng.random())
    picked: list[str] = []
    words = ("casino", "poker", "bet", "slot", "lotto", "bingo")
    while len(picked) < n:  # the line around a random byte offset (no split of 4.5 M lines)
        i = data.rfind(b"\n", 0, rng2.randrange(len(data))) + 1
        d = data[i : data.find(b"\n", i)].decode("utf-8", "replace").strip()
        if d and d not in picked and any(w in d for w in words) == gambling:
            picked.append(d)
    return picked


def _host(rng: random.Random, words: list[str]) -> str:
    parts = rng.sample(words, 2) + [str(rng.randint(1, 999))] * (rng.random() < 0.3)
    return rng.choice(["", "-"]).join(parts) + "." + rng.choice(_TLDS)


def build_harmful_gold(seed: int = 0, per_class: int = 100) -> list[dict]:
    rng = random.Random(f"harmful-gold/{seed}")
    en = english_sentences()
    items = []
    for (label, lang), pool in HARMFUL_POOLS.items():
        n = per_class if label in ("adult", "gambling") else per_class // 4
        listed = ut1_sample(n // 2, rng, label == "gambling") if label in ("adult", "gambling") else []
        for k in range(n):
            sentences = [rng.choice(pool) for _ in range(rng.randint(4, 9))]
            text = ("" if lang == "zh" else " ").join(sentences)
            if k < len(listed):
                url = f"https://{listed[k]}/{rng.randint(1, 9999)}"
            elif label == "adult":
                url = f"https://{_host(rng, _ADULT_HOST_WORDS)}/video/{rng.randint(1, 99999)}"
            elif label == "gambling":
                url = f"https://{_host(rng, _GAMBLING_HOST_WORDS)}/promo/{rng.randint(1, 99)}"
            else:  # fraud and phishing hosts are throwaway names: only the words can tell
                url = f"https://{rng.choice(['secure', 'service', 'info', 'help'])}-{rng.randint(100, 999)}.{rng.choice(_TLDS)}/"
            items.append({"url": url, "text": text, "lang": lang, "label": label})
    for k in range(per_class * 4):
        lang = "zh" if k % 2 else "en"
        carriers = ZH_SENTENCES if lang == "zh" else en
        sentences = [rng.choice(carriers) for _ in range(rng.randint(4, 12))]
        for _ in range(rng.randint(1, 3)):
            sentences.insert(rng.randrange(len(sentences) + 1), rng.choice(TRAP_SENTENCES[lang]))
        text = ("" if lang == "zh" else " ").join(sentences)
        url = rng.choice(BENIGN_URLS).format(n=rng.randint(1, 99999))
        items.append({"url": url, "text": text, "lang": lang, "label": "benign"})
    return items


def score(items: list[dict], check) -> dict:
    """Recall per harmful label (any harmful reason counts as caught; the category is scored
    separately), the false-positive rate on benign pages, and the benign pages flagged."""
    caught: dict[str, list[int]] = {}
    right_cat: dict[str, int] = {}
    false_pos = []
    for it in items:
        reason = check(it)
        if it["label"] == "benign":
            if reason is not None:
                false_pos.append((it["url"], reason))
            continue
        c = caught.setdefault(it["label"], [0, 0])
        c[1] += 1
        c[0] += reason is not None
        right_cat[it["label"]] = right_cat.get(it["label"], 0) + (
            reason is not None and reason.endswith(":" + it["label"])
        )
    n_benign = sum(it["label"] == "benign" for it in items)
    return {
        "recall": {k: v[0] / v[1] for k, v in caught.items()},
        "category_accuracy": {k: right_cat[k] / caught[k][1] for k in caught},
        "benign": n_benign,
        "false_positive_rate": len(false_pos) / n_benign,
        "false_positives": false_pos,
    }

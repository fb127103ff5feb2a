"""Risk signals: texts that threaten to escalate (regulator, media, court) or to leave."""

from __future__ import annotations

import re
from functools import lru_cache

from analytics.chinese import TermMatcher
from analytics.models import RiskFlag

RISK_TERMS: dict[str, str] = {
    RiskFlag.REGULATOR: (
        # banks and insurers
        "银保监 银保监会 保监会 银监会 证监会 金融监管 金管局 监管局 监管部门 监管机构 监管总局 "
        "人民银行 央行 "
        # operators, delivery, airlines, hospitals, utilities: each sector's own regulator
        "工信部 通信管理局 邮政管理局 邮政管理部门 邮政局 民航局 民航总局 卫健委 卫生局 医保局 "
        "住建局 发改委 价格监督 物价局 能源局 "
        # consumer bodies and the government's general lines
        "消协 消费者协会 市场监管 工商局 信访 举报"
    ),
    RiskFlag.MEDIA: (
        "曝光 媒体 记者 微博 抖音 小红书 今日头条 电视台 报社 发帖 网上发 黑猫投诉 315晚会 "
        "发朋友圈 大众点评 论坛 汽车之家 让大家看看 让大家评评"
    ),
    RiskFlag.LEGAL: (
        "起诉 律师 律师函 法院 诉讼 打官司 法律途径 法律程序 走法律 仲裁 报警 公安 立案 法律责任"
    ),
    RiskFlag.CHURN: (
        "销户 注销 退卡 转到别的银行 转到其他银行 换银行 换一家 换别家 去别家 不再用 再也不用 "
        "再也不来 不会再来 不再来 解约 退订 卸载 转走 把钱取出来 取消合作 "
        "携号转网 转网 换运营商 退保 又不是只有你"
    ),
}
# Phrases that contain a risk term but are no threat: a deposit to be refunded (退订金), the
# cost of a surrender already made (退保扣了...).
NOT_RISK = "退订金 退保费 退保扣 退保损失 退保手续费 退保的钱"
# Paraphrases no list of words covers: the sectors' complaint hotlines (12315, 12300, 12326,
# 12345...; not 12306, the railway's booking line), going to a competitor, not renewing, never
# again buying or coming.
RISK_PATTERNS: dict[str, str] = {
    RiskFlag.REGULATOR: r"(?<!\d)123(?!06)\d\d(?!\d)",
    RiskFlag.MEDIA: r"(?:发|放|传|挂)(?:到|在)?网上",
    RiskFlag.CHURN: "|".join(
        (
            r"(?:换|转|改用|选)(?:到)?(?:别的|别家|其他|其它|另一家|隔壁)",
            # 去 alone is going somewhere ("出去外面", "去其他景点"): only to a competitor.
            r"去(?:别的|别家|其他|其它|另一家|隔壁)(?:银行|行|店|家|平台|医院|公司|航司|航空公司|"
            r"运营商|超市|商场|网点|快递|4s店)",
            r"以后(?:就|都)?去(?:外面|别处|别家)",
            r"(?:换|转)(?:到)?(?:移动|联通|电信|广电|物业|保险公司|航司|航空公司|平台)",
            r"不(?:再)?续(?!航)",
            r"不在你们(?:这|家)",
            r"不(?:会|想|打算|愿意)?再(?:在你们|用|买|来|坐|选|去|找|办|存|跟你们|光顾|回购)",
            r"再也不(?:会|想)?(?:用|买|来|坐|选|去|找|办|存|光顾)",
            r"不(?:会|想)?(?:再)?回购",
            r"不想(?:再)?用",
            r"(?:我|以后)(?:就)?不(?:再)?用(?:了|你们)",
            r"会员我?(?:退|不续)|退了?会员",
            r"宁(?:愿|可)[^，。！？,.!?]{0,6}(?:坐|换|用|选|去)",
            r"(?:钱|存款|定期|理财)[^，。！？,.!?]{0,4}(?:取出来|转走|取走)",
        )
    ),
}
# RiskFlag.values builds its list on every call: kept once, in RiskFlag's order.
_ORDER = tuple(RiskFlag.values)
# "我不会去投诉" is no threat; "不能销户" still is, so only intent is a negation here.
_DISAVOWAL = re.compile(r"不会|不想|不打算|不至于|没必要|暂时不")
DISAVOWAL_WINDOW = 6
# ...or right after it: "携号转网？暂时不想折腾", "转网的事我问问而已". Only these: "不会再回来"
# after "换到别的平台了" confirms the threat.
_DISAVOWAL_AFTER = re.compile(
    r"[^，。！？,.!?]{0,6}(?:问问而已|只是问问|还没决定)|[？?，,]\s*(?:暂时|还)(?:不想|不会|不打算)"
)


@lru_cache(maxsize=1)
def _matcher() -> TermMatcher[str]:
    terms = {term: flag for flag, terms in RISK_TERMS.items() for term in terms.split()}
    return TermMatcher(terms | dict.fromkeys(NOT_RISK.split(), ""))


@lru_cache(maxsize=1)
def _patterns() -> re.Pattern:
    return re.compile("|".join(f"(?P<{flag}>{p})" for flag, p in RISK_PATTERNS.items()))


def _matches(text: str) -> list[tuple[int, str, str]]:
    """(start, flag, term) of every risk term and paraphrase in the text, in text order; a
    paraphrase inside a "not a risk" phrase does not count."""
    found = [(m.start, m.value, m.term) for m in _matcher().find(text)]
    blocked = [(start, start + len(term)) for start, flag, term in found if not flag]
    for match in _patterns().finditer(text):
        if not any(s <= match.start() < e for s, e in blocked):
            found.append((match.start(), match.lastgroup or "", match.group()))
    return sorted(f for f in found if f[1])


def risk_flags_find(text: str) -> list[dict]:
    """[{"flag": ..., "term": ...}] for each risk the normalised text signals, the first term
    found standing as the reason, in the order of RiskFlag."""
    found: dict[str, str] = {}
    for start, flag, term in _matches(text):
        window = text[max(0, start - DISAVOWAL_WINDOW) : start]
        disavowed = _DISAVOWAL.search(window) or _DISAVOWAL_AFTER.match(text, start + len(term))
        if flag not in found and not disavowed:
            found[flag] = term
    return [{"flag": flag, "term": found[flag]} for flag in _ORDER if flag in found]

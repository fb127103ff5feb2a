"""Risk signals: texts that threaten to escalate (regulator, media, court) or to leave."""

from __future__ import annotations

import re
from functools import lru_cache

from analytics.chinese import TermMatcher
from analytics.models import RiskFlag

RISK_TERMS: dict[str, str] = {
    RiskFlag.REGULATOR: (
        "银保监 银保监会 保监会 银监会 证监会 金融监管 金管局 监管局 监管部门 监管机构 人民银行 "
        "央行 12315 12378 12363 12345 消协 消费者协会 市场监管 工商局 信访 举报"
    ),
    RiskFlag.MEDIA: (
        "曝光 媒体 记者 微博 抖音 小红书 今日头条 电视台 报社 发帖 网上发 黑猫投诉 315晚会 发朋友圈"
    ),
    RiskFlag.LEGAL: "起诉 律师 律师函 法院 诉讼 打官司 法律途径 仲裁 报警 公安 立案 法律责任",
    RiskFlag.CHURN: (
        "销户 注销 退卡 转到别的银行 转到其他银行 换银行 换一家 换别家 去别家 不再用 再也不用 "
        "再也不来 不会再来 不再来 解约 退订 卸载 转走 把钱取出来 取消合作"
    ),
}
# "我不会去投诉" is no threat; "不能销户" still is, so only intent is a negation here.
_DISAVOWAL = re.compile(r"不会|不想|不打算|不至于|没必要|暂时不")
DISAVOWAL_WINDOW = 6


@lru_cache(maxsize=1)
def _matcher() -> TermMatcher[str]:
    return TermMatcher({term: flag for flag, terms in RISK_TERMS.items() for term in terms.split()})


def risk_flags_find(text: str) -> list[dict]:
    """[{"flag": ..., "term": ...}] for each risk the normalised text signals, the first term
    found standing as the reason, in the order of RiskFlag."""
    found: dict[str, str] = {}
    for match in _matcher().find(text):
        window = text[max(0, match.start - DISAVOWAL_WINDOW) : match.start]
        if match.value not in found and not _DISAVOWAL.search(window):
            found[match.value] = match.term
    return [{"flag": flag, "term": found[flag]} for flag in RiskFlag.values if flag in found]

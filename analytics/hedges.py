"""Verdicts the sentiment model misreads: hedged judgements and sarcasm.

The model learnt from hotel and shopping reviews labelled positive or negative, where "还行吧"
and "中规中矩" mostly stand in mild praise and "不是很满意" is rare; customers of a bank or an
operator use them for what they do not like. These phrases are matched as written, after the
model has scored the text, and bound its verdict (analytics.text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from analytics.chinese import TermMatcher

# A hedged judgement: neither praise nor complaint ("一般般", "还行吧"). Never positive.
HEDGED = (
    "一般般 一般吧 体验一般 服务一般 还行 还可以 中规中矩 凑合 马马虎虎 说不上好 不算差 还好吧 "
    "过得去 没什么特别 没有特别"
)
# A hedged complaint: the customer is not satisfied, politely. Always negative.
HEDGED_COMPLAINT = (
    "不是很满意 不太满意 不怎么满意 不大满意 不很满意 不满意 不是很好 不太好 不怎么样 不咋地 "
    "不太行 不是很舒服 不太理想 不是很放心 有点失望 有些失望 不怎么好 体验很差 体验太差"
)
# Phrases that contain one of the above and mean something else.
NOT_HEDGED = "一般来说 一般情况 一般都 一般会 还可以接受 不满意的话 没有不满意"
# Sarcasm: a sneer, or praise put in quotes ("真是“宾至如归”"). 呵呵 only when it opens the
# text as a clause of its own ("呵呵，你们效率真高"): elsewhere it is as often a friendly laugh
# ("感谢店家，呵呵").
SARCASM = "无语 真是服了 我服了 服了你们 真行啊 长见识 开眼界"
_SARCASM = re.compile(r"^呵呵[，,。.!！…~～]|(?:真是|真|就是)[“\"「『][^”\"」』]{1,8}[”\"」』]")
# Calm texts: a question, or a customer who says they will not complain or leave ("我不会投诉，
# 只是希望..."). The model reads 投诉 as a complaint; the customer says it is not one.
_CALM = re.compile(
    r"^(?:请问|想问|问一下|咨询一下|我想问)"
    r"|(?:不会|不想|不打算|不至于|没必要|暂时不|也不想)[^，。！？,.!?]{0,4}"
    r"(?:投诉|差评|举报|转网|换|退货|闹|去银保监|去消协)"
)


@dataclass(frozen=True)
class Hedges:
    hedged: bool  # a hedge and no hedged complaint: at most neutral
    complaint: bool  # a hedged complaint or sarcasm: negative
    calm: bool  # a question, or a complaint disavowed: neutral unless the text says more


@lru_cache(maxsize=1)
def _matcher() -> TermMatcher[str]:
    return TermMatcher(
        dict.fromkeys(HEDGED.split(), "hedged")
        | dict.fromkeys(HEDGED_COMPLAINT.split(), "complaint")
        | dict.fromkeys(SARCASM.split(), "complaint")
        | dict.fromkeys(NOT_HEDGED.split(), "")
    )


def hedges_find(text: str) -> Hedges:
    """What the normalised text says through hedges and sarcasm."""
    kinds = {match.value for match in _matcher().find(text)}
    complaint = "complaint" in kinds or bool(_SARCASM.search(text))
    calm = not complaint and bool(_CALM.search(text))
    return Hedges(hedged="hedged" in kinds and not complaint, complaint=complaint, calm=calm)

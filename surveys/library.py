"""The template library: ready-made survey definitions a CX team starts from, and the
export format's name."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

EXPORT_FORMAT = "cem-survey/1"


def _t(zh: str, en: str) -> dict[str, str]:
    return {"zh-hans": zh, "en": en}


def _options(*pairs: tuple[str, str]) -> list[dict]:
    return [{"key": f"o{index}", "text": _t(zh, en)} for index, (zh, en) in enumerate(pairs, 1)]


def default_matrix_rows() -> list[dict]:
    return [
        {"key": "r1", "text": _t("服务态度", "Attitude")},
        {"key": "r2", "text": _t("办理效率", "Speed")},
        {"key": "r3", "text": _t("专业程度", "Expertise")},
    ]


AGREE = _options(
    ("非常不同意", "Strongly disagree"),
    ("不同意", "Disagree"),
    ("一般", "Neutral"),
    ("同意", "Agree"),
    ("非常同意", "Strongly agree"),
)
WHY = {
    "key": "reason",
    "type": "text",
    "text": _t("您给出这个分数的主要原因是什么？", "What is the main reason for your score?"),
}
FOLLOW_UP = {
    "key": "contact",
    "type": "contact",
    "text": _t(
        "如需我们回访，请留下联系方式（选填）",
        "Leave your contact details if you'd like us to follow up (optional)",
    ),
}
NPS = {
    "key": "nps",
    "type": "nps",
    "required": True,
    "text": _t(
        "您有多大可能向朋友或同事推荐我们？",
        "How likely are you to recommend us to a friend or colleague?",
    ),
}


def _why_page(detractor_text: str, detractor_en: str) -> dict:
    return {
        "key": "p2",
        "questions": [
            {
                **WHY,
                "text": _t(
                    "您给了 {{nps}} 分，主要原因是什么？",
                    "You gave {{nps}}. What is the main reason?",
                ),
            },
            {
                "key": "improve",
                "type": "multiple_choice",
                "other": True,
                "text": _t(detractor_text, detractor_en),
                "display": {"question": "nps", "op": "lte", "value": 6},
                "options": _options(
                    ("排队等候", "Waiting"),
                    ("服务态度", "Attitude"),
                    ("费用", "Fees"),
                    ("流程手续", "Process"),
                    ("App/系统", "App / system"),
                ),
            },
            FOLLOW_UP,
        ],
    }


@dataclass(frozen=True)
class SurveyTemplate:
    name: str
    document: dict

    def definition(self, title: str) -> dict:
        definition = copy.deepcopy(self.document)
        definition["title"] = {**definition.get("title", {}), "zh-hans": title}
        return definition


TEMPLATES: dict[str, SurveyTemplate] = {
    "transaction_nps": SurveyTemplate(
        _("交易后 NPS"),
        {
            "hidden_fields": ["order_id", "store"],
            "pages": [
                {"key": "p1", "questions": [NPS]},
                _why_page("哪些方面最需要改进？", "What should we improve most?"),
            ],
        },
    ),
    "relationship_nps": SurveyTemplate(
        _("关系型 NPS（年度）"),
        {
            "pages": [
                {
                    "key": "p1",
                    "questions": [
                        NPS,
                        {
                            "key": "products",
                            "type": "multiple_choice",
                            "text": _t(
                                "您目前使用我们的哪些产品？", "Which of our products do you use?"
                            ),
                            "options": _options(
                                ("储蓄/理财", "Savings"),
                                ("信用卡", "Credit card"),
                                ("贷款", "Loans"),
                                ("手机银行", "Mobile app"),
                            ),
                        },
                    ],
                },
                _why_page("您希望我们在哪些方面做得更好？", "Where should we do better?"),
            ],
        },
    ),
    "after_call_csat": SurveyTemplate(
        _("通话后 CSAT"),
        {
            "hidden_fields": ["agent_id", "call_id"],
            "pages": [
                {
                    "key": "p1",
                    "questions": [
                        {
                            "key": "csat",
                            "type": "csat",
                            "style": "stars",
                            "required": True,
                            "text": _t(
                                "您对本次通话服务满意吗？", "How satisfied are you with this call?"
                            ),
                        },
                        {
                            "key": "resolved",
                            "type": "single_choice",
                            "required": True,
                            "text": _t("您的问题解决了吗？", "Was your issue resolved?"),
                            "options": _options(
                                ("已解决", "Yes"), ("部分解决", "Partly"), ("没有解决", "No")
                            ),
                        },
                        {**WHY, "display": {"question": "csat", "op": "lte", "value": 3}},
                    ],
                }
            ],
        },
    ),
    "branch_visit": SurveyTemplate(
        _("网点到访体验"),
        {
            "hidden_fields": ["store"],
            "pages": [
                {
                    "key": "p1",
                    "questions": [
                        {
                            "key": "csat",
                            "type": "csat",
                            "style": "faces",
                            "required": True,
                            "text": _t(
                                "您对本次到店体验满意吗？", "How satisfied are you with your visit?"
                            ),
                        },
                        {
                            "key": "wait",
                            "type": "single_choice",
                            "text": _t("您等候了多长时间？", "How long did you wait?"),
                            "options": _options(
                                ("10 分钟以内", "Under 10 min"),
                                ("10-30 分钟", "10-30 min"),
                                ("30 分钟以上", "Over 30 min"),
                            ),
                        },
                        {
                            "key": "staff",
                            "type": "matrix",
                            "text": _t("您是否同意以下说法？", "Do you agree?"),
                            "rows": [
                                {"key": "r1", "text": _t("员工热情有礼", "Staff were courteous")},
                                {"key": "r2", "text": _t("业务办理高效", "Service was efficient")},
                                {"key": "r3", "text": _t("环境整洁舒适", "The branch was clean")},
                            ],
                            "options": AGREE,
                        },
                    ],
                },
                {"key": "p2", "questions": [NPS, WHY]},
            ],
        },
    ),
    "delivery_ces": SurveyTemplate(
        _("配送/办理 CES"),
        {
            "hidden_fields": ["order_id"],
            "pages": [
                {
                    "key": "p1",
                    "questions": [
                        {
                            "key": "ces",
                            "type": "ces",
                            "required": True,
                            "text": _t("完成这次办理有多费力？", "How much effort did it take?"),
                        },
                        {
                            **WHY,
                            "text": _t("哪一步最费力？", "Which step took the most effort?"),
                            "display": {"question": "ces", "op": "gte", "value": 5},
                        },
                    ],
                }
            ],
        },
    ),
    "app_feedback": SurveyTemplate(
        _("App 使用反馈"),
        {
            "pages": [
                {
                    "key": "p1",
                    "questions": [
                        {
                            "key": "rating",
                            "type": "rating",
                            "min": 1,
                            "max": 10,
                            "required": True,
                            "low_label": _t("很差", "Poor"),
                            "high_label": _t("很好", "Excellent"),
                            "text": _t("您如何评价我们的 App？", "How do you rate our app?"),
                        },
                        {
                            "key": "features",
                            "type": "multiple_choice",
                            "randomize": True,
                            "other": True,
                            "text": _t("您最常用哪些功能？", "Which features do you use most?"),
                            "options": _options(
                                ("转账", "Transfers"),
                                ("理财", "Wealth"),
                                ("信用卡", "Credit card"),
                                ("缴费", "Bill pay"),
                            ),
                        },
                        {
                            **WHY,
                            "key": "suggestion",
                            "text": _t("有什么建议或遇到的问题？", "Any suggestions or problems?"),
                        },
                    ],
                }
            ],
        },
    ),
}

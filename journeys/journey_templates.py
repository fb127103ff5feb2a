"""Journeys to start from: documents journeys.services.journey_create reads (docs/journeys.md).

Touchpoints that a central team owns (the app, the hotline, WeChat) point at the tenant's head
office, `HQ`, which every tenant has; those met in a branch or store name no unit, so that a
response is routed to the branch its link names.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


def _tp(code: str, name: str, channel: str, key_moment: str = "none", unit: str | None = None):
    return {
        "code": code,
        "name": name,
        "channel": channel,
        "key_moment": key_moment,
        "org_unit": unit,
    }


TEMPLATES: dict[str, dict] = {
    "bank-account-opening": {
        "label": _("银行：个人开户"),
        "document": {
            "name": "个人开户",
            "description": "从预约、到店等候、柜台办理到激活手机银行。",
            "stages": [
                {
                    "name": "预约",
                    "touchpoints": [
                        _tp("bank-open-app-booking", "手机银行预约开户", "mobile_app", unit="HQ"),
                        _tp("bank-open-wechat-booking", "微信预约", "wechat", unit="HQ"),
                    ],
                },
                {
                    "name": "到店",
                    "touchpoints": [
                        _tp("bank-open-queue", "网点取号等候", "branch_counter", "low"),
                    ],
                },
                {
                    "name": "办理",
                    "touchpoints": [
                        _tp("bank-open-counter", "柜台办理开户", "branch_counter", "peak"),
                    ],
                },
                {
                    "name": "激活",
                    "touchpoints": [
                        _tp("bank-open-app-activate", "手机银行激活", "mobile_app", "end", "HQ"),
                        _tp("bank-open-hotline", "开户咨询热线", "call_center", unit="HQ"),
                    ],
                },
            ],
        },
    },
    "bank-loan": {
        "label": _("银行：个人贷款"),
        "document": {
            "name": "个人贷款",
            "description": "从咨询、申请、审批到放款和还款。",
            "stages": [
                {
                    "name": "咨询",
                    "touchpoints": [
                        _tp("bank-loan-consult-branch", "网点贷款咨询", "branch_counter"),
                        _tp("bank-loan-consult-app", "App 额度测算", "mobile_app", unit="HQ"),
                    ],
                },
                {
                    "name": "申请",
                    "touchpoints": [
                        _tp("bank-loan-apply", "线上提交申请", "mobile_app", "none", "HQ"),
                    ],
                },
                {
                    "name": "审批",
                    "touchpoints": [
                        _tp("bank-loan-review-call", "审批电话核实", "call_center", "low", "HQ"),
                    ],
                },
                {
                    "name": "放款",
                    "touchpoints": [
                        _tp("bank-loan-disburse", "签约与放款", "branch_counter", "peak"),
                    ],
                },
                {
                    "name": "还款",
                    "touchpoints": [
                        _tp("bank-loan-repay", "还款提醒与扣款", "sms", "end", "HQ"),
                    ],
                },
            ],
        },
    },
    "bank-daily-service": {
        "label": _("银行：日常服务"),
        "document": {
            "name": "日常服务",
            "description": "转账、查询、理财和投诉咨询等日常服务。",
            "stages": [
                {
                    "name": "线上自助",
                    "touchpoints": [
                        _tp("bank-daily-app-transfer", "手机银行转账", "mobile_app", "none", "HQ"),
                        _tp("bank-daily-mini-query", "小程序查询", "mini_program", "none", "HQ"),
                    ],
                },
                {
                    "name": "网点服务",
                    "touchpoints": [
                        _tp("bank-daily-counter", "柜台业务", "branch_counter", "peak"),
                        _tp("bank-daily-wealth", "理财经理服务", "branch_counter"),
                    ],
                },
                {
                    "name": "求助",
                    "touchpoints": [
                        _tp("bank-daily-hotline", "客服热线", "call_center", "low", "HQ"),
                        _tp("bank-daily-complaint", "投诉处理回访", "call_center", "end", "HQ"),
                    ],
                },
            ],
        },
    },
    "telecom": {
        "label": _("电信运营商：入网与服务"),
        "document": {
            "name": "入网与服务",
            "description": "选号入网、装机、使用网络、账单与售后。",
            "stages": [
                {
                    "name": "入网",
                    "touchpoints": [
                        _tp("telco-store-signup", "营业厅办理入网", "store", "peak"),
                        _tp("telco-app-signup", "App 线上选号", "mobile_app", "none", "HQ"),
                    ],
                },
                {
                    "name": "装机",
                    "touchpoints": [
                        _tp("telco-install", "宽带上门装机", "call_center", "low", "HQ"),
                    ],
                },
                {
                    "name": "使用",
                    "touchpoints": [
                        _tp("telco-network", "网络与信号", "mobile_app", "none", "HQ"),
                    ],
                },
                {
                    "name": "账单与售后",
                    "touchpoints": [
                        _tp("telco-bill", "月度账单", "sms", "none", "HQ"),
                        _tp("telco-hotline", "客服热线", "call_center", "end", "HQ"),
                    ],
                },
            ],
        },
    },
    "retail": {
        "label": _("零售：门店购物"),
        "document": {
            "name": "门店购物",
            "description": "进店、选购、结账与售后。",
            "stages": [
                {
                    "name": "进店",
                    "touchpoints": [
                        _tp("retail-entry", "进店与导购", "store"),
                    ],
                },
                {
                    "name": "选购",
                    "touchpoints": [
                        _tp("retail-shelf", "货架与陈列", "store"),
                        _tp("retail-fitting", "试用与试穿", "store", "peak"),
                    ],
                },
                {
                    "name": "结账",
                    "touchpoints": [
                        _tp("retail-checkout", "收银排队", "store", "low"),
                    ],
                },
                {
                    "name": "售后",
                    "touchpoints": [
                        _tp("retail-return", "退换货", "store", "end"),
                        _tp("retail-member", "会员小程序", "mini_program", "none", "HQ"),
                    ],
                },
            ],
        },
    },
    "ecommerce": {
        "label": _("电商：线上购物"),
        "document": {
            "name": "线上购物",
            "description": "浏览、下单支付、物流配送与售后。",
            "stages": [
                {
                    "name": "浏览",
                    "touchpoints": [
                        _tp("ecom-search", "搜索与商品详情", "mobile_app", "none", "HQ"),
                    ],
                },
                {
                    "name": "下单",
                    "touchpoints": [
                        _tp("ecom-checkout", "下单与支付", "mobile_app", "peak", "HQ"),
                    ],
                },
                {
                    "name": "配送",
                    "touchpoints": [
                        _tp("ecom-delivery", "物流配送", "sms", "low", "HQ"),
                    ],
                },
                {
                    "name": "售后",
                    "touchpoints": [
                        _tp("ecom-return", "退货退款", "mobile_app", "end", "HQ"),
                        _tp("ecom-chat", "在线客服", "web", "none", "HQ"),
                    ],
                },
            ],
        },
    },
}

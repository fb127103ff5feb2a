"""The demo tenant: a realistic Chinese retail bank, built through the same services as the
pages (`manage.py seed_demo` runs it)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import models
from django.db.models import F
from django.utils import timezone

from alerts.models import AlertRule, RootCause, Ticket, TicketEvent, TicketStatus
from alerts.recovery import ticket_contact_log, ticket_recovery_record
from alerts.services import ticket_note_add, ticket_transition
from alerts.sla import (
    sla_pause,
    sla_pause_note,
    sla_reopen_note,
    sla_resume,
    sla_resume_note,
)
from analytics.models import ResponseScore
from analytics.services import (
    metric_rollups_rebuild,
    response_score,
    text_rollups_rebuild,
    text_themes_discover,
    topic_keywords_add,
)
from customers.models import ContactPolicy, Customer
from customers.services import contact_policy_update, customer_unsubscribe
from improvements.models import ImprovementProject
from improvements.services import recurring_causes_propose
from integrations.models import InboundEvent
from integrations.services import event_ingest, event_process
from journeys.models import Channel, Journey, KeyMoment, Stage, Touchpoint
from journeys.services import journey_create
from organizations.business_hours import (
    WorkCalendar,
    tenant_calendar,
    working_minutes_between,
    working_time_add,
)
from organizations.models import (
    ApiKey,
    AuditEvent,
    Membership,
    OrgUnit,
    OutboundMessage,
    Role,
    Tenant,
)
from organizations.services import membership_create, org_unit_create, tenant_create
from organizations.tenancy import current_tenant, tenant_context
from surveys.definition import iter_questions
from surveys.distribution import contact_policy, invitation_send, trigger_create
from surveys.models import Invitation, Link, Response, Survey, SurveyVersion, Trigger
from surveys.services import (
    link_create,
    response_submit,
    survey_create,
    survey_publish,
    survey_question_add,
)

TENANT_SLUG = "demo-bank"
TENANT_NAME = "示例银行"
DEMO_PASSWORD = "demo1234"  # noqa: S105 - a published demo login, never a real secret
DEMO_URL = "http://127.0.0.1:8000/"
WINDOW_DAYS = 90
# How the team has got on with the tickets, by the age of their response: the newest (a few
# working hours) are untouched, those of the last days claimed and being worked, older ones
# through any flow, and those of more than two weeks done (FLOWS ending in resolve or close).
TICKET_UNTOUCHED_MINUTES = 3 * 60  # working minutes
TICKET_WORK_AFTER = timedelta(days=3)
TICKET_DONE_AFTER = timedelta(days=14)

# ---------------------------------------------------------------------------------------------
# The bank: org units, people, journeys
# ---------------------------------------------------------------------------------------------

# (name, code, kind, parent code); HQ itself is made by tenant_create.
ORG_UNITS = (
    ("华东区", "EAST", OrgUnit.Kind.REGION, "HQ"),
    ("华南区", "SOUTH", OrgUnit.Kind.REGION, "HQ"),
    ("上海浦东支行", "SH-PD", OrgUnit.Kind.BRANCH, "EAST"),
    ("杭州西湖支行", "HZ-XH", OrgUnit.Kind.BRANCH, "EAST"),
    ("广州天河支行", "GZ-TH", OrgUnit.Kind.BRANCH, "SOUTH"),
    ("深圳福田支行", "SZ-FT", OrgUnit.Kind.BRANCH, "SOUTH"),
)


@dataclass(frozen=True)
class BranchProfile:
    weight: float  # share of the branch survey's traffic
    effect: float  # added to the latent satisfaction of its customers
    pain: str | None  # the aspect its unhappy customers complain about most


# Tianhe has long queues, so the dashboard and the ticket queue show one clearly weaker branch.
BRANCHES = {
    "SH-PD": BranchProfile(0.32, 0.02, None),
    "HZ-XH": BranchProfile(0.18, 0.08, None),
    "GZ-TH": BranchProfile(0.30, -0.22, "queue"),
    "SZ-FT": BranchProfile(0.20, -0.03, "fee"),
}


@dataclass(frozen=True)
class UserSpec:
    username: str
    first_name: str
    role: str
    scope: str | None  # org unit code, None for the whole tenant
    label: str


USERS = (
    UserSpec("owner", "王建国", Role.OWNER, None, "所有者"),
    UserSpec("manager", "李晓梅", Role.CX_MANAGER, None, "体验经理"),
    UserSpec("agent", "张伟", Role.AGENT, "SH-PD", "上海浦东支行 坐席"),
    UserSpec("agent2", "陈静", Role.AGENT, "GZ-TH", "广州天河支行 坐席"),
    UserSpec("viewer", "刘洋", Role.VIEWER, "EAST", "华东区 只读"),
)
# Who works a ticket, by the org unit it belongs to; the manager takes everything else.
TICKET_WORKERS = {"SH-PD": "agent", "GZ-TH": "agent2"}

C, K = Channel, KeyMoment
# journey name, description, stages of (stage name, touchpoints of
# (name, code, channel, key moment, org unit code or None when links name the branch)).
JOURNEYS = (
    (
        "个人开户",
        "个人客户从预约、到店、柜台办理到激活手机银行的开户旅程。",
        (
            (
                "预约",
                (
                    ("手机银行预约开户", "open-app-booking", C.MOBILE_APP, K.NONE, "HQ"),
                    ("微信公众号预约", "open-wechat-booking", C.WECHAT, K.NONE, "HQ"),
                ),
            ),
            ("到店", (("网点取号等候", "open-branch-queue", C.BRANCH_COUNTER, K.LOW, None),)),
            ("办理", (("柜台办理开户", "open-counter", C.BRANCH_COUNTER, K.PEAK, None),)),
            (
                "激活",
                (
                    ("手机银行激活", "open-app-activate", C.MOBILE_APP, K.END, "HQ"),
                    ("开户咨询热线", "open-call-help", C.CALL_CENTER, K.NONE, "HQ"),
                ),
            ),
        ),
    ),
    (
        "信用卡服务",
        "信用卡从线上申请、审批核实、日常用卡到还款与客服的全旅程。",
        (
            (
                "申请",
                (
                    ("小程序在线申请", "card-apply-mini", C.MINI_PROGRAM, K.NONE, "HQ"),
                    ("微信查询申请进度", "card-apply-progress", C.WECHAT, K.NONE, "HQ"),
                ),
            ),
            ("审批", (("审批电话核实", "card-approval-call", C.CALL_CENTER, K.LOW, "HQ"),)),
            ("用卡", (("手机银行用卡与账单", "card-app-usage", C.MOBILE_APP, K.PEAK, "HQ"),)),
            (
                "还款与客服",
                (
                    ("信用卡客服热线", "card-call-service", C.CALL_CENTER, K.END, "HQ"),
                    ("微信还款提醒", "card-wechat-repay", C.WECHAT, K.NONE, "HQ"),
                ),
            ),
        ),
    ),
)

# ---------------------------------------------------------------------------------------------
# Surveys
# ---------------------------------------------------------------------------------------------

Texts = tuple[str, str]  # (zh-hans, en)


@dataclass(frozen=True)
class SurveySpec:
    name: str
    touchpoint: str  # touchpoint code
    share: float  # share of all seeded responses
    base: float  # mean latent satisfaction (0-1) of its respondents
    topic: str  # which comment pool its respondents write from
    pain: str | None  # the aspect unhappy respondents mention most
    per_branch_links: bool
    nps: Texts
    csat: Texts
    ces: Texts
    choice: Texts
    choice_options: tuple[Texts, ...]
    choice_weights: tuple[int, ...]
    improve: Texts
    improve_options: tuple[tuple[str, str, str], ...]  # (aspect, zh, en)


IMPROVE_TEXT = ("哪些方面需要改进？（可多选）", "What should we improve? (choose any)")
REASON_TEXT = ("请告诉我们您打分的主要原因", "Please tell us the main reason for your score")

SURVEYS = (
    SurveySpec(
        name="网点开户体验调查",
        touchpoint="open-counter",
        share=0.45,
        base=0.76,
        topic="branch",
        pain=None,
        per_branch_links=True,
        nps=(
            "您有多大可能向亲友推荐在我行网点开户？",
            "How likely are you to recommend opening an account at our branch?",
        ),
        csat=(
            "您对本次开户服务的整体满意度如何？",
            "How satisfied are you with the service today?",
        ),
        ces=(
            "办理开户有多费力？（1 非常容易 – 7 非常费力）",
            "How much effort did opening the account take? (1 very easy – 7 very hard)",
        ),
        choice=("您是通过什么方式预约的？", "How did you book your visit?"),
        choice_options=(
            ("手机银行预约", "Mobile banking"),
            ("微信公众号预约", "WeChat"),
            ("电话预约", "Phone"),
            ("未预约，直接到店", "Walked in"),
        ),
        choice_weights=(4, 3, 1, 4),
        improve=IMPROVE_TEXT,
        improve_options=(
            ("queue", "排队时间", "Waiting time"),
            ("attitude", "服务态度", "Staff attitude"),
            ("fee", "手续费", "Fees"),
            ("app", "App 体验", "App experience"),
            ("process", "业务流程", "Process"),
        ),
    ),
    SurveySpec(
        name="手机银行激活体验调查",
        touchpoint="open-app-activate",
        share=0.2,
        base=0.66,
        topic="app",
        pain="app",
        per_branch_links=False,
        nps=(
            "您有多大可能向亲友推荐我行手机银行？",
            "How likely are you to recommend our mobile banking app?",
        ),
        csat=(
            "您对手机银行激活过程的满意度如何？",
            "How satisfied are you with activating the app?",
        ),
        ces=(
            "激活手机银行有多费力？（1 非常容易 – 7 非常费力）",
            "How much effort did activation take? (1 very easy – 7 very hard)",
        ),
        choice=("您最常使用手机银行的哪项功能？", "Which feature do you use most?"),
        choice_options=(
            ("转账汇款", "Transfers"),
            ("账户查询", "Balance and history"),
            ("理财购买", "Wealth products"),
            ("生活缴费", "Bill payment"),
            ("信用卡还款", "Card repayment"),
        ),
        choice_weights=(5, 4, 2, 2, 2),
        improve=IMPROVE_TEXT,
        improve_options=(
            ("app", "稳定性（闪退/卡顿）", "Stability (crashes, lag)"),
            ("login", "登录与验证", "Login and verification"),
            ("process", "操作流程", "Task flows"),
            ("ui", "界面设计", "Interface design"),
            ("service", "在线客服", "Online help"),
        ),
    ),
    SurveySpec(
        name="信用卡客服热线满意度调查",
        touchpoint="card-call-service",
        share=0.2,
        base=0.62,
        topic="call",
        pain="connect",
        per_branch_links=False,
        nps=(
            "您有多大可能向亲友推荐我行信用卡？",
            "How likely are you to recommend our credit card?",
        ),
        csat=("您对本次客服热线服务的满意度如何？", "How satisfied are you with this call?"),
        ces=(
            "解决您的问题有多费力？（1 非常容易 – 7 非常费力）",
            "How much effort did it take to get your issue solved? (1 very easy – 7 very hard)",
        ),
        choice=("您本次致电的主要原因是？", "What was the main reason for your call?"),
        choice_options=(
            ("账单查询", "Statement enquiry"),
            ("额度调整", "Credit limit"),
            ("挂失补卡", "Lost card"),
            ("分期业务", "Instalments"),
            ("投诉建议", "Complaint"),
        ),
        choice_weights=(4, 3, 1, 3, 2),
        improve=IMPROVE_TEXT,
        improve_options=(
            ("connect", "接通速度", "Time to answer"),
            ("ivr", "语音菜单", "Phone menu"),
            ("attitude", "客服态度", "Agent attitude"),
            ("resolve", "问题一次解决", "First-contact resolution"),
            ("callback", "回访跟进", "Follow-up"),
        ),
    ),
    SurveySpec(
        name="信用卡线上申请体验调查",
        touchpoint="card-apply-mini",
        share=0.15,
        base=0.72,
        topic="card",
        pain="approval",
        per_branch_links=False,
        nps=(
            "您有多大可能向亲友推荐通过小程序申请我行信用卡？",
            "How likely are you to recommend applying for our card in the mini program?",
        ),
        csat=("您对本次信用卡申请体验的满意度如何？", "How satisfied are you with applying?"),
        ces=(
            "完成申请有多费力？（1 非常容易 – 7 非常费力）",
            "How much effort did the application take? (1 very easy – 7 very hard)",
        ),
        choice=("您是通过什么渠道了解到我行信用卡的？", "How did you hear about our card?"),
        choice_options=(
            ("亲友推荐", "Friends or family"),
            ("微信公众号", "WeChat account"),
            ("网点宣传", "At a branch"),
            ("短信或广告", "SMS or advert"),
            ("其他", "Other"),
        ),
        choice_weights=(3, 4, 2, 2, 1),
        improve=IMPROVE_TEXT,
        improve_options=(
            ("approval", "审批速度", "Approval speed"),
            ("limit", "额度", "Credit limit"),
            ("process", "申请材料", "Documents required"),
            ("progress", "进度查询", "Progress tracking"),
            ("fee", "年费与分期手续费", "Annual and instalment fees"),
        ),
    ),
)

# ---------------------------------------------------------------------------------------------
# What customers write: (text, aspect it is about). "{branch}" becomes the branch name.
# ---------------------------------------------------------------------------------------------

Comment = tuple[str, str | None]

POSITIVE: dict[str, tuple[Comment, ...]] = {
    "branch": (
        ("柜员小姐姐很耐心，一步步教我填表，开户十几分钟就办好了，非常满意。", None),
        ("{branch}环境很好，大堂经理主动引导取号，服务很贴心。", None),
        ("理财经理非常专业，详细讲解了几款产品的风险和收益，没有强行推销。", None),
        ("预约后到店直接办理，很快就办好了，服务很周到。", None),
        ("工作人员态度热情，还帮我把手机银行和微信提醒都开通了，很满意。", None),
        ("帮老人开户需要的材料，大堂经理提前电话告知了，很贴心。", None),
        ("柜员业务熟练，讲解清楚，给个大大的赞！", None),
        ("网点有爱心窗口，带孩子来办业务也很方便，很贴心。", None),
        ("开户流程比以前简单多了，服务也很好，很满意。", None),
        ("保安大哥帮忙指引自助设备，很快就办完了。", None),
        ("{branch}的服务一直很好，这次办卡也很顺利。", None),
        ("大堂经理很细心，还提醒我防范诈骗，很温暖。", None),
    ),
    "app": (
        ("手机银行激活很顺利，界面清晰，很好用。", None),
        ("新版 App 界面清爽，转账和查询都很方便。", None),
        ("激活引导很清楚，操作简单，很好用。", None),
        ("手机银行转账很快，免手续费，很好用，点赞。", None),
        ("App 里理财产品信息很全，收益一目了然。", None),
        ("指纹登录很好用，比以前快多了。", None),
        ("在线客服很耐心，服务很好，很满意。", None),
        ("App 的账单分析功能很实用，每月支出看得很清楚。", None),
        ("激活过程一气呵成，短信验证码秒到，很流畅。", None),
        ("手机银行功能齐全，缴费、还款都能搞定，很省心。", None),
    ),
    "call": (
        ("客服专员声音很亲切，耐心听我说完问题，服务非常好。", None),
        ("客服专业又有礼貌，服务很好，很满意。", None),
        ("客服态度非常好，很耐心，帮了大忙，谢谢。", None),
        ("问题处理完还有回访电话，感觉很受重视，服务很好。", None),
        ("语音导航很清晰，很快就转到了人工服务。", None),
        ("账单上的疑问当场就解答了，服务很到位，很专业。", None),
        ("挂失办理得非常及时，避免了损失，非常感谢。", None),
        ("客服帮我查清了一笔不明扣款，态度非常好，很感谢。", None),
    ),
    "card": (
        ("小程序申请很方便，审批也很快，很满意。", None),
        ("额度比预期高，还送了首年免年费，很满意。", None),
        ("进度在微信里随时能查，很方便，很好。", None),
        ("信用卡权益很丰富，机场贵宾厅很实用，很喜欢。", None),
        ("网申很方便快捷，几分钟就好了，很满意。", None),
        ("审批电话核实很简短，客服很有礼貌，体验很好。", None),
    ),
    "general": (
        ("一直在用你们银行，服务越来越好了，很满意。", None),
        ("整体体验非常好，会推荐给家人朋友。", None),
        ("服务周到，效率很高，继续保持！", None),
        ("很满意，比其他银行方便多了。", None),
    ),
}

NEGATIVE: dict[str, tuple[Comment, ...]] = {
    "branch": (
        ("排队等了一个多小时，只开了两个窗口，太浪费时间了。", "queue"),
        ("{branch}人太多了，取号后等了快九十分钟才轮到我。", "queue"),
        ("中午去办业务，只有一个窗口在办理，排队的人一直在抱怨。", "queue"),
        ("预约了上午十点，到店还是要重新排队，预约形同虚设。", "queue"),
        ("柜员态度冷淡，问了两遍就不耐烦了。", "attitude"),
        ("大堂经理一直推销理财和保险，我只是想开个户。", "attitude"),
        ("开户要填的表格太多，同样的信息写了好几遍，太繁琐了。", "process"),
        ("材料明明带齐了，又说要单位证明，白跑了一趟。", "process"),
        ("柜员把卡号登记错了，又重新办了一遍，太不专业了。", "process"),
        ("小额账户管理费收得莫名其妙，事先也没人告知。", "fee"),
        ("跨行转账手续费太高，柜台办理比手机上贵不少。", "fee"),
        ("网点让我回去下载 App 再办，App 又提示要到网点核实，来回折腾。", "app"),
    ),
    "app": (
        ("手机银行 App 老是闪退，转账转到一半就退出来了。", "app"),
        ("更新后 App 打开特别慢，经常卡在启动页面。", "app"),
        ("激活时一直提示系统繁忙，请稍后再试，连续三天都这样。", "app"),
        ("App 闪退导致理财产品没买成，错过了发售时间。", "app"),
        ("人脸识别一直失败，试了十几次都激活不了。", "login"),
        ("每次登录都要短信验证码，验证码还经常收不到。", "login"),
        ("功能藏得太深，找个转账限额设置找了半天。", "ui"),
        ("广告弹窗太多，打开 App 先看十秒广告，体验很差。", "ui"),
        ("修改转账限额的流程太复杂，要验证好几次。", "process"),
        ("App 里的在线客服全是机器人，根本解决不了问题。", "service"),
    ),
    "call": (
        ("客服电话太难打通了，等了二十多分钟还是没人接。", "connect"),
        ("高峰期客服电话根本打不进去，挂失都耽误了。", "connect"),
        ("转人工要排队半小时，最后还被挂断了。", "connect"),
        ("语音菜单绕来绕去，按了七八个键才转到人工。", "ivr"),
        ("打了三次客服，每次都要重新说明情况，问题还是没解决。", "resolve"),
        ("分期手续费客服没说清楚，还款时才发现多扣了钱。", "resolve"),
        ("客服说会回电，结果等了一周都没消息。", "callback"),
        ("客服态度敷衍，只会说系统规定，不给解决办法。", "attitude"),
    ),
    "card": (
        ("信用卡审批太慢，提交半个月了还没结果。", "approval"),
        ("审批拖了二十天，最后只发了一条短信说未通过。", "approval"),
        ("额度只给了五千，申请提额也被拒，理由也不说。", "limit"),
        ("申请要上传的材料太多，工作证明、流水都要，太麻烦。", "process"),
        ("进度查询一直显示审核中，打电话问也说不清楚。", "progress"),
        ("年费规则不透明，说好的免年费结果还是扣了。", "fee"),
    ),
    "general": (
        ("体验很差，已经在考虑把工资卡换到别的银行了。", None),
        ("办个简单业务耗了一上午，效率太低了。", None),
        ("不同的工作人员说法不一样，流程很混乱。", "process"),
        ("投诉之后没有任何反馈，非常失望。", None),
    ),
}

MIXED: dict[str, tuple[Comment, ...]] = {
    "branch": (
        ("柜员态度不错，就是排队时间有点长。", "queue"),
        ("理财经理很专业，可惜等候区座位太少，站了很久。", "queue"),
        ("业务办得挺顺利，但手续费说明不够清楚。", "fee"),
        ("整体还行，需要哪些材料如果能提前在网上说明就更好了。", "process"),
        ("网点环境好，就是附近停车太难了。", None),
        ("办理速度一般，工作人员还算耐心。", None),
    ),
    "app": (
        ("App 功能挺全的，就是偶尔会卡顿。", "app"),
        ("激活还算顺利，人脸识别试了两次才通过。", "login"),
        ("界面好看了，但有些按钮不太好找。", "ui"),
        ("转账挺方便的，希望能减少广告弹窗。", "ui"),
        ("一般般吧，和其他银行的 App 差不多。", None),
    ),
    "call": (
        ("客服解决了问题，不过等了十分钟才接通。", "connect"),
        ("客服态度挺好，但是转了好几次部门。", "resolve"),
        ("语音导航有点复杂，人工客服还可以。", "ivr"),
        ("问题暂时解决了，还要看下个月账单对不对。", None),
    ),
    "card": (
        ("审批速度还行，就是额度比预期低一些。", "limit"),
        ("申请流程不算复杂，进度通知能再及时一点就好了。", "progress"),
        ("权益还可以，年费有点贵。", "fee"),
    ),
    "general": (
        ("总体还可以，有些细节需要改进。", None),
        ("没有特别好也没有特别差，中规中矩。", None),
    ),
}

COMMENTS = {"positive": POSITIVE, "negative": NEGATIVE, "mixed": MIXED}
# Small openers and closers so that repeated base texts do not read identically.
AFFIXES = {
    "positive": (("", "总的来说，", "这次体验不错：", "点赞，"), ("", "谢谢！", "继续保持！")),
    "negative": (
        ("", "说实话，", "这次体验不太好：", "不得不吐槽一下，"),
        ("", "希望尽快改进。", "希望银行能重视一下。", "真的很失望。"),
    ),
    "mixed": (("", "总体来说，", "怎么说呢，"), ("", "希望越来越好。", "还有提升空间。")),
}

# ---------------------------------------------------------------------------------------------
# How the team works tickets
# ---------------------------------------------------------------------------------------------

# Default root causes (alerts.services.DEFAULT_ROOT_CAUSES) by the aspect a customer raised.
ASPECT_ROOT_CAUSES = {
    "queue": "排队等候时间长",
    "connect": "排队等候时间长",
    "attitude": "员工服务态度",
    "service": "员工服务态度",
    "fee": "收费与定价",
    "app": "系统/App 故障",
    "login": "系统/App 故障",
    "progress": "系统/App 故障",
    "process": "流程繁琐/材料多",
    "ivr": "流程繁琐/材料多",
    "approval": "流程繁琐/材料多",
    "ui": "产品设计不满足需求",
    "limit": "产品设计不满足需求",
    "resolve": "业务办理差错",
    "callback": "业务办理差错",
}
FALLBACK_ROOT_CAUSE = "客户误解/无需改进"

RESOLUTIONS = {
    "排队等候时间长": (
        "已电话向客户致歉；网点已在午间和月末高峰增开一个窗口，并引导客户使用手机银行预约取号。",
        "向客户说明了高峰时段，赠送预约优先号；已将排队时长纳入网点周例会跟踪。",
    ),
    "员工服务态度": (
        "已向客户当面致歉，涉事员工已接受服务规范辅导，本月纳入神秘客户检查。",
        "电话回访客户并致歉，网点负责人已与员工沟通，客户表示接受。",
    ),
    "业务办理差错": (
        "已核实差错并为客户更正，多收费用已原路退回，客户确认收到。",
        "已与客户逐项核对，问题已更正；该场景已补充到操作复核清单。",
    ),
    "流程繁琐/材料多": (
        "已向客户解释材料要求并协助一次办结；相关表单简化建议已提交总行运营部。",
        "已为客户开通绿色通道完成办理，流程优化建议已纳入本季度改进清单。",
    ),
    "系统/App 故障": (
        "已确认为新版本兼容性问题，技术部门已发布修复版本，指导客户升级后恢复正常。",
        "已协助客户清除缓存并重新激活，问题已提交科技部跟踪，客户现可正常使用。",
    ),
    "收费与定价": (
        "已向客户解释收费标准，按政策为客户办理了一次性费用减免。",
        "已为客户申请免收小额账户管理费，并建议总行在开户时加强收费告知。",
    ),
    "产品设计不满足需求": (
        "已记录客户需求并反馈产品部门，同时为客户介绍了更合适的替代产品。",
        "已向客户说明现行规则，需求已纳入产品迭代建议，客户表示理解。",
    ),
    "客户误解/无需改进": (
        "已与客户沟通澄清，属于对业务规则的误解，客户表示理解。",
        "回访后确认无需整改，已向客户详细说明办理规则。",
    ),
}

STEP_NOTES = {
    "claim": ("已认领，今天内联系客户。", "已认领，先查看客户历史记录。", "收到，马上跟进。"),
    "wait_customer": (
        "客户未接听，已发送短信，约定明天上午再联系。",
        "已请客户补充交易截图，等待客户回复。",
        "客户出差中，约定下周回到本地后再沟通。",
    ),
    "resume": ("客户已回电，继续处理。", "已收到客户补充的材料，继续跟进。"),
    "resolve": ("已回访客户，问题已处理。", "处理完毕，客户表示认可。", ""),
    "close": ("客户确认满意，结单。", "回访无异议，关闭工单。", ""),
    "reopen": ("客户来电表示问题仍未解决，重新打开工单。",),
}
FOLLOW_UP_NOTES = (
    "已电话联系客户，了解了具体情况，客户情绪已平复。",
    "已调取当天的排队叫号记录，客户等候约 85 分钟，情况属实。",
    "已与网点负责人沟通，确认当日只开了两个对私窗口。",
    "已联系科技部确认 App 闪退日志，版本 6.2.1 存在兼容问题。",
    "已核对客户交易流水，收费符合现行标准，需要向客户解释。",
    "客户希望有专人跟进，已留下客户经理直线电话。",
    "已向客户致歉，并承诺三个工作日内给出处理结果。",
    "已调听通话录音，客服确有解释不清的情况。",
)

# What the agent did for the customer before resolving: a contact, sometimes a recovery action
# (kind, cost in yuan, note). Drawn from a generator of the ticket's own, so the rest of the
# demo stays what it was.
RECOVERY_CONTACTS = (
    ("call", "accepted", "电话致歉并说明处理结果，客户表示接受。"),
    ("call", "no_answer", "两次致电未接通，已发短信说明。"),
    ("visit", "accepted", "客户经理上门拜访，当面致歉。"),
    ("message", "reached", "已通过短信告知处理进展。"),
)
RECOVERY_ACTIONS = (
    ("apology", "0", "网点负责人致歉。"),
    ("fee_waiver", "25.00", "免除本次跨行转账手续费。"),
    ("gift", "68.00", "赠送定制礼品一份。"),
)
RECOVERY_SHARE = 0.3  # of the resolved tickets, those with a recovery action

# Step lists and their weights; most worked tickets end closed, some stay in between.
FLOWS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (50, ("claim", "note", "resolve", "close")),
    (12, ("claim", "note", "wait_customer", "resume", "resolve", "close")),
    (12, ("claim", "resolve")),
    (14, ("claim", "note")),
    (12, ("claim", "note", "wait_customer")),
)
# The 3rd and 9th tickets to be closed come back: a couple of reopened tickets in the queue.
REOPEN_AT_CLOSED = (3, 9)


def tenant_data_delete(tenant: Tenant) -> None:
    """Delete every row of `tenant`, dependants first, then the tenant itself (users stay)."""

    def delete(*in_order: type[models.Model]) -> None:
        for model in in_order:
            model.all_tenants.filter(tenant=tenant).delete()

    # Projects first: they protect the root causes they are about.
    delete(ImprovementProject)
    delete(TicketEvent, Ticket, AlertRule, Invitation, Trigger, InboundEvent, OutboundMessage)
    delete(ContactPolicy)
    _tree_delete(RootCause.all_tenants.filter(tenant=tenant))
    delete(ResponseScore, Response, Customer, Link)
    # A survey protects its live version, which the survey's own deletion would cascade to.
    Survey.all_tenants.filter(tenant=tenant).update(live_version=None)
    delete(Survey, SurveyVersion, Touchpoint, Stage, Journey, AuditEvent, ApiKey, Membership)
    _tree_delete(OrgUnit.all_tenants.filter(tenant=tenant))
    # Anything a newer app keeps for the tenant goes with it by cascade.
    tenant.delete()


def _tree_delete(queryset: models.QuerySet) -> None:
    """Delete a self-referencing tree whose parent link is PROTECT: leaves first, level by level."""
    while queryset.exists():
        parents = queryset.filter(parent__isnull=False).values("parent_id")
        queryset.exclude(pk__in=parents).delete()


# ---------------------------------------------------------------------------------------------
# Seeding, step by step
# ---------------------------------------------------------------------------------------------


@dataclass
class SeededSurvey:
    spec: SurveySpec
    survey: Survey
    questions: dict[str, dict]  # question type -> its question in the live definition
    default_link: Link
    branch_links: dict[str, Link] = field(default_factory=dict)  # org unit code -> link


@dataclass
class Demo:
    tenant: Tenant
    users: dict[str, AbstractBaseUser]
    units: dict[str, OrgUnit]
    surveys: list[SeededSurvey]
    # The aspect each response complained about, so its ticket gets a fitting root cause.
    aspects: dict[int, str | None] = field(default_factory=dict)


# A ticket opens shortly after its response is scored.
TICKET_OPENED_AFTER = timedelta(minutes=5)


def demo_seed(*, responses: int, seed: int) -> Tenant:
    """Build the whole demo tenant; reproducible for a given seed (apart from 'now')."""
    rng = random.Random(seed)
    users = {spec.username: demo_user(spec) for spec in USERS}
    tenant = tenant_create(slug=TENANT_SLUG, name=TENANT_NAME, owner=users["owner"])
    with tenant_context(tenant):
        units = org_units_seed()
        members_seed(users, units)
        topics_seed(users["manager"])
        touchpoints = journeys_seed(users["manager"])
        demo = Demo(
            tenant=tenant,
            users=users,
            units=units,
            surveys=[survey_seed(spec, touchpoints, units, users["manager"]) for spec in SURVEYS],
        )
        response_ids = responses_seed(demo, rng, count=responses)
        for response_id in response_ids:
            response_score(response_id=response_id)
        invitations_seed(demo, rng)
        # After the invitations, whose responses are moved back to the days of their events.
        tickets_work(demo, rng)
        tickets_backdate()
        recurring_causes_propose()  # as the hourly sweep would: the causes that recur
        text_rollups_rebuild()
        metric_rollups_rebuild()
        text_themes_discover()  # as the worker's beat would within the hour
    return tenant


INVITED_SURVEY = "手机银行激活体验调查"
INVITATION_EVENTS = 80
INVITATION_DAYS = 45


def invitations_seed(demo: Demo, rng: random.Random) -> None:
    """A trigger on app activation and two months of its events: invitations sent by SMS,
    some answered, some stopped by the contact policy (repeat customers, opt-outs, no mobile)."""
    seeded = next(item for item in demo.surveys if item.survey.name == INVITED_SURVEY)
    survey = seeded.survey
    # Quiet hours are switched on after the history is written, so the seed does not depend
    # on the hour it runs at.
    policy = contact_policy()
    contact_policy_update(
        policy=policy, changes={"quiet_hours_start": 0, "quiet_hours_end": 0}, by=None
    )
    trigger_create(
        survey=survey,
        event_type="app.activated",
        touchpoint=survey.touchpoint,
        channel="sms",
        delay_minutes=30,
        conditions={"all": [{"property": "channel", "op": "in", "value": ["app", "wechat"]}]},
        by=demo.users["manager"],
    )
    now = timezone.now()
    for index in range(INVITATION_EVENTS):
        number = rng.randint(1, 60)  # some customers come back: the frequency rule stops them
        occurred = now - timedelta(
            days=INVITATION_DAYS * (1 - index / INVITATION_EVENTS), hours=rng.random()
        )
        stored = event_ingest(
            {
                "id": f"app-act-{index:04d}",
                "type": "app.activated",
                "touchpoint": survey.touchpoint.code,
                "org_unit": rng.choice(list(BRANCHES)),
                "customer": {
                    "id": f"C{10000 + number}",
                    "name": rng.choice(DEMO_SURNAMES) + rng.choice(("先生", "女士")),
                    "mobile": "" if number % 17 == 0 else f"139{number:08d}",
                    "tags": ["vip"] if number % 5 == 0 else [],
                },
                "properties": {"channel": rng.choice(("app", "app", "wechat", "branch"))},
                "occurred_at": occurred,
            }
        )
        if number % 23 == 0:
            customer_unsubscribe(customer=Customer.objects.get(external_id=f"C{10000 + number}"))
        event = InboundEvent.objects.get(event_id=stored.id)
        event_process(event_pk=event.pk)
        for invitation in Invitation.objects.filter(event_id=event.event_id):
            Invitation.objects.filter(pk=invitation.pk).update(scheduled_at=now)
            sent = invitation_send(invitation_id=invitation.pk)
            answered = None
            if sent.status == Invitation.Status.SENT and rng.random() < 0.45:
                answered = invitation_answer(seeded, sent, rng)
            invitation_backdate(sent, occurred)
            if answered is not None:
                # Scored once it has its time: its text counts on the day it was written.
                response_score(response_id=answered)
    contact_policy_update(
        policy=policy, changes={"quiet_hours_start": 21, "quiet_hours_end": 9}, by=None
    )


DEMO_SURNAMES = ("王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴")


def invitation_answer(seeded: SeededSurvey, invitation: Invitation, rng: random.Random) -> int:
    """The invited customer answers through their personal link; returns the response id."""
    nps = rng.choice((3, 6, 7, 8, 9, 9, 10, 10))
    answers = {
        seeded.questions["nps"]["key"]: nps,
        seeded.questions["csat"]["key"]: max(1, min(5, round(nps / 2))),
        seeded.questions["text"]["key"]: rng.choice(
            (
                "激活很顺利，几分钟就好了。",
                "人脸识别试了好几次才通过。",
                "短信验证码收到很慢。",
                "界面清晰，操作简单。",
            )
        ),
    }
    submitted = response_submit(
        survey=seeded.survey,
        raw_answers=answers,
        link=invitation.link,
        client_submission_id=f"invitation-{invitation.pk}",
    )
    return submitted.response.pk


def invitation_backdate(invitation: Invitation, occurred: datetime) -> None:
    """Give the invitation and its response the time of their event (see tickets_backdate)."""
    invitation.refresh_from_db()
    offset = invitation.created_at - occurred - timedelta(minutes=30)
    stamps = (
        "created_at",
        "scheduled_at",
        "sent_at",
        "delivered_at",
        "opened_at",
        "started_at",
        "completed_at",
        "last_sent_at",
        "expires_at",
    )
    Invitation.objects.filter(pk=invitation.pk).update(
        **{name: F(name) - offset for name in stamps if getattr(invitation, name)}
    )
    if invitation.link_id:
        Response.objects.filter(link_id=invitation.link_id).update(
            submitted_at=F("submitted_at") - offset, started_at=F("started_at") - offset
        )
        Link.objects.filter(pk=invitation.link_id).update(expires_at=F("expires_at") - offset)


def tickets_backdate() -> None:
    """Move each ticket and its history back to when its response came in, its steps spaced
    over working hours as a team works (the first within about an hour, then some hours
    apart, never later than now), and count its due times again on the tenant's calendar from
    there: the services stamp everything with the time they run, which for seeded history is
    today. The queue then shows what a working team's does: most tickets on time, some near
    their due time, a few late."""
    now = timezone.now()
    calendar = tenant_calendar(current_tenant())
    for ticket in Ticket.objects.select_related("response"):
        opened = ticket.response.submitted_at + TICKET_OPENED_AFTER
        events = list(TicketEvent.objects.filter(ticket=ticket).order_by("at", "id"))
        at_opening = [e for e in events if e.kind in TICKET_OPENING_EVENTS]
        steps = [e for e in events if e.kind not in TICKET_OPENING_EVENTS]
        for event in at_opening:
            event.at = opened
        previous = opened
        for event, moment in zip(
            steps, _step_times(calendar, opened, ticket.number, len(steps), now=now), strict=True
        ):
            if event.kind == TicketEvent.Kind.REOPENED:  # a customer comes back lately
                moment = max(moment, now - REOPENED_AGO)
            event.at = previous = max(moment, previous)
        _ticket_sla_replay(ticket, opened=opened, steps=steps, calendar=calendar)
        ticket.save(
            update_fields=[
                "created_at",
                "updated_at",
                "closed_at",
                "sla_due_at",
                "first_response_due_at",
                "first_responded_at",
                "sla_paused_at",
                "sla_left_minutes",
            ]
        )
        TicketEvent.objects.bulk_update(events, ["at", "note"])


REOPENED_AGO = timedelta(hours=3)
# Events the services write when a ticket opens (not a person's step).
TICKET_OPENING_EVENTS = (TicketEvent.Kind.CREATED, TicketEvent.Kind.ASSIGNED)


def _step_times(
    calendar: WorkCalendar, opened: datetime, number: int, count: int, *, now: datetime
) -> list[datetime]:
    """When a ticket's `count` steps happened: the first 20-90 working minutes after it opened,
    each next one 1-6 working hours later, squeezed to fit before now. Varies by ticket number,
    so reseeding gives the same history."""
    gaps = [20 + number * 17 % 70] + [60 + (number * 31 + i * 53) % 300 for i in range(1, count)]
    room = working_minutes_between(calendar, opened, now) - 5
    if sum(gaps) > room:
        gaps = [max(1, gap * room // sum(gaps)) for gap in gaps]
    times, moment = [], opened
    for gap in gaps[:count]:
        moment = working_time_add(calendar, moment, gap)
        times.append(moment)
    return times


def _ticket_sla_replay(
    ticket: Ticket, *, opened: datetime, steps: list[TicketEvent], calendar: WorkCalendar
) -> None:
    """Count a backdated ticket's due times from its opening and through its pauses, as the
    services did at the time they ran (alerts.sla), and date its state from its events."""
    ticket.created_at = opened
    ticket.updated_at = steps[-1].at if steps else opened
    ticket.first_response_due_at = working_time_add(calendar, opened, ticket.first_response_minutes)
    ticket.first_responded_at = steps[0].at if steps else None
    due = working_time_add(calendar, opened, ticket.sla_minutes)
    paused_at, left = None, None
    for event in steps:
        if event.kind == TicketEvent.Kind.SLA_PAUSED:
            paused_at, left = event.at, sla_pause(calendar, due_at=due, at=event.at)
            event.note = sla_pause_note(left)
        elif event.kind == TicketEvent.Kind.SLA_RESUMED and paused_at is not None:
            due = sla_resume(calendar, due_at=due, left=left or 0, at=event.at)
            paused_at, left = None, None
            event.note = sla_resume_note(due, calendar)
        elif event.kind == TicketEvent.Kind.SLA_RESUMED:  # the ticket was reopened
            due = working_time_add(calendar, event.at, ticket.sla_minutes)
            event.note = sla_reopen_note(due, calendar)
    ticket.sla_due_at, ticket.sla_paused_at, ticket.sla_left_minutes = due, paused_at, left
    closes = [e.at for e in steps if e.to_status == TicketStatus.CLOSED]
    ticket.closed_at = closes[-1] if closes and ticket.status == TicketStatus.CLOSED else None


DEMO_TOPICS = {
    "排队等候": "排队, 等候, 等了, 叫号, 窗口",
    "服务态度": "态度, 热情, 耐心, 不耐烦, 礼貌",
    "手续费与收费": "手续费, 收费, 年费, 费用",
    "手机银行 App": "手机银行, App, 闪退, 验证码, 人脸识别, 激活",
    "客服热线": "客服, 热线, 电话, 人工, 语音导航",
    "理财与贷款": "理财, 贷款, 额度, 利率, 存单",
}


def topics_seed(manager: AbstractBaseUser) -> None:
    """The bank's topic taxonomy, before any response is scored so each lands in its topics."""
    for name, keywords in DEMO_TOPICS.items():
        topic_keywords_add(name=name, keywords=keywords, by=manager)


def demo_user(spec: UserSpec) -> AbstractBaseUser:
    """The demo login, created on first run; an existing user keeps its password."""
    user, created = get_user_model().objects.get_or_create(
        username=spec.username,
        defaults={"first_name": spec.first_name, "email": f"{spec.username}@demo-bank.example"},
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return user


def org_units_seed() -> dict[str, OrgUnit]:
    units = {"HQ": OrgUnit.objects.get(code="HQ")}
    for name, code, kind, parent in ORG_UNITS:
        units[code] = org_unit_create(name=name, code=code, kind=kind, parent=units[parent])
    return units


def members_seed(users: dict[str, AbstractBaseUser], units: dict[str, OrgUnit]) -> None:
    for spec in USERS:
        if spec.role == Role.OWNER:
            continue  # tenant_create made the owner's membership
        scope = units[spec.scope] if spec.scope else None
        membership_create(user=users[spec.username], role=spec.role, org_unit=scope)


def journeys_seed(manager: AbstractBaseUser) -> dict[str, Touchpoint]:
    """The bank's journeys, created as a CX manager creates them: whole, from a document."""
    for journey_name, description, stages in JOURNEYS:
        document = {
            "name": journey_name,
            "description": description,
            "stages": [
                {
                    "name": stage_name,
                    "touchpoints": [
                        {
                            "code": code,
                            "name": name,
                            "channel": channel,
                            "key_moment": key_moment,
                            "org_unit": unit_code,
                        }
                        for name, code, channel, key_moment, unit_code in stage_touchpoints
                    ],
                }
                for stage_name, stage_touchpoints in stages
            ],
        }
        journey_create(document=document, by=manager)
    return {touchpoint.code: touchpoint for touchpoint in Touchpoint.objects.all()}


def survey_seed(
    spec: SurveySpec,
    touchpoints: dict[str, Touchpoint],
    units: dict[str, OrgUnit],
    manager: AbstractBaseUser,
) -> SeededSurvey:
    survey = survey_create(name=spec.name, touchpoint=touchpoints[spec.touchpoint], by=manager)
    questions = (
        ("nps", spec.nps, None, True),
        ("csat", spec.csat, None, False),
        ("ces", spec.ces, None, False),
        ("single_choice", spec.choice, list(spec.choice_options), False),
        ("multiple_choice", spec.improve, [(zh, en) for _a, zh, en in spec.improve_options], False),
        ("text", REASON_TEXT, None, False),
    )
    for qtype, (text_zh, text_en), options, required in questions:
        survey_question_add(
            survey=survey,
            qtype=qtype,
            text_zh=text_zh,
            text_en=text_en,
            options=options,
            required=required,
        )
    survey_publish(survey=survey, by=manager)
    # survey_publish works on its own copy; ours still says draft with no live version.
    survey.refresh_from_db()
    seeded = SeededSurvey(
        spec=spec,
        survey=survey,
        questions={q["type"]: q for q in iter_questions(survey.live_version.definition)},
        default_link=survey.links.get(),
    )
    if spec.per_branch_links:
        for code in BRANCHES:
            seeded.branch_links[code] = link_create(
                survey=survey, kind=Link.Kind.QR, name=units[code].name, org_unit=units[code]
            )
    return seeded


@dataclass(frozen=True)
class PlannedResponse:
    survey: SeededSurvey
    link: Link
    submitted_at: datetime
    answers: dict[str, Any]
    aspect: str | None
    customer_id: str


def responses_seed(demo: Demo, rng: random.Random, *, count: int) -> list[int]:
    """Submit `count` responses, oldest first, through response_submit; returns their ids."""
    now = timezone.now()
    zone = ZoneInfo(demo.tenant.time_zone)
    customers = [f"C{rng.randrange(10_000_000, 100_000_000)}" for _ in range(max(20, count // 3))]
    planned = sorted(
        (response_plan(demo, rng, now=now, zone=zone, customers=customers) for _ in range(count)),
        key=lambda plan: plan.submitted_at,
    )
    ids = []
    for index, plan in enumerate(planned):
        submitted = response_submit(
            survey=plan.survey.survey,
            raw_answers=plan.answers,
            link=plan.link,
            submitted_at=plan.submitted_at,
            started_at=plan.submitted_at - timedelta(seconds=rng.randint(60, 420)),
            client_submission_id=f"seed-{index}",
            external_customer_id=plan.customer_id,
        )
        demo.aspects[submitted.response.pk] = plan.aspect
        ids.append(submitted.response.pk)
    return ids


def response_plan(
    demo: Demo, rng: random.Random, *, now: datetime, zone: ZoneInfo, customers: list[str]
) -> PlannedResponse:
    """One respondent: where they came from, how they felt, and answers that agree with it."""
    seeded = rng.choices(demo.surveys, weights=[s.spec.share for s in demo.surveys])[0]
    spec = seeded.spec
    link, branch_code = seeded.default_link, None
    if spec.per_branch_links:
        branch_code = rng.choices(list(BRANCHES), weights=[b.weight for b in BRANCHES.values()])[0]
        link = seeded.branch_links[branch_code]
    branch = BRANCHES.get(branch_code) if branch_code else None
    submitted_at = submitted_at_draw(rng, now=now, zone=zone)
    age = (now - submitted_at).total_seconds() / 86400
    # Service improves a little over the quarter, so the weekly trend is not flat.
    mean = spec.base + (branch.effect if branch else 0.0) + 0.06 * (1 - age / WINDOW_DAYS)
    satisfaction = min(1.0, max(0.0, rng.gauss(mean, 0.17)))
    nps = _clamp(round(satisfaction * 10 + rng.gauss(0, 0.7)), 0, 10)
    pain = (branch.pain if branch else None) or spec.pain
    comment, aspect = comment_draw(
        rng, spec.topic, nps=nps, pain=pain, branch=link.name if branch_code else ""
    )
    improvements = improvements_draw(rng, spec, nps=nps, aspect=aspect, pain=pain)
    keys = {qtype: question["key"] for qtype, question in seeded.questions.items()}
    options = {qtype: question.get("options", []) for qtype, question in seeded.questions.items()}
    answers: dict[str, Any] = {
        keys["nps"]: nps,
        keys["csat"]: _clamp(round(1 + satisfaction * 4 + rng.gauss(0, 0.45)), 1, 5),
    }
    if rng.random() < 0.92:  # some skip the effort question
        answers[keys["ces"]] = _clamp(round(7 - satisfaction * 6 + rng.gauss(0, 0.6)), 1, 7)
    if rng.random() < 0.95:
        choice = rng.choices(options["single_choice"], weights=spec.choice_weights)[0]
        answers[keys["single_choice"]] = choice["key"]
    if improvements:
        answers[keys["multiple_choice"]] = [
            options["multiple_choice"][i]["key"] for i in improvements
        ]
    if comment:
        answers[keys["text"]] = comment
    tags = [spec.improve_options[i][0] for i in improvements]
    return PlannedResponse(
        survey=seeded,
        link=link,
        submitted_at=submitted_at,
        answers=answers,
        aspect=aspect or (tags[0] if tags else None),
        customer_id=rng.choice(customers) if rng.random() < 0.5 else "",
    )


def submitted_at_draw(rng: random.Random, *, now: datetime, zone: ZoneInfo) -> datetime:
    """A time in the last 90 days, in opening hours; the last five weeks a little busier."""
    age_days = rng.uniform(0, 35) if rng.random() < 0.15 else rng.uniform(0, WINDOW_DAYS - 1)
    day = (now - timedelta(days=age_days)).astimezone(zone).date()
    at = datetime(
        day.year,
        day.month,
        day.day,
        rng.randint(8, 20),
        rng.randint(0, 59),
        rng.randint(0, 59),
        tzinfo=zone,
    )
    return at - timedelta(days=1) if at > now else at


def comment_draw(
    rng: random.Random, topic: str, *, nps: int, pain: str | None, branch: str
) -> tuple[str, str | None]:
    """A comment that fits the score (or none, for ~40%), and the aspect it is about."""
    if nps >= 9:
        polarity, chance = ("mixed" if rng.random() < 0.1 else "positive"), 0.55
    elif nps >= 7:
        polarity, chance = ("mixed" if rng.random() < 0.6 else "positive"), 0.5
    else:
        polarity, chance = ("negative" if rng.random() < 0.85 else "mixed"), 0.75
    if rng.random() >= chance:
        return "", None
    pool = COMMENTS[polarity][topic] + COMMENTS[polarity]["general"]
    if polarity != "positive" and pain and rng.random() < 0.6:
        pool = tuple(c for c in pool if c[1] == pain) or pool
    text, aspect = rng.choice(pool)
    if rng.random() < 0.2:  # some customers say two things
        second, _aspect = rng.choice(COMMENTS[polarity][topic])
        if second != text:
            text += second
    openers, closers = AFFIXES[polarity]
    text = f"{rng.choice(openers)}{text}{rng.choice(closers)}"
    return text.replace("{branch}", branch or "网点"), aspect


def improvements_draw(
    rng: random.Random, spec: SurveySpec, *, nps: int, aspect: str | None, pain: str | None
) -> list[int]:
    """Indexes of the improvement options ticked: what the comment and the pain point say."""
    tags = [tag for tag, _zh, _en in spec.improve_options]
    if nps >= 9:
        return [rng.randrange(len(tags))] if rng.random() < 0.3 else []
    chosen: list[int] = []
    if aspect in tags:
        chosen.append(tags.index(aspect))
    if pain in tags and tags.index(pain) not in chosen and rng.random() < 0.5:
        chosen.append(tags.index(pain))
    target = rng.randint(1, 2 if nps >= 7 else 3)
    while len(chosen) < target:
        index = rng.randrange(len(tags))
        if index not in chosen:
            chosen.append(index)
    return sorted(chosen)


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def tickets_work(demo: Demo, rng: random.Random) -> None:
    """Work the tickets as a team keeps up with them (see TICKET_WORK_AFTER): through claims,
    notes, waits on the customer, resolutions and closes."""
    now = timezone.now()
    calendar = tenant_calendar(demo.tenant)
    root_causes = {cause.name: cause for cause in RootCause.objects.all()}
    tickets = Ticket.objects.select_related("org_unit", "response").order_by("number")
    done_flows = [flow for flow in FLOWS if flow[1][-1] in ("resolve", "close")]
    closed = 0
    for ticket in tickets:
        submitted = ticket.response.submitted_at
        if working_minutes_between(calendar, submitted, now) < TICKET_UNTOUCHED_MINUTES:
            continue
        if submitted > now - TICKET_WORK_AFTER:
            flows = [(1, ("claim", "note"))]
        else:
            flows = done_flows if submitted < now - TICKET_DONE_AFTER else FLOWS
        code = ticket.org_unit.code if ticket.org_unit_id else ""
        worker = demo.users[TICKET_WORKERS.get(code, "manager")]
        cause = root_causes.get(ASPECT_ROOT_CAUSES.get(demo.aspects.get(ticket.response_id), ""))
        cause = cause or root_causes.get(FALLBACK_ROOT_CAUSE) or next(iter(root_causes.values()))
        steps = rng.choices([f[1] for f in flows], weights=[f[0] for f in flows])[0]
        for step in steps:
            ticket = ticket_step(ticket, step, by=worker, cause=cause, rng=rng)
        if ticket.status == TicketStatus.CLOSED:
            closed += 1
            if closed in REOPEN_AT_CLOSED:
                ticket_step(ticket, "reopen", by=demo.users["manager"], cause=cause, rng=rng)


def ticket_step(
    ticket: Ticket, step: str, *, by: AbstractBaseUser, cause: RootCause, rng: random.Random
) -> Ticket:
    """Apply one step of a flow: a follow-up note or a transition, with fitting Chinese text."""
    if step == "note":
        ticket_note_add(ticket=ticket, by=by, note=rng.choice(FOLLOW_UP_NOTES))
        return ticket
    if step == "resolve":
        ticket_recovery_seed(ticket, by=by)
        resolution = rng.choice(RESOLUTIONS.get(cause.name, ("已回访客户并妥善处理。",)))
        return ticket_transition(
            ticket=ticket,
            action=step,
            by=by,
            note=rng.choice(STEP_NOTES[step]),
            root_cause=cause,
            resolution=resolution,
        )
    return ticket_transition(ticket=ticket, action=step, by=by, note=rng.choice(STEP_NOTES[step]))


def ticket_recovery_seed(ticket: Ticket, *, by: AbstractBaseUser) -> None:
    """Before a resolution: a contact with the customer, and for some a recovery action."""
    own = random.Random(ticket.number)
    channel, outcome, note = own.choice(RECOVERY_CONTACTS)
    ticket_contact_log(ticket=ticket, channel=channel, outcome=outcome, note=note, by=by)
    if own.random() < RECOVERY_SHARE:
        kind, cost, note = own.choice(RECOVERY_ACTIONS)
        ticket_recovery_record(ticket=ticket, kind=kind, cost=cost, note=note, by=by)

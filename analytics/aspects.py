"""Aspect-level opinions: which aspects of the experience a text speaks about, and how.

"服务态度很好，但是排队太久了" praises 服务态度 and blames 等待时间 even if the text as a whole
reads as neutral. The text is split into clauses; each aspect term found in a clause takes
that clause's sentiment from our model, corrected by the aspect's own opinion cues where the
model, trained on hotel and shopping reviews, misses a CX idiom ("排队太久" reads neutral to it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from analytics.chinese import Clause, Segmented, TermMatcher, negated, segment
from analytics.sentiment import Evidence, SentimentModel, default_model

# Where a clause's score moves when an opinion cue is found: half way from the model's score
# to this, and at least CUE_MARGIN past the neutral band on the cue's side. The cue wins: in
# "排队时间有点长" the model, trained on hotel and shopping reviews, reads a polite clause
# (0.8), while 长 said of waiting is a complaint whatever the tone. Unless the model is sure
# of the opposite (beyond CUE_CONFIDENT): then the cue is likelier a false friend (晚 in 昨晚)
# and the clause ends half way, near neutral.
CUE_POSITIVE_TARGET = 0.95
CUE_NEGATIVE_TARGET = 0.05
CUE_MARGIN = 0.05
CUE_CONFIDENT = 0.9
# Words that join the items of an enumeration without saying anything about them.
_FILLER = frozenset("的和与及跟还也都很")


@dataclass(frozen=True)
class AspectDefinition:
    """An aspect, the terms that mean a text speaks of it, and the opinion cues that are clear
    in its context ("久" is bad for waiting, meaningless elsewhere)."""

    name: str
    terms: tuple[str, ...]
    positive_cues: tuple[str, ...] = ()
    negative_cues: tuple[str, ...] = ()


def _aspect(name: str, terms: str, positive: str = "", negative: str = "") -> AspectDefinition:
    """An aspect written compactly: terms and cues as space-separated words."""
    return AspectDefinition(
        name, tuple(terms.split()), tuple(positive.split()), tuple(negative.split())
    )


BUILTIN_ASPECTS: tuple[AspectDefinition, ...] = (
    _aspect(
        "服务态度",
        terms=(
            "服务态度 态度 服务 热情 冷淡 冷漠 耐心 不耐烦 礼貌 微笑 脸色 爱理不理 不理人 没人理 "
            "贴心 周到 客气 友好 亲切 傲慢 敷衍 推诿 踢皮球 凶 大堂经理 没人管 推来推去 互相推 "
            "打发 大呼小叫 甩脸色 骚扰 推销 温柔 细心 负责 照顾 有礼貌"
        ),
        positive="热情 耐心 礼貌 微笑 贴心 周到 客气 友好 亲切 主动 细心 温柔 用心 负责 照顾",
        negative=(
            "冷淡 冷漠 不耐烦 脸色 爱理不理 不理人 没人理 傲慢 敷衍 推诿 踢皮球 凶 恶劣 生硬 "
            "不礼貌 不客气 嫌弃 翻白眼 没人管 推来推去 互相推 打发 大呼小叫 甩脸色 骚扰 推销"
        ),
    ),
    _aspect(
        "等待时间",
        terms=(
            "等待时间 等候时间 排队 排长队 等待 等候 等了 久等 叫号 取号 窗口 办理速度 速度 效率 "
            "等太久 等很久 打不通 占线 延误 晚点 误点 准点 准点率"
        ),
        positive=(
            "快 迅速 及时 高效 效率高 很短 不用排队 不用等 没排队 没有排队 无需排队 人不多 省时 "
            "准点 准时 提前"
        ),
        negative=(
            "久 长 慢 半天 小时 浪费时间 排长队 拖 效率低 效率太低 只开了 人太多 "
            "人很多 等不及 拥挤 打不通 占线 延误 晚点 误点 二十分钟 三十分钟 四十分钟 五十分钟 "
            "几十分钟 半小时 半个小时 20分钟 30分钟 40分钟 50分钟"
        ),
    ),
    _aspect(
        "价格费用",
        terms=(
            "价格 价钱 收费 费用 手续费 年费 服务费 管理费 账户管理费 小额管理费 扣费 扣钱 乱收费 "
            "费率 性价比 太贵 很贵 偏贵 便宜 实惠 划算 汇率 利息 电费 水费 燃气费 暖气费 物业费 "
            "话费 资费 流量费 短信费 配送费 运费 保费 票价 上牌费 初装费 工时费 违约金 检查费 "
            "多收 多交 自费 套餐 报价"
        ),
        positive=(
            "便宜 实惠 划算 透明 合理 优惠 免费 减免 免收 低 性价比高 性价比很高 性价比挺高 "
            "性价比超高 性价比非常高 性价比极高 性价比较高 性价比比较高 性价比蛮高 性价比相当高 "
            "性价比特别高"
        ),
        negative=(
            "贵 高 乱收费 乱扣 莫名 不透明 隐形 坑 乱收 多收 多交 不合理 不退 性价比低 翻倍 涨 "
            "强制 自费"
        ),
    ),
    _aspect(
        "产品质量",
        terms=(
            "产品质量 质量 品质 做工 材质 正品 假货 次品 瑕疵 耐用 漏水 漏油 异味 怪味 变质 过期 "
            "掉色 开胶 起球 开线 翻新 新鲜 发动机 刹车"
        ),
        positive="耐用 结实 正品 精致 好用 稳定 收益高 收益不错 新鲜 好吃",
        negative=(
            "次品 假货 瑕疵 劣质 破损 坏了 不好用 亏损 亏了 缩水 不耐用 粗糙 漏水 漏油 异味 怪味 "
            "变质 过期 掉色 开胶 起球 开线 翻新 失灵 烂"
        ),
    ),
    _aspect(
        "物流配送",
        terms=(
            "物流 快递 配送 送货 发货 到货 邮寄 寄送 快递员 送达 签收 包装 物流速度 发货速度 "
            "配送速度 派送 送到 送错 丢件 驿站 行李 托运 包裹 冒签 送餐 骑手"
        ),
        positive="快 及时 准时 迅速 完好 严实 送货上门",
        negative="慢 晚 久 破损 丢件 丢了 延迟 没送到 送错 拖 超时 摔 变形 冒签 化了",
    ),
    _aspect(
        "环境",
        terms=(
            "环境 网点环境 卫生 大堂 装修 座位 空调 停车 停车位 设施 噪音 干净 整洁 脏 吵 等候区 "
            "洗手间 厕所"
        ),
        positive="干净 整洁 舒适 明亮 宽敞 安静 温馨 舒服 凉快",
        negative=(
            "脏 乱 吵 闷 热 冷 挤 拥挤 异味 简陋 破旧 堵 没有座位 没座位 没有停车位 没停车位 难停车"
        ),
    ),
    _aspect(
        "App/系统",
        terms=(
            "app 手机银行 网银 网上银行 系统 软件 界面 小程序 公众号 网站 页面 登录 闪退 卡顿 "
            "验证码 人脸识别 atm 自助机 柜员机 取款机 叫号机 客户端 更新 车机 死机 白屏 刷脸 "
            "网上缴费 线上 电表 预约挂号"
        ),
        positive="流畅 顺畅 方便 便捷 好用 简洁 简单 稳定 快 顺利",
        negative=(
            "闪退 卡顿 很卡 太卡 卡死 卡住 崩溃 故障 失败 报错 繁忙 打不开 登不上 进不去 复杂 难用 "
            "不好用 bug 出错 吞卡 查不到 用不了 转不了 登录不上 没反应 死机 失灵 白屏 转圈 "
            "不通过 加载失败 对不上"
        ),
    ),
    _aspect(
        "专业能力",
        terms=(
            "专业能力 专业 业务能力 业务水平 熟练 讲解 解答 解释 业务不熟 新手 一问三不知 经验 "
            "技术 手艺 误诊 说法 没修好 漏做 讲得"
        ),
        positive="专业 熟练 清楚 细致 到位 准确 详细 耐心讲解 仔细 很好 有经验",
        negative=(
            "不专业 不熟练 业务不熟 说不清 不清楚 出错 差错 搞错 新手 一问三不知 误导 外行 "
            "答非所问 误诊 没修好 漏做 不一样"
        ),
    ),
)


# Sector aspects: an insurer's claims, an operator's network.
SECTOR_ASPECTS: tuple[AspectDefinition, ...] = (
    _aspect(
        "理赔",
        terms="理赔 理赔款 理赔金额 理赔进度 赔付 拒赔 定损 直赔 报案",
        positive="快 顺利 及时 方便 爽快 搞定 迅速 简单 到账 满意",
        negative="拖 慢 久 拒 拒赔 低 少 不赔 不全 麻烦 折腾 查不到 被拒 没下来 不够",
    ),
    _aspect(
        "网络信号",
        terms="信号 网速 网络 断网 掉线 没网 5g 4g 基站 信号覆盖 延迟高 延迟很高",
        positive="快 稳定 流畅 满格 好多了",
        negative=(
            "差 慢 断 掉线 不好 弱 一格 卡 不稳 时有时无 蜗牛 离谱 没网 没有信号 没信号 延迟高 "
            "延迟很高"
        ),
    ),
)
BUILTIN_ASPECTS += SECTOR_ASPECTS


def aspects_merge(
    builtin: Iterable[AspectDefinition], tenant_aspects: Iterable[tuple[str, list[str]]]
) -> tuple[AspectDefinition, ...]:
    """The built-in aspects extended by a tenant's: terms under a built-in name join that aspect
    (and use its cues); a new name is a new aspect judged by the model alone."""
    merged = {aspect.name: aspect for aspect in builtin}
    for name, terms in tenant_aspects:
        known = merged.get(name)
        if known is None:
            merged[name] = AspectDefinition(name, tuple(terms))
        else:
            extra = tuple(term for term in terms if term not in known.terms)
            merged[name] = AspectDefinition(
                name, known.terms + extra, known.positive_cues, known.negative_cues
            )
    return tuple(merged.values())


@dataclass(frozen=True)
class AspectOpinion:
    aspect: str
    polarity: str  # a Sentiment value
    score: float  # in [0, 1], like the text's sentiment score
    clause: str

    def as_json(self) -> dict:
        return {
            "aspect": self.aspect,
            "polarity": self.polarity,
            "score": round(self.score, 4),
            "clause": self.clause,
        }


@dataclass
class _Mention:
    aspect: str
    clause: int
    cue: int = 0  # sum of the cues found: > 0 positive, < 0 negative
    bare: bool = False  # the clause is nothing but aspect terms ("服务态度、")


@dataclass
class AspectFinder:
    """Finds the aspects of texts for one tenant's aspect dictionary (compiled once)."""

    aspects: tuple[AspectDefinition, ...] = BUILTIN_ASPECTS
    _terms: TermMatcher[str] = field(init=False, repr=False)
    _cues: dict[str, TermMatcher[int]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._terms = TermMatcher(
            {term: aspect.name for aspect in self.aspects for term in aspect.terms}
        )
        self._cues = {
            aspect.name: TermMatcher(
                {cue: 1 for cue in aspect.positive_cues} | {cue: -1 for cue in aspect.negative_cues}
            )
            for aspect in self.aspects
        }

    @property
    def names(self) -> list[str]:
        return [aspect.name for aspect in self.aspects]

    def find(
        self,
        text: str | Segmented,
        *,
        model: SentimentModel | None = None,
        evidence: Evidence | None = None,
    ) -> list[AspectOpinion]:
        """One opinion per aspect the text speaks of, in order of first mention.

        An aspect mentioned in several clauses keeps its most decided one. A clause's sentiment
        is the model's on the clause's part of the text; pass the text's Evidence if it has
        been read already.
        """
        if isinstance(text, str):
            text = segment(text)
        if not self._terms.occurs_in(text.text):  # no clause to cut, nothing to score
            return []
        parts = text.clauses
        mentions = [m for index, clause in enumerate(parts) for m in self._mentions(clause, index)]
        if not mentions:
            return []
        if evidence is None:
            evidence = (model or default_model()).evidence(text)
        model = evidence.model
        scores: dict[int, float] = {}  # of the judged clauses, by index
        best: dict[str, AspectOpinion] = {}
        for mention in mentions:
            index = _judged_clause(parts, mention)
            if index not in scores:
                scores[index] = evidence.score(parts[index].start, parts[index].end)
            score = scores[index]
            if mention.cue:
                if mention.cue > 0:
                    halfway = (score + CUE_POSITIVE_TARGET) / 2
                    sure = score < 1 - CUE_CONFIDENT
                    score = halfway if sure else max(halfway, model.high + CUE_MARGIN)
                else:
                    halfway = (score + CUE_NEGATIVE_TARGET) / 2
                    sure = score > CUE_CONFIDENT
                    score = halfway if sure else min(halfway, model.low - CUE_MARGIN)
            opinion = AspectOpinion(
                mention.aspect, model.label(score), score, parts[mention.clause].text
            )
            known = best.get(mention.aspect)
            if known is None or abs(score - 0.5) > abs(known.score - 0.5):
                best[mention.aspect] = opinion
        return list(best.values())

    def _mentions(self, clause: Clause, index: int) -> list[_Mention]:
        found = self._terms.find(clause.text)
        if not found:
            return []
        spans = [(m.start, m.end) for m in found]
        rest = clause.text
        for start, end in reversed(spans):
            rest = rest[:start] + rest[end:]
        bare = all(char in _FILLER for char in rest)
        mentions: dict[str, _Mention] = {}
        for match in found:
            mention = mentions.setdefault(match.value, _Mention(match.value, index, bare=bare))
            if not mention.cue:
                mention.cue = self._cue(clause.text, match.value, spans)
        return list(mentions.values())

    def _cue(self, text: str, aspect: str, term_spans: list[tuple[int, int]]) -> int:
        """Net opinion of `aspect`'s cues in the clause. A cue inside a longer term does not
        count (快 in 快递), a cue that is a whole term does (专业, 闪退); a negator before a
        cue turns it round (不慢, 没有排队)."""
        total = 0
        for cue in self._cues[aspect].find(text):
            inside = any(
                start <= cue.start and cue.end <= end and (start, end) != (cue.start, cue.end)
                for start, end in term_spans
            )
            if not inside:
                total += -cue.value if negated(text, cue.start) else cue.value
        return total


def _judged_clause(parts: list[Clause], mention: _Mention) -> int:
    """The clause whose sentiment counts for a mention: its own, or for a bare item of an
    enumeration ("态度、效率都很好") the clause that ends the enumeration."""
    index = mention.clause
    if mention.bare:
        while parts[index].continues and index + 1 < len(parts):
            index += 1
    return index

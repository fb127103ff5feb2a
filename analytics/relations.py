"""Relations in a verbatim: what is talked about and what is said of it (柜员-态度差, app-闪退,
年费-乱收), found clause by clause with the aspect lexicon and the text's one cut into words.

No parser: a clause's first target (an aspect term that is not itself a judgement, or a person
of the front line: 柜员, 客服, 快递员) is what the clause is about, and the words that follow
it, without degree and frequency adverbs (很, 太, 老是) and final particles, are what is said
of it. A person followed by one of their qualities (柜员 + 态度) keeps the quality in the
judgement: "柜员态度差" is 柜员-态度差. Where nothing follows the target, the few words before
it are the judgement ("很热情的大堂经理": 大堂经理-热情).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from analytics.aspects import AspectDefinition
from analytics.chinese import Clause, Segmented, TermMatcher


def _words(text: str) -> list[str]:
    return text.split()


# People a customer speaks of, who are no aspect by themselves.
ACTORS = _words(
    "柜员 客服 客服人员 人工客服 客户经理 理财经理 大堂经理 工作人员 营业员 服务员 店员 导购 销售 "
    "收银员 前台 保安 快递员 快递小哥 骑手 司机 师傅 维修师傅 安装师傅 医生 护士 乘务员 空姐 "
    "地勤 经理 老板 商家 卖家 主管 专员 业务员 理赔员 查勘员 装维"
)
# Qualities of a person that belong to the judgement, not to the target ("柜员态度差").
QUALITIES = frozenset(
    _words("态度 服务态度 服务 效率 速度 水平 业务水平 业务能力 专业能力 能力 语气 脾气 素质 技术")
)
# Words between a target and its judgement that say how much or how often, not what.
_DEGREE = _words(
    "非常 特别 十分 相当 比较 有点儿 有点 有些 一点 挺 很 太 真的 真是 真 超级 超 极其 极 过于 "
    "太过 实在 老是 总是 经常 常常 一直 总 老 还是 还 也 都 又 就 却 竟然 居然 简直 未免 好像 "
    "似乎 确实 越来越 更 最 的 得 地 是"
)
# Particles and fillers that end a clause without adding to it.
_TRAILING = "了啊呀吧呢的啦哦嘛哈呵"
# Where a judgement stops: a connective, a pronoun, or another subject.
_STOP_WORDS = frozenset(
    _words(
        "而且 并且 然后 结果 还要 还得 让 把 被 给 我 我们 你们 他们 她们 他 她 它 你 这 那 说 "
        "因为 所以 如果 导致 害得 跟 和 与 及 对 在"
    )
)
OPINION_MAX_CHARS = 6
OPINION_MAX_WORDS = 3


@dataclass(frozen=True)
class Relation:
    target: str
    opinion: str

    def as_json(self) -> dict:
        return {"target": self.target, "opinion": self.opinion}


@dataclass
class RelationFinder:
    """Finds relations for one tenant's aspect dictionary (compiled once)."""

    aspects: Iterable[AspectDefinition]
    _targets: TermMatcher[bool] = field(init=False, repr=False)
    _cue_pattern: re.Pattern = field(init=False, repr=False)  # any opinion cue

    def __post_init__(self) -> None:
        aspects = tuple(self.aspects)
        cues = {cue for aspect in aspects for cue in (*aspect.positive_cues, *aspect.negative_cues)}
        # One search for any cue instead of a substring test per cue (hundreds).
        self._cue_pattern = re.compile("|".join(map(re.escape, sorted(cues))) or "(?!)")
        # An aspect term that is a judgement itself (闪退, 热情, 乱收费) or ends with one (太贵,
        # 等太久) is never a target; it is what is said of one.
        targets = {
            term: True
            for aspect in aspects
            for term in aspect.terms
            if term not in cues and not any(term.endswith(cue) for cue in cues)
        }
        targets |= {actor: True for actor in ACTORS}
        self._targets = TermMatcher(targets)

    def find(self, text: Segmented) -> list[Relation]:
        """The relations of a text, in order, each pair once."""
        if not self._targets.occurs_in(text.text):
            return []
        found: dict[Relation, None] = {}
        for clause in text.clauses:
            relation = self._in_clause(text, clause)
            if relation is not None:
                found.setdefault(relation)
        return list(found)

    def _in_clause(self, text: Segmented, part: Clause) -> Relation | None:
        clause, offset = part.text, part.start
        matches = self._targets.find(clause)
        if not matches:
            return None
        words = text.clause_words(part)  # only for a clause with a target
        first = matches[0]
        target, end = first.term, first.end
        # Adjacent targets make one ("手机银行" + "登录"), and so does a thing and its quality
        # ("排队" + "时间"); a person's quality is part of the judgement ("柜员" + "态度差").
        later = iter(matches[1:])
        for start, word in words:
            start -= offset
            if start < end:
                continue
            if start > end or target in ACTORS:
                break
            match = next((m for m in later if m.start >= start), None)
            if word in QUALITIES or word == "时间":
                target, end = target + word, start + len(word)
            elif match is not None and match.start == start:
                target, end = target + match.term, match.end
            else:
                break
        opinion = _opinion([word for start, word in words if start - offset >= end])
        if not opinion:
            before = _words_before(first.start, words, offset)
            if self._cue_pattern.search("".join(before)):
                opinion = _opinion(before, before=True)
        if not opinion or opinion == target:
            return None
        return Relation(target, opinion)


def _words_before(position: int, words: list[tuple[int, str]], offset: int) -> list[str]:
    return [word for start, word in words if start - offset < position]


def _opinion(words: list[str], *, before: bool = False) -> str:
    """The judgement among `words`: degree words and particles dropped, at most a few words."""
    kept: list[str] = []
    for word in words:
        if word in _STOP_WORDS:
            if kept:
                break
            if before:
                kept.clear()
            continue
        word = _without_degree(word)
        if not word:
            continue
        if not any("\u4e00" <= char <= "\u9fff" or char.isalnum() for char in word):
            break
        kept.append(word)
    if before:
        kept = kept[-OPINION_MAX_WORDS:]
    opinion = ""
    for word in kept[:OPINION_MAX_WORDS]:
        if len(opinion + word) > OPINION_MAX_CHARS:
            break
        opinion += word
    return opinion.rstrip(_TRAILING)


# Degree words that may open a longer word (太 in 太慢), as a set: a word's first two
# characters, then its first one, are looked up instead of trying every prefix in turn.
_DEGREE_PREFIXES = frozenset(
    word for word in _DEGREE if len(word) <= 2 and word not in ("的", "得", "地", "是")
)


def _without_degree(word: str) -> str:
    """A word without the degree it is said with: 太慢 is 慢, 很 is nothing."""
    if word in _DEGREE:
        return ""
    for size in (2, 1):  # the longer degree word first: 非常好 is 好
        if len(word) > size and word[:size] in _DEGREE_PREFIXES:
            return word[size:]
    return word

"""The analyzer's full output on a fixed set of texts, one JSON line per text, to compare trees.

    python -m bench.text_outputs before.jsonl      # in one tree
    python -m bench.text_outputs after.jsonl       # in the other
    cmp before.jsonl after.jsonl

A speed change must leave every line as it was. The texts: chnsenticorp_dev and _test,
online_shopping_test and the first 3,000 rows of online_shopping_train (read, never trained on),
both feedback splits, and a few edge cases; every fifth text is analysed with a tenant
dictionary of its own aspects, words and topics. Prints the CPU seconds of the analysis.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data" / "sentiment"
PUBLIC = (
    ("chnsenticorp_dev.csv", None),
    ("chnsenticorp_test.csv", None),
    ("online_shopping_test.csv", None),
    ("online_shopping_train.csv", 3000),
)
FEEDBACK = REPO / "analytics" / "data" / "feedback"
EDGE_CASES = (
    "",
    "  ",
    "不过期",
    "服务态度、效率都很好",
    "柜员态度差，但是排队太久了",
    "app老是闪退😀\ud800",
    "a b c 1 2",
    "大额存单利率不错，理财收益也还行吧",
)


def texts() -> list[str]:
    from analytics.sentiment import read_labelled_csv

    found = []
    for name, limit in PUBLIC:
        found += [text for _, text in read_labelled_csv(DATA / name)[:limit]]
    for path in sorted(FEEDBACK.glob("*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            found += [json.loads(line)["text"] for line in lines if line.strip()]
    return found + list(EDGE_CASES)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.text_outputs", description=__doc__)
    parser.add_argument("out", type=Path, help="JSON lines file to write")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cem.settings")
    import django

    django.setup()
    from analytics.text import BUILTIN_DICTIONARY, TenantDictionary, text_analyze
    from analytics.topics import TopicDefinition

    tenant = TenantDictionary(
        revision=3,
        aspects=[("理财收益", ["收益", "年化"]), ("等待时间", ["排号"])],
        user_words=["大额存单", "排号"],
        topics=[TopicDefinition("信用卡", ("信用卡", "额度")), TopicDefinition("物流", ("快递",))],
    )
    all_texts = texts()
    start = time.process_time()
    # surrogatepass: a lone surrogate (an edge case above) is written as it came.
    with args.out.open("w", encoding="utf-8", errors="surrogatepass") as out:
        for i, text in enumerate(all_texts):
            dictionary = tenant if i % 5 == 0 else BUILTIN_DICTIONARY
            result = text_analyze(text, dictionary=dictionary)
            line = json.dumps(result.__dict__ if result else None, ensure_ascii=False)
            out.write(line + "\n")
    print(f"texts={len(all_texts)} cpu_s={time.process_time() - start:.2f} file={args.out}")


if __name__ == "__main__":
    main()

"""Reading an uploaded file of external posts (CSV in UTF-8 or GB18030/GBK, or Excel .xlsx)
into PostInputs, with a clear message for what cannot be read: an unknown encoding, missing
columns, a bad date, a file too big."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from analytics.external_posts import MAX_POSTS, MAX_TEXT, PostInput

MAX_FILE_BYTES = 10 * 1024 * 1024
# A field longer than this is not a post but a broken file (an unclosed quote swallows the
# rest); the text's own limit, with room for the service to name it, is checked row by row.
MAX_FIELD_CHARS = 4 * MAX_TEXT
# Column names a file may use, English or Chinese, for each field of a post.
COLUMNS: dict[str, tuple[str, ...]] = {
    "source_id": ("source_id", "id", "编号", "来源编号", "帖子编号", "投诉编号", "评论编号"),
    "text": ("text", "content", "内容", "正文", "投诉内容", "评论内容"),
    "source": ("source", "来源", "平台", "渠道"),
    "author": ("author", "作者", "用户", "昵称"),
    "posted_at": ("posted_at", "time", "发布时间", "时间", "投诉时间", "评论时间"),
    "url": ("url", "link", "链接", "网址"),
}
REQUIRED = ("source_id", "text")
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M")
_DAY_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日")


class PostFileError(ValueError):
    """The file cannot be read as posts; the message says why, for the person uploading."""


@dataclass(frozen=True)
class PostRow:
    line: int  # the row's line in the file (the header is line 1)
    post: PostInput


@dataclass(frozen=True)
class RowProblem:
    line: int
    message: str


def posts_read(
    *, name: str, content: bytes, default_source: str, zone: ZoneInfo
) -> tuple[list[PostRow], list[RowProblem]]:
    """The posts of an uploaded file, and the rows that could not be read (a bad date). Raises
    PostFileError when the file as a whole cannot be read."""
    if len(content) > MAX_FILE_BYTES:
        raise PostFileError(_("文件超过 %(mb)s MB") % {"mb": MAX_FILE_BYTES // (1024 * 1024)})
    if name.lower().endswith(".xlsx"):
        rows = _excel_rows(content)
    elif name.lower().endswith((".csv", ".txt")):
        rows = _csv_rows(content)
    else:
        raise PostFileError(_("只支持 CSV（.csv）或 Excel（.xlsx）文件"))
    header = next((row for _line, row in rows if any(cell.strip() for cell in row)), None)
    if header is None:
        raise PostFileError(_("文件是空的"))
    positions = _columns(header)
    posts, problems = [], []
    for line, cells in rows:
        if not any(cell.strip() for cell in cells):
            continue
        if len(posts) + len(problems) >= MAX_POSTS:
            raise PostFileError(_("一次最多导入 %(n)s 条") % {"n": MAX_POSTS})
        values = {
            name: cells[index] if index < len(cells) else "" for name, index in positions.items()
        }
        try:
            posted_at = _moment(values.get("posted_at", ""), zone)
        except ValueError:
            message = _("无法识别的发布时间：%(value)s") % {"value": values["posted_at"]}
            problems.append(RowProblem(line, message))
            continue
        posts.append(
            PostRow(
                line,
                PostInput(
                    source=values.get("source", "").strip() or default_source,
                    source_id=values["source_id"],
                    text=values["text"],
                    author=values.get("author", ""),
                    url=values.get("url", ""),
                    posted_at=posted_at,
                ),
            )
        )
    return posts, problems


def _columns(header: list[str]) -> dict[str, int]:
    """Where each field's column is; PostFileError naming the required ones missing."""
    names = [cell.strip().lstrip("\ufeff").lower() for cell in header]
    positions = {}
    for field, aliases in COLUMNS.items():
        for alias in aliases:
            if alias in names:
                positions[field] = names.index(alias)
                break
    missing = [field for field in REQUIRED if field not in positions]
    if missing:
        raise PostFileError(
            _("缺少必需的列：%(missing)s（可用的列名：%(names)s）")
            % {
                "missing": "、".join(missing),
                "names": "；".join(f"{field}: {'/'.join(COLUMNS[field])}" for field in missing),
            }
        )
    return positions


def _decoded(content: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030, which covers GBK and GB2312."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise PostFileError(_("无法识别文件编码：请将 CSV 另存为 UTF-8 或 GBK/GB18030 编码后再上传"))


def _csv_rows(content: bytes) -> Iterator[tuple[int, list[str]]]:
    """The file's rows, each with its line number."""
    text = _decoded(content)
    if "\x00" in text:
        raise PostFileError(_("文件含有空字符（NUL），不是有效的文本 CSV"))
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        ended = 0  # the line the previous row ended on: a quoted field may span lines
        for row in reader:
            start, ended = ended + 1, reader.line_num
            if any(len(cell) > MAX_FIELD_CHARS for cell in row):
                raise PostFileError(
                    _("第 %(line)s 行有超长的字段（超过 %(n)s 个字符），文件可能缺少引号")
                    % {"line": start, "n": MAX_FIELD_CHARS}
                )
            yield start, row
    except csv.Error as error:
        raise PostFileError(
            _("第 %(line)s 行无法读取：%(error)s") % {"line": reader.line_num, "error": error}
        ) from error


def _excel_rows(content: bytes) -> Iterator[tuple[int, list[str]]]:
    """The first sheet's rows, each with its row number."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise PostFileError(_("无法读取 Excel 文件，请确认是 .xlsx 格式")) from error
    try:
        for line, row in enumerate(book.worksheets[0].iter_rows(values_only=True), start=1):
            cells = [_cell_text(cell) for cell in row]
            if any(len(cell) > MAX_FIELD_CHARS for cell in cells):
                message = _("有超长的单元格（超过 %(n)s 个字符）") % {"n": MAX_FIELD_CHARS}
                raise PostFileError(message)
            yield line, cells
    finally:
        book.close()


def _cell_text(cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, datetime):
        return cell.isoformat(sep=" ")
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))  # an id typed as a number: 10023, not 10023.0
    return str(cell)


def _moment(value: str, zone: ZoneInfo) -> datetime | None:
    """A post's time: ISO 8601 or a common Chinese spreadsheet form; naive ones are in the
    tenant's time zone. None when empty (the post is dated when received)."""
    value = value.strip()
    if not value:
        return None
    moment = parse_datetime(value)
    if moment is None:
        for pattern in _DATE_FORMATS:
            try:
                moment = datetime.strptime(value, pattern)  # naive: the zone is set below
                break
            except ValueError:
                continue
    if moment is None:
        for pattern in _DAY_FORMATS:
            try:
                day: date = datetime.strptime(value, pattern).date()
                moment = datetime.combine(day, time.min)
                break
            except ValueError:
                continue
    if moment is None:
        raise ValueError(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)

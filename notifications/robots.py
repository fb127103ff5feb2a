"""Group robots of WeCom (企业微信), DingTalk (钉钉) and Feishu (飞书): where a webhook may point,
how each platform's request is signed, the ticket card each shows, and the one POST."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import socket
import time
from urllib.parse import quote_plus, urlsplit

import requests
from django.conf import settings
from django.utils.translation import gettext as _

from organizations.messaging import DeliveryError

TIMEOUT_SECONDS = 5.0


class WebhookUrlError(ValueError):
    """A webhook URL the platform refuses to call: its message says why, for the person."""


def webhook_url_check(url: str) -> None:
    """Refuse a URL that is not https or whose host resolves to a private, loopback,
    link-local or otherwise non-public address (checked again before every send, so a name
    that later resolves inside is refused then). settings.CEM_WEBHOOK_ALLOW_PRIVATE lists the
    addresses a local test receiver uses: they pass, over plain http too."""
    parts = urlsplit(url.strip())
    if not parts.hostname:
        raise WebhookUrlError(_("请填写完整的 Webhook 地址（https://…）。"))
    allowed = set(settings.CEM_WEBHOOK_ALLOW_PRIVATE)
    not_https = WebhookUrlError(_("Webhook 地址必须以 https:// 开头。"))
    if parts.scheme != "https" and (parts.scheme != "http" or not allowed):
        raise not_https
    addresses = _addresses(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    if addresses <= allowed:
        return
    if parts.scheme != "https":
        raise not_https
    inside = sorted(a for a in addresses if not ipaddress.ip_address(a).is_global)
    if inside:
        raise WebhookUrlError(
            _("Webhook 地址不能指向内网、本机或保留地址（%(address)s）。")
            % {"address": ", ".join(inside)}
        )


def _addresses(host: str, port: int) -> set[str]:
    try:
        found = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as error:
        raise WebhookUrlError(
            _("无法解析 Webhook 地址的主机名 %(host)s。") % {"host": host}
        ) from error
    return {info[4][0].split("%")[0] for info in found}


def dingtalk_signed_url(url: str, secret: str, *, timestamp_ms: int) -> str:
    """DingTalk custom robot (加签): sign = urlencode(base64(HMAC-SHA256(key=secret,
    msg="timestamp\\nsecret"))), with timestamp (ms) and sign as query parameters."""
    text = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), text, hashlib.sha256).digest()
    sign = quote_plus(base64.b64encode(digest))
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp_ms}&sign={sign}"


def feishu_sign(secret: str, *, timestamp: int) -> str:
    """Feishu custom bot (签名校验): base64(HMAC-SHA256(key="timestamp\\nsecret", msg=empty)),
    sent as `sign` with `timestamp` (seconds) in the JSON body."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def ticket_card(kind: str, *, title: str, lines: list[str], link: str) -> dict:
    """The platform's card: a title, a few lines of markdown and a button to the ticket."""
    text = "\n".join(lines)
    button = _("查看工单")
    if kind == "wecom":
        return {
            "msgtype": "markdown",
            "markdown": {"content": f"**{title}**\n{text}\n[{button}]({link})"},
        }
    if kind == "dingtalk":
        return {
            "msgtype": "actionCard",
            "actionCard": {
                "title": title,
                "text": f"### {title}\n\n" + "\n\n".join(lines),
                "singleTitle": button,
                "singleURL": link,
            },
        }
    return {
        "msg_type": "interactive",
        "card": {
            "header": {"title": {"tag": "plain_text", "content": title}},
            "elements": [
                {"tag": "div", "text": {"tag": "lark_md", "content": text}},
                {
                    "tag": "action",
                    "actions": [
                        {
                            "tag": "button",
                            "text": {"tag": "plain_text", "content": button},
                            "url": link,
                            "type": "primary",
                        }
                    ],
                },
            ],
        },
    }


def robot_post(kind: str, *, url: str, secret: str, card: dict) -> None:
    """POST the card, signed as the platform asks, with a timeout; DeliveryError when the
    address is refused, the call fails or times out, or the platform answers with an error."""
    try:
        webhook_url_check(url)
    except WebhookUrlError as error:
        raise DeliveryError(str(error)) from error
    body = dict(card)
    if kind == "dingtalk" and secret:
        url = dingtalk_signed_url(url, secret, timestamp_ms=int(time.time() * 1000))
    if kind == "feishu" and secret:
        timestamp = int(time.time())
        body |= {"timestamp": str(timestamp), "sign": feishu_sign(secret, timestamp=timestamp)}
    try:
        reply = requests.post(url, json=body, timeout=TIMEOUT_SECONDS, allow_redirects=False)
        reply.raise_for_status()
        answer = reply.json()
    except (requests.RequestException, ValueError) as error:
        raise DeliveryError(str(error)[:500]) from error
    code = answer.get("errcode", answer.get("code", answer.get("StatusCode", 0)))
    if code != 0:
        raise DeliveryError(f"{kind} answered {code}: {answer.get('errmsg') or answer.get('msg')}")

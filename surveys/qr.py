"""QR codes of survey links, as PNG for print and SVG for designers, singly or as a zip."""

from __future__ import annotations

import io
import zipfile

import qrcode
import qrcode.image.svg


def qr_png(url: str) -> bytes:
    buffer = io.BytesIO()
    qrcode.make(url, box_size=10, border=2).save(buffer, format="PNG")
    return buffer.getvalue()


def qr_svg(url: str) -> bytes:
    buffer = io.BytesIO()
    qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, border=2).save(buffer)
    return buffer.getvalue()


def qr_zip(named_urls: list[tuple[str, str]]) -> bytes:
    """One PNG and one SVG per (file name, url), e.g. a poster per branch."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, url in named_urls:
            archive.writestr(f"{name}.png", qr_png(url))
            archive.writestr(f"{name}.svg", qr_svg(url))
    return buffer.getvalue()

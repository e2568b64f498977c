"""A print-ready A4 poster with a building's QR code: scan it to register with the bot."""

from __future__ import annotations

import io
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont

from core.i18n import N_, gettext
from core.storage.models import Building
from presentation.fonts import cjk_font, has_cjk

A4_AT_150_DPI = (1240, 1754)
MARGIN = 90


def _font(size: int, text: str, *, bold: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu Sans (shipped with matplotlib), which has Latin, Cyrillic and Greek; for a text
    in Chinese the system's CJK font (which has Latin too) where there is one."""
    import matplotlib  # only for its font files

    cjk = cjk_font() if has_cjk(text) else None
    if cjk is not None:
        return ImageFont.truetype(str(cjk), size)
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name), size)


def _wrapped(
    draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int
) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=font) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def building_poster(building: Building, link: str) -> bytes:
    """The poster as PNG bytes: the building's name, what to do, the QR code and the link,
    in the building's language."""
    page = Image.new("RGB", A4_AT_150_DPI, "white")
    draw = ImageDraw.Draw(page)
    width = A4_AT_150_DPI[0] - 2 * MARGIN
    y = MARGIN

    def paragraph(text: str, font: ImageFont.FreeTypeFont, gap: int) -> None:
        nonlocal y
        for line in _wrapped(draw, text, font, width):
            draw.text((A4_AT_150_DPI[0] // 2, y), line, font=font, fill="black", anchor="ma")
            y += int(font.size * 1.25)
        y += gap

    language = building.language
    paragraph(building.name, _font(72, building.name, bold=True), 20)
    report = gettext(language, N_("Report a problem to the building management"))
    paragraph(report, _font(44, report), 40)
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    code.add_data(link)
    side = width - 160
    image = code.make_image(fill_color="black", back_color="white").get_image()
    page.paste(
        image.convert("RGB").resize((side, side), Image.Resampling.NEAREST),
        ((A4_AT_150_DPI[0] - side) // 2, y),
    )
    y += side + 40
    scan = gettext(
        language, N_("Scan the code with your phone's camera, or open the link, then press Start.")
    )
    paragraph(scan, _font(36, scan), 20)
    paragraph(link, _font(34, link, bold=True), 0)
    buffer = io.BytesIO()
    page.save(buffer, "PNG", dpi=(150, 150))
    return buffer.getvalue()

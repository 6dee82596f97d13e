"""Draw the integration's brand images (custom_components/vtx_voip/brand/), deterministically.

A phone handset with two signal arcs in VTX red; the logo adds "VTX VoIP".
Usage: .venv/bin/python scripts/make_brand.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

OUT = Path(__file__).resolve().parent.parent / "custom_components" / "vtx_voip" / "brand"
RED = (227, 6, 19, 255)
DARK_TEXT = (34, 34, 34, 255)
LIGHT_TEXT = (240, 240, 240, 255)


def _icon(size: int, color: tuple[int, int, int, int]) -> Image.Image:
    scale = 4
    big = size * scale
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    unit = big / 256
    center = 120 * unit
    # Handset: a thick quarter arc (bottom-left) ending in ear and mouth pieces.
    r = 88 * unit
    draw.arc((center - r, center - r, center + r, center + r), start=90, end=180, fill=color, width=int(34 * unit))
    for px, py in ((center, center + r - 6 * unit), (center - r + 6 * unit, center)):
        draw.ellipse((px - 30 * unit, py - 30 * unit, px + 30 * unit, py + 30 * unit), fill=color)
    # Signal arcs (top-right).
    for radius in (48, 84):
        rr = radius * unit
        cx, cy = center + 20 * unit, center - 20 * unit
        draw.arc((cx - rr, cy - rr, cx + rr, cy + rr), start=-80, end=-10, fill=color, width=int(18 * unit))
    return image.resize((size, size), Image.Resampling.LANCZOS)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for name in ("DejaVuSans-Bold.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size)


def _logo(height: int, text_color: tuple[int, int, int, int]) -> Image.Image:
    icon = _icon(height, RED)
    font = _font(int(height * 0.5))
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    left, top, right, bottom = probe.textbbox((0, 0), "VTX VoIP", font=font)
    width = height + int(height * 0.15) + (right - left) + int(height * 0.1)
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    image.paste(icon, (0, 0), icon)
    draw = ImageDraw.Draw(image)
    draw.text(
        (height + int(height * 0.15) - left, (height - (bottom - top)) // 2 - top),
        "VTX VoIP",
        font=font,
        fill=text_color,
    )
    return image


def main() -> None:
    """Write every variant."""
    OUT.mkdir(parents=True, exist_ok=True)
    for suffix, factor in (("", 1), ("@2x", 2)):
        _icon(256 * factor, RED).save(OUT / f"icon{suffix}.png", optimize=True)
        _icon(256 * factor, RED).save(OUT / f"dark_icon{suffix}.png", optimize=True)
        _logo(128 * factor, DARK_TEXT).save(OUT / f"logo{suffix}.png", optimize=True)
        _logo(128 * factor, LIGHT_TEXT).save(OUT / f"dark_logo{suffix}.png", optimize=True)


if __name__ == "__main__":
    main()

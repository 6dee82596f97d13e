"""Draw the integration's brand images (custom_components/vtx_voip/brand/), deterministically.

The icon is a telephone handset with two signal waves in VTX red (#E30613) on a
transparent background; the logo puts "VTX VoIP" beside it. Everything is drawn from
geometry (no image or font file of the system is read: the text uses the font bundled
with Pillow), so the same Pillow gives the same bytes on any machine.

Usage: .venv/bin/python scripts/make_brand.py [--check] [--preview FILE]
  --check    exit 1 when a committed image differs from what this script draws
  --preview  also write a sheet of every image on light and dark backgrounds
"""

from __future__ import annotations

import argparse
import io
import math
from pathlib import Path
import sys

from PIL import Image, ImageDraw, ImageFilter, ImageFont

OUT = Path(__file__).resolve().parent.parent / "custom_components" / "vtx_voip" / "brand"
RED = (227, 6, 19)  # #E30613
DARK_TEXT = (34, 34, 34)
LIGHT_TEXT = (242, 242, 242)
SCALE = 4  # supersampling
TEXT = "VTX VoIP"

Point = tuple[float, float]


def _rotate(points: list[Point], degrees: float, center: Point) -> list[Point]:
    """Turn points given relative to `center` and place them around it."""
    angle = math.radians(degrees)
    cos, sin = math.cos(angle), math.sin(angle)
    cx, cy = center
    return [(cx + x * cos - y * sin, cy + x * sin + y * cos) for x, y in points]


def _band(centre_y: float, inner: float, outer: float, start: float, end: float, steps: int = 48) -> list[Point]:
    """A band of the ring around (0, centre_y) between two angles (0 = straight up)."""

    def at(radius: float, degrees: float) -> Point:
        return (radius * math.sin(math.radians(degrees)), centre_y - radius * math.cos(math.radians(degrees)))

    angles = [start + (end - start) * i / steps for i in range(steps + 1)]
    return [at(outer, a) for a in angles] + [at(inner, a) for a in reversed(angles)]


def _handset() -> list[list[Point]]:
    """The handset's outline as polygons in units of a 256 canvas: lying flat, cups down.

    The handle is a band of a ring whose centre lies below, so it arches upwards; the ear
    and mouth cups are wider bands of the same ring at its two ends, reaching towards
    the centre.
    """
    centre_y, inner, outer, ends, cup, reach = 170.0, 176.0, 204.0, 36.0, 14.0, 34.0
    return [
        _band(centre_y, inner, outer, -ends, ends),
        _band(centre_y, inner - reach, outer, -ends, -ends + cup),
        _band(centre_y, inner - reach, outer, ends - cup, ends),
    ]


def _icon_mask(size: int) -> Image.Image:
    """An L-mode mask of the icon, size * SCALE pixels square, centred with a margin."""
    big = size * SCALE
    unit = big / 256
    canvas = 2 * big  # room for drawing; cropped below
    mask = Image.new("L", (canvas, canvas), 0)
    draw = ImageDraw.Draw(mask)
    # The handset, turned so that its cups face the upper right.
    centre = (canvas / 2, canvas / 2)
    for polygon in _handset():
        draw.polygon(_rotate([(x * unit, y * unit) for x, y in polygon], 225, centre), fill=255)
    # Round every corner: blur, then cut at half height.
    mask = mask.filter(ImageFilter.GaussianBlur(8 * unit))
    mask = mask.point(lambda value: 255 if value >= 128 else 0)
    # Two waves in the handset's embrace, towards the upper right, with round ends.
    draw = ImageDraw.Draw(mask)
    cx, cy = centre[0] + 14 * unit, centre[1] - 14 * unit
    half = 9.0 * unit
    for radius in (50.0, 88.0):
        r = radius * unit
        draw.arc((cx - r, cy - r, cx + r, cy + r), start=-72, end=-18, fill=255, width=round(2 * half))
        for angle in (-72, -18):
            x = cx + (r - half) * math.cos(math.radians(angle))
            y = cy + (r - half) * math.sin(math.radians(angle))
            draw.ellipse((x - half, y - half, x + half, y + half), fill=255)
    box = mask.getbbox()
    assert box is not None
    glyph = mask.crop(box)
    room = big * 0.88  # a margin of 6 % on each side
    factor = room / max(glyph.size)
    glyph = glyph.resize((round(glyph.width * factor), round(glyph.height * factor)), Image.Resampling.LANCZOS)
    out = Image.new("L", (big, big), 0)
    out.paste(glyph, ((big - glyph.width) // 2, (big - glyph.height) // 2))
    return out


def _colour(mask: Image.Image, colour: tuple[int, int, int], size: tuple[int, int]) -> Image.Image:
    image = Image.new("RGBA", mask.size, (*colour, 0))
    image.putalpha(mask)
    return image.resize(size, Image.Resampling.LANCZOS)


def icon(size: int) -> Image.Image:
    """The icon, size x size."""
    return _colour(_icon_mask(size), RED, (size, size))


def logo(height: int, text_colour: tuple[int, int, int]) -> Image.Image:
    """The logo: the icon and the text, `height` high, landscape."""
    big = height * SCALE
    font = ImageFont.load_default(round(big * 0.46))
    stroke = max(1, round(big * 0.012))  # the bundled font is a regular weight: embolden it
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    left, top, right, bottom = probe.textbbox((0, 0), TEXT, font=font, stroke_width=stroke)
    gap = round(big * 0.12)
    margin = round(big * 0.06)
    width = big + gap + round(right - left) + margin
    mask_icon = _icon_mask(height)
    text_mask = Image.new("L", (width, big), 0)
    ImageDraw.Draw(text_mask).text(
        (big + gap - left, (big - (bottom - top)) / 2 - top),
        TEXT,
        font=font,
        fill=255,
        stroke_width=stroke,
        stroke_fill=255,
    )
    out_size = (round(width / SCALE), height)
    image = Image.new("RGBA", out_size, (0, 0, 0, 0))
    image.alpha_composite(_colour(mask_icon, RED, (height, height)))
    image.alpha_composite(_colour(text_mask, text_colour, out_size))
    return image


def images() -> dict[str, Image.Image]:
    """Every file of brand/, by name."""
    result: dict[str, Image.Image] = {}
    for suffix, factor in (("", 1), ("@2x", 2)):
        result[f"icon{suffix}.png"] = icon(256 * factor)
        # The red reads on dark backgrounds too: the dark icon is the same drawing.
        result[f"dark_icon{suffix}.png"] = icon(256 * factor)
        result[f"logo{suffix}.png"] = logo(128 * factor, DARK_TEXT)
        result[f"dark_logo{suffix}.png"] = logo(128 * factor, LIGHT_TEXT)
    return result


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _preview(drawn: dict[str, Image.Image], path: Path) -> None:
    tiles = [drawn["icon.png"], drawn["logo.png"], drawn["dark_icon.png"], drawn["dark_logo.png"]]
    width = 40 + tiles[0].width + 40 + tiles[1].width + 40
    sheet = Image.new("RGBA", (width, 2 * (256 + 40) + 40), (255, 255, 255, 255))
    ImageDraw.Draw(sheet).rectangle((0, 256 + 60, width, sheet.height), fill=(17, 17, 17, 255))
    for row, (ico, lgo) in enumerate(((tiles[0], tiles[1]), (tiles[2], tiles[3]))):
        y = 40 + row * (256 + 40)
        sheet.alpha_composite(ico, (40, y))
        sheet.alpha_composite(lgo, (40 + ico.width + 40, y + 64))
    sheet.save(path)


def main() -> int:
    """Write (or check) every image."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--preview", type=Path)
    args = parser.parse_args()
    drawn = images()
    stale = []
    OUT.mkdir(parents=True, exist_ok=True)
    for name, image in drawn.items():
        data = _png(image)
        path = OUT / name
        if path.exists() and path.read_bytes() == data:
            continue
        stale.append(name)
        if not args.check:
            path.write_bytes(data)
    if args.preview:
        _preview(drawn, args.preview)
    if args.check and stale:
        print(f"brand/ differs from scripts/make_brand.py: {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

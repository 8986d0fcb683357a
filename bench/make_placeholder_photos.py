"""Draw the placeholder photos of the shipped album gallery/praeventionsrat-bei-der-sitzung/.

The council has not released real photos yet, so the album shows simple drawings, each
clearly labelled "Platzhalterbild". Run once; the JPEGs (≈50–120 KB each) are committed:

    python bench/make_placeholder_photos.py [--out gallery/praeventionsrat-bei-der-sitzung]

Replace them by real photos later: copy the photos into the folder, delete these files, and
update album.yaml (`kpr-site new album praeventionsrat-bei-der-sitzung` adds the entries).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ALBUM = Path(__file__).resolve().parent.parent / "gallery" / "praeventionsrat-bei-der-sitzung"
NAVY, TEAL, SAND, WOOD, SKIN, WHITE = "#0b3d5c", "#4fc3b0", "#f3ead8", "#9c6b3f", "#e9c3a0", "#ffffff"
CLOTHES = ("#0a5d82", "#6b3e8f", "#005f50", "#7a4a00", "#3f4a52", "#b0413e", "#2d6a4f", "#5c4d7d")

Scene = Callable[[ImageDraw.ImageDraw, int, int], None]


def _background(size: tuple[int, int]) -> Image.Image:
    """A soft vertical gradient from wall to floor."""
    top, bottom = (238, 244, 247), (205, 216, 223)
    gradient = Image.linear_gradient("L").resize(size)
    return Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), gradient)


def _person(draw: ImageDraw.ImageDraw, x: int, y: int, scale: float, colour: str) -> None:
    head = int(34 * scale)
    draw.ellipse((x - head, y - 3 * head, x + head, y - head), fill=SKIN)
    draw.rounded_rectangle((x - 2 * head, y - head + 6, x + 2 * head, y + 3 * head),
                           radius=head, fill=colour)


def _meeting(draw: ImageDraw.ImageDraw, width: int, height: int) -> None:
    cx, cy = width // 2, height // 2 + 60
    draw.ellipse((cx - 520, cy - 190, cx + 520, cy + 190), fill=WOOD)
    for index, x in enumerate(range(cx - 390, cx + 391, 260)):
        _person(draw, x, cy - 230, 1.0, CLOTHES[index])
        _person(draw, x, cy + 250, 1.1, CLOTHES[index + 4])
    for x in range(cx - 330, cx + 331, 220):
        draw.rectangle((x - 45, cy - 40, x + 45, cy + 20), fill=WHITE)


def _talk(draw: ImageDraw.ImageDraw, width: int, height: int) -> None:
    draw.rectangle((width // 2 - 80, 140, width - 140, 620), fill=NAVY)
    draw.rectangle((width // 2 - 40, 180, width - 180, 580), fill=TEAL)
    for row in range(4):
        y = 250 + row * 80
        draw.rectangle((width // 2, y, width - 260 - row * 90, y + 30), fill=WHITE)
    _person(draw, 420, 720, 1.4, CLOTHES[1])
    draw.polygon([(300, 760), (540, 760), (510, 960), (330, 960)], fill=WOOD)


def _group(draw: ImageDraw.ImageDraw, width: int, height: int) -> None:
    draw.rectangle((0, height - 260, width, height), fill="#b9c7cf")
    for index, x in enumerate(range(260, width - 200, 220)):
        _person(draw, x, height - 420 + (index % 2) * 40, 1.3, CLOTHES[index % len(CLOTHES)])


def _flipchart(draw: ImageDraw.ImageDraw, width: int, height: int) -> None:
    draw.line((width // 2 - 260, height - 160, width // 2, 300), fill="#3f4a52", width=18)
    draw.line((width // 2 + 260, height - 160, width // 2, 300), fill="#3f4a52", width=18)
    draw.rectangle((width // 2 - 330, 320, width // 2 + 330, 1100), fill=WHITE, outline="#3f4a52",
                   width=8)
    for row in range(7):
        y = 420 + row * 95
        colour = (NAVY, TEAL, "#b0413e")[row % 3]
        draw.rectangle((width // 2 - 260, y, width // 2 + 200 - (row % 3) * 90, y + 28), fill=colour)


SCENES: dict[str, tuple[tuple[int, int], Scene, str]] = {
    "sitzung-1.jpg": ((1600, 1067), _meeting, "Sitzungsrunde"),
    "sitzung-2.jpg": ((1600, 1067), _talk, "Vortrag"),
    "sitzung-3.jpg": ((1600, 1067), _group, "Gruppenbild"),
    "sitzung-4.jpg": ((1067, 1600), _flipchart, "Arbeitsergebnisse"),
}


def draw_placeholder(size: tuple[int, int], scene: Scene, label: str) -> Image.Image:
    image = _background(size)
    draw = ImageDraw.Draw(image)
    scene(draw, *size)
    width, height = size
    big = ImageFont.load_default(size=72)
    small = ImageFont.load_default(size=40)
    draw.rectangle((0, 0, width, 150), fill=NAVY)
    draw.text((48, 28), "Platzhalterbild", font=big, fill=WHITE)
    draw.text((52, 104), f"{label}: hier erscheint ein Foto der Sitzung", font=small,
              fill="#cfe8f2")
    draw.rectangle((0, height - 24, width, height), fill=TEAL)
    return image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=ALBUM)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, (size, scene, label) in SCENES.items():
        target = args.out / name
        draw_placeholder(size, scene, label).save(target, "JPEG", quality=85, optimize=True)
        print(f"{target}: {target.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()

"""Generate a deterministic synthetic site: N German press releases (and the shipped templates).

Each release has front matter and 300–900 words with headings, a list, a table and links to
other releases, like the corpus the issue's comparison figures were measured on.
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

_VOCABULARY = """
Prävention Landkreis Rostock Sicherheit Projekt Förderung Jugend Polizei Verwaltung Verbände
Zusammenarbeit Kriminalität Vorbeugung Suchtprävention Verkehrssicherheit Schule Gemeinde
Beratung Ehrenamt Arbeitsgruppe Forum Analyse Konzept Maßnahme Bürgerinnen Bürger Veranstaltung
Seminar Netzwerk Koordination Unterstützung Antrag Richtlinie Ergebnis Ziel und der die das mit
für von im auf zu bei über wird werden haben sind ein eine einen gemeinsam wichtig neue
regionale vor Ort stärker besser schneller sicher
"""
WORDS = _VOCABULARY.split()
TOPICS = ("Verkehrssicherheit", "Suchtprävention", "Kriminalitätsschutz", "Jugend", "Senioren",
          "Häusliche Gewalt", "Ehrenamt", "Förderung")


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 18))]
    return " ".join(words).capitalize() + "."


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(3, 6)))


def _body(rng: random.Random, index: int, names: list[str]) -> str:
    parts = [_paragraph(rng)]
    target = names[rng.randrange(len(names))]
    parts.append(f'Wie bereits "berichtet", siehe [die Meldung]({target}) und '
                 f"[Kontakt](https://www.landkreis-rostock.de/).")
    for section in range(rng.randint(2, 4)):
        parts.append(f"## Abschnitt {section + 1}: {rng.choice(TOPICS)}")
        parts.extend(_paragraph(rng) for _ in range(rng.randint(1, 3)))
    parts.append("\n".join(f"- {_sentence(rng)}" for _ in range(4)))
    parts.append("| Maßnahme | Betrag |\n|---|---:|\n" + "\n".join(
        f"| {rng.choice(TOPICS)} | {rng.randint(1, 15) * 1000} € |" for _ in range(3)))
    parts.append(f"Meldung Nummer {index}.")
    return "\n\n".join(parts) + "\n"


def release_name(index: int) -> str:
    year = 2017 + index % 9
    day = index // 9
    month, day = 1 + day // 28 % 12, 1 + day % 28
    return f"{year}-{month:02d}-{day:02d}-meldung-{index:05d}.md"


def generate(root: Path, pages: int, seed: int = 1) -> Path:
    """Write a site with `pages` press releases into `root` (replacing it)."""
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(REPO / "templates", root / "templates")
    shutil.copytree(REPO / "content", root / "content")
    press = root / "content" / "press"
    rng = random.Random(seed)
    names = [release_name(i) for i in range(pages)]
    for index, name in enumerate(names):
        tags = ", ".join(rng.sample(TOPICS, 2))
        (press / name).write_text(
            f"---\ntitle: \"Meldung {index}: {rng.choice(TOPICS)} im Landkreis\"\n"
            f"date: {name[:10]}\nsummary: {_sentence(rng)}\ntags: [{tags}]\n---\n"
            + _body(rng, index, names), encoding="utf-8")
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", type=Path)
    parser.add_argument("--pages", type=int, default=1000)
    args = parser.parse_args()
    generate(args.root, args.pages)


if __name__ == "__main__":
    main()

"""Responsive images: plan each photo's derivatives (pure), make them with Pillow, in parallel.

A photo becomes AVIF (where this Pillow writes it), WebP and JPEG files at the widths of
`ImageSettings.widths`, named
`<key>-<width>.<ext>`, where `key` hashes the photo's bytes together with every processing
parameter and `PROCESSING_VERSION`. The name is the cache key, so browsers may cache
`/bilder/…` forever. Beside a photo's derivatives the cache holds the SHA-256 of each
(`<key>.sha256`, sealed); a derivative is reused only if its bytes still match, since it is
published as it is (hard-linked into the output). Hashing the ~330 KB of derivatives of a
12-megapixel photo costs ~0.3 ms, so every reuse is checked in full rather than by size or
mtime, which miss a byte changed in place.

Widths are never upscaled. A photo wider than the largest width gets every width; a narrower
one gets the widths below its own plus its own width, so its largest derivative is the photo at
full size, re-encoded without metadata.

Every derivative is upright (EXIF orientation applied), sRGB (embedded ICC profiles and CMYK
converted), 8 bit per channel, the first frame only, and carries no metadata at all (no EXIF,
GPS, XMP, ICC profile or comment). JPEG derivatives are flattened onto white; WebP keeps real
transparency.

A photo whose header claims more than MAX_PIXELS is refused before any pixel is decoded.
This is the only module that imports PIL.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import re
import struct
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import as_completed
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from PIL import Image, ImageCms, UnidentifiedImageError, features

from kpr_site.cache import Damaged, read_sealed, seal, write_file
from kpr_site.errors import Location, SiteError, os_reason
from kpr_site.german import number
from kpr_site.parallel import can_fork, process_pool

__all__ = [
    "IMAGES_URL",
    "MAX_PIXELS",
    "PROCESSING_VERSION",
    "Derivative",
    "ImagePlan",
    "ImageSettings",
    "MakeReport",
    "Memo",
    "Progress",
    "Unwritable",
    "avif_supported",
    "derivative_file",
    "derivative_widths",
    "inspect_image",
    "make_images",
    "picture_html",
    "plan_image",
    "plan_images",
    "prioritise_first_image",
    "render_derivatives",
]

# Bump when the pixels or bytes of derivatives change for the same parameters.
PROCESSING_VERSION = "1"
# 50 megapixels: above every phone and most system cameras (a 45-MP full-frame photo passes);
# decoding it takes ≈150 MB. Anything bigger is almost surely a mistake or a decompression bomb.
MAX_PIXELS = 50_000_000
IMAGES_URL = "/bilder/"

_FORMATS = ("JPEG", "PNG", "GIF", "WEBP")
_EXTENSIONS = {"avif": "avif", "webp": "webp", "jpeg": "jpg"}
_MIME = {"avif": "image/avif", "webp": "image/webp", "jpeg": "image/jpeg"}
# EXIF orientation → the transpose that makes the photo upright (as ImageOps.exif_transpose).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90,
}
# Pillow's ways of saying "this file is damaged" while decoding.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError)

Progress = Callable[[int, int], None]
"""Called after each photo is made with (photos done, photos to make)."""


def avif_supported() -> bool:
    """Whether this Pillow writes AVIF (Pillow ≥ 11 built with libavif)."""
    return bool(features.check("avif"))


@dataclass(frozen=True)
class ImageSettings:
    """How derivatives are made. Every field is part of the derivatives' names."""

    widths: tuple[int, ...] = (320, 640, 1024, 1200, 1600)
    """1200: a 390-px phone at device-pixel-ratio 3 needs 1074 pixels for a photo across
    the page; without it Chromium takes the 1600 (measured: ~30 instead of ~18 kB)."""
    jpeg_quality: int = 82
    webp_quality: int = 80
    webp_method: int = 2
    """libwebp effort 0–6. Measured on 12-MP photos: method 4 (libwebp's default) makes the
    WebP files 5 % smaller but the whole photo 55 % slower (0.32 s instead of 0.20 s)."""
    avif: bool = field(default_factory=avif_supported)
    """Also AVIF, offered first; where Pillow cannot write it, WebP and JPEG only."""
    avif_quality: int = 50
    avif_speed: int = 8
    """libavif effort 0–10 (10 fastest). Measured at 1024 px: speed 6 is 3x slower for ~15 %
    smaller files; speed 8 costs about as much as the WebP of the same width."""

    @property
    def formats(self) -> tuple[str, ...]:
        return ("avif", "webp", "jpeg") if self.avif else ("webp", "jpeg")

    def key(self, source_digest: str) -> str:
        """The 16-hex-digit name prefix of one photo's derivatives."""
        params = (PROCESSING_VERSION, source_digest, self.jpeg_quality, self.webp_quality,
                  self.webp_method) + ((self.avif_quality, self.avif_speed) if self.avif else ())
        return hashlib.sha256(repr(params).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Derivative:
    """One file made from a photo: a width in one format."""

    name: str
    """File name, e.g. "3f2a9c0d1e2b4a5f-640.webp"; also its name in the cache."""
    width: int
    height: int
    format: str
    """"avif", "webp" or "jpeg"."""

    @property
    def url(self) -> str:
        return IMAGES_URL + self.name

    @property
    def mime(self) -> str:
        return _MIME[self.format]


@dataclass(frozen=True)
class ImagePlan:
    """A source photo and the derivatives it gets."""

    source: str
    """Path relative to the site root, e.g. "gallery/sitzung/foto1.jpg"."""
    digest: str
    """SHA-256 of the source file's bytes."""
    width: int
    """Upright width of the source, in pixels."""
    height: int
    derivatives: tuple[Derivative, ...]

    def variants(self, format: str) -> tuple[Derivative, ...]:
        """The derivatives of one format, narrowest first."""
        return tuple(sorted((d for d in self.derivatives if d.format == format),
                            key=lambda d: d.width))

    @property
    def largest(self) -> Derivative:
        """The widest JPEG: the link target of a thumbnail, readable by every browser."""
        return self.variants("jpeg")[-1]

    def srcset(self, format: str, href: Callable[[str], str] = str) -> str:
        return ", ".join(f"{href(d.url)} {d.width}w" for d in self.variants(format))


def derivative_widths(width: int, wanted: Iterable[int]) -> tuple[int, ...]:
    """The widths a photo `width` pixels wide gets: never wider than the photo itself."""
    wanted = sorted(set(wanted))
    widths = [w for w in wanted if w < width]
    if not wanted or width <= wanted[-1]:
        widths.append(width)
    return tuple(widths)


def plan_image(source: str, digest: str, width: int, height: int,
               settings: ImageSettings) -> ImagePlan:
    """Pure: the derivatives of a photo, from its content hash and upright size."""
    key = settings.key(digest)
    derivatives = tuple(
        Derivative(f"{key}-{w}.{_EXTENSIONS[fmt]}", w, max(1, round(height * w / width)), fmt)
        for w in derivative_widths(width, settings.widths) for fmt in settings.formats)
    return ImagePlan(source, digest, width, height, derivatives)


def derivative_file(folder: Path, name: str) -> Path:
    """Where a derivative lives in the cache folder (two-character fan-out)."""
    return folder / name[:2] / name


def picture_html(plan: ImagePlan, alt: str, sizes: str, href: Callable[[str], str] = str,
                 lazy: bool = True) -> str:
    """A `<picture>`: AVIF (where made), WebP and JPEG srcsets, explicit size (no layout
    shift), lazy if asked."""
    jpeg = plan.variants("jpeg")
    fallback = max((d for d in jpeg if d.width <= 1024), key=lambda d: d.width, default=jpeg[0])
    largest = jpeg[-1]
    attrs = {"src": href(fallback.url), "srcset": plan.srcset("jpeg", href), "sizes": sizes,
             "width": str(largest.width), "height": str(largest.height), "alt": alt}
    if lazy:
        attrs |= {"loading": "lazy", "decoding": "async"}
    img = " ".join(f'{name}="{html.escape(value)}"' for name, value in attrs.items())
    sources = "".join(
        f'<source type="{_MIME[fmt]}" srcset="{html.escape(plan.srcset(fmt, href))}" '
        f'sizes="{html.escape(sizes)}">' for fmt in ("avif", "webp") if plan.variants(fmt))
    return f"<picture>{sources}<img {img}></picture>"


_IMG_TAG = re.compile(r"<img\s[^>]*>")
_LAZY = ' loading="lazy" decoding="async"'


def prioritise_first_image(page: str) -> str:
    """The first image in a page's <main> loads at once and early (fetchpriority="high": it
    is usually the largest thing in the first screen); every later one stays lazy. Decided
    on the whole page, since only it knows which image comes first."""
    start = page.find("<main")
    match = _IMG_TAG.search(page, start) if start >= 0 else None
    if match is None:
        return page
    tag = match.group(0).replace(_LAZY, "")
    if "fetchpriority=" not in tag:
        tag = tag.replace("<img ", '<img fetchpriority="high" ', 1)
    return page[:match.start()] + tag + page[match.end():]


# ---------- inspecting sources: header only ----------


class Memo(Protocol):
    """A key → JSON value store (kpr_site.cache.JsonCache); it may forget anything, and `get`
    returns only values that pass `valid`."""

    def get(self, key: str, valid: Callable[[Any], bool]) -> Any | None: ...

    def put(self, key: str, value: Any) -> None: ...


def plan_images(root: Path, paths: Iterable[str], memo: Memo,
                settings: ImageSettings) -> tuple[dict[str, ImagePlan], list[SiteError]]:
    """Plan every photo; problems with a photo (empty, no image, too big) are collected.

    `memo` remembers (file, size, mtime) → content hash and content hash → size, so an
    unchanged photo is neither read nor decoded again.
    """
    plans: dict[str, ImagePlan] = {}
    errors: list[SiteError] = []
    for path in paths:
        try:
            digest, width, height = _source_info(root / path, path, memo)
        except SiteError as exc:
            errors.append(exc)
            continue
        plans[path] = plan_image(path, digest, width, height, settings)
    return plans, errors


def _source_info(file: Path, path: str, memo: Memo) -> tuple[str, int, int]:
    try:
        st = file.stat()
    except OSError:
        raise SiteError("Die Bilddatei gibt es nicht.", Location(path),
                        "Prüfen Sie den Dateinamen und den Pfad.") from None
    stat_key = _hash("stat", str(file.absolute()), st.st_size, st.st_mtime_ns, st.st_ctime_ns,
                     st.st_ino)
    digest, data = memo.get(stat_key, _is_digest), None
    if digest is None:
        data = _read(file, path)
        digest = hashlib.sha256(data).hexdigest()
    size_key = _hash("size", PROCESSING_VERSION, digest)
    size = memo.get(size_key, _is_size)
    if size is None:
        size = list(inspect_image(data if data is not None else _read(file, path), path))
        memo.put(size_key, size)
    if data is not None:  # remembered only once the photo has passed inspection
        memo.put(stat_key, digest)
    return digest, size[0], size[1]


_HEX = frozenset("0123456789abcdef")


def _is_digest(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and set(value) <= _HEX


def _is_size(value: Any) -> bool:
    return (isinstance(value, list) and len(value) == 2
            and all(type(v) is int and v > 0 for v in value))


def _hash(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _read(file: Path, path: str) -> bytes:
    try:
        return file.read_bytes()
    except OSError as exc:
        raise SiteError(f"Die Bilddatei lässt sich nicht lesen: {os_reason(exc)}.", Location(path),
                        "Prüfen Sie, ob die Datei vorhanden und lesbar ist.") from exc


def inspect_image(data: bytes, path: str) -> tuple[int, int]:
    """The upright size of an image, read from its header; SiteError if it is unusable."""
    image = _open(data, path)
    orientation = _orientation(image, path)
    width, height = image.size
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def _open(data: bytes, path: str) -> Image.Image:
    """Open without decoding pixels, refusing what is empty, not an image, or too big."""
    if not data:
        raise SiteError("Die Bilddatei ist leer (0 Byte).", Location(path),
                        "Kopieren Sie das Foto erneut hierher oder löschen Sie die leere Datei.")
    with warnings.catch_warnings():
        # Our own limit (MAX_PIXELS) is lower than Pillow's warning threshold and checked below.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=_FORMATS)
        except Image.DecompressionBombError:
            raise _too_big(path, None) from None
        except UnidentifiedImageError:
            raise SiteError(
                "Die Datei ist kein Bild, obwohl ihr Name auf eine Bildendung endet.",
                Location(path),
                "Erlaubt sind JPEG-, PNG-, GIF- und WebP-Bilder. Exportieren Sie das Foto in "
                "einem dieser Formate oder entfernen Sie die Datei.") from None
        except _DECODE_ERRORS as exc:
            raise _damaged(path) from exc
    if image.width * image.height > MAX_PIXELS:
        raise _too_big(path, image.size)
    return image


def _too_big(path: str, size: tuple[int, int] | None) -> SiteError:
    pillow_limit = 2 * (Image.MAX_IMAGE_PIXELS or 0) // 1_000_000  # where Pillow itself refuses
    claim = (f"{number(size[0])} × {number(size[1])} Pixel" if size
             else f"mehr als {number(pillow_limit)} Megapixel")
    return SiteError(
        f"Das Bild ist laut Dateikopf zu groß ({claim}); erlaubt sind höchstens "
        f"{number(MAX_PIXELS // 1_000_000)} Megapixel.", Location(path),
        "Verkleinern Sie das Foto vor dem Einstellen (z. B. auf 4.000 Pixel Breite). Eine "
        "unglaubwürdige Größe kann auch auf eine beschädigte oder manipulierte Datei hindeuten.")


def _damaged(path: str) -> SiteError:
    return SiteError("Die Bilddatei ist beschädigt oder unvollständig.", Location(path),
                     "Kopieren Sie das Foto erneut von der Kamera oder aus der Originalquelle; "
                     "prüfen Sie, ob es sich in einem Bildprogramm öffnen lässt.")


def _orientation(image: Image.Image, path: str) -> int:
    """EXIF orientation from the header. PNGs whose EXIF follows the pixels count as upright,
    so that inspecting them never decodes (the same rule holds when making them)."""
    if image.format == "PNG" and "exif" not in image.info:
        return 1
    try:
        value = image.getexif().get(0x0112, 1)
    except _DECODE_ERRORS as exc:
        raise _damaged(path) from exc
    return value if isinstance(value, int) and value in range(1, 9) else 1


# ---------- making derivatives ----------


def render_derivatives(data: bytes, plan: ImagePlan,
                       settings: ImageSettings) -> Iterator[tuple[Derivative, bytes]]:
    """Decode once (JPEG at the smallest DCT scale that suffices), then encode every derivative."""
    image, icc, orientation = _decoded(data, plan)
    sizes = sorted({(d.width, d.height) for d in plan.derivatives}, reverse=True)
    for index, size in enumerate(sizes):
        if index == 0:
            image = _first_size(image, size, orientation, icc)
        elif image.size != size:
            # Each smaller size is made from the previous one: ≈2x faster than from the
            # decoded photo every time, and indistinguishable after at least a 1.5x step.
            image = image.resize(size, Image.Resampling.LANCZOS)
        for derivative in plan.derivatives:
            if (derivative.width, derivative.height) == size:
                yield derivative, _encode(image, derivative.format, settings)


def _first_size(image: Image.Image, size: tuple[int, int], orientation: int,
                icc: bytes | None) -> Image.Image:
    """The largest derivative: resized while still stored sideways, then turned upright and
    converted to sRGB, so neither step touches the full-size photo (a 12-MP portrait photo
    peaks at ≈70 MB instead of ≈130 MB)."""
    stored = size[::-1] if orientation in (5, 6, 7, 8) else size
    if image.size != stored:
        image = image.resize(stored, Image.Resampling.LANCZOS)
    if orientation in _TRANSPOSE:
        image = image.transpose(_TRANSPOSE[orientation])
    return _to_srgb(image, icc)


def _decoded(data: bytes, plan: ImagePlan) -> tuple[Image.Image, bytes | None, int]:
    """The photo as stored, 8 bit per channel, with its ICC profile and EXIF orientation."""
    image = _open(data, plan.source)
    orientation = _orientation(image, plan.source)
    largest = max(plan.derivatives, key=lambda d: d.width)
    target = (largest.width, largest.height)
    # draft() lets libjpeg decode at 1/2, 1/4 or 1/8 scale: a 4000 × 3000 photo for a
    # 1600-px derivative is decoded at 2000 × 1500, a quarter of the pixels.
    image.draft(None, target[::-1] if orientation in (5, 6, 7, 8) else target)
    try:
        image.load()
    except _DECODE_ERRORS as exc:
        raise _damaged(plan.source) from exc
    return _eight_bit(image), image.info.get("icc_profile") or None, orientation


def _eight_bit(image: Image.Image) -> Image.Image:
    """Any mode → L, LA, RGB, RGBA or CMYK; 16-bit values scaled, palettes expanded."""
    if image.mode.startswith("I"):  # 16-bit PNGs: Pillow's own conversion clips to white
        return image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if image.mode in ("P", "PA", "1"):
        alpha = image.mode == "PA" or "transparency" in image.info
        return image.convert("RGBA" if alpha else "RGB")
    if image.mode in ("L", "RGB") and "transparency" in image.info:
        return image.convert("RGBA")
    if image.mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
        return image
    return image.convert("RGB")


@cache
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _to_srgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    """Convert to sRGB with the embedded profile; RGB, or RGBA if anything is transparent."""
    mode = "RGBA" if image.mode in ("LA", "RGBA") else "RGB"
    if mode == "RGBA" and image.getchannel("A").getextrema() == (255, 255):
        mode = "RGB"
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(image, source, _srgb_profile(), outputMode=mode)
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            converted = None  # a profile that does not fit the pixels: read them as sRGB
        if converted is not None:
            return converted
    return image if image.mode == mode else image.convert(mode)


def _encode(image: Image.Image, format: str, settings: ImageSettings) -> bytes:
    buffer = io.BytesIO()
    if format == "jpeg":
        if image.mode == "RGBA":
            flat = Image.new("RGB", image.size, (255, 255, 255))
            flat.paste(image, mask=image.getchannel("A"))
            image = flat
        image.info = {}  # nothing of the source's metadata may travel along
        image.save(buffer, "JPEG", quality=settings.jpeg_quality, optimize=True, progressive=True)
    elif format == "avif":
        image.info = {}
        # One thread: the bytes must not depend on the machine; the photos of a build are
        # spread over the cores already.
        image.save(buffer, "AVIF", quality=settings.avif_quality, speed=settings.avif_speed,
                   max_threads=1)
    else:
        image.info = {}
        image.save(buffer, "WEBP", quality=settings.webp_quality, method=settings.webp_method)
    return buffer.getvalue()


@dataclass(frozen=True)
class Unwritable:
    """A photo whose derivatives could not be stored in the folder (full, read-only …)."""

    plan: ImagePlan
    errno: int
    strerror: str
    filename: str

    def error(self) -> OSError:
        return OSError(self.errno, self.strerror, self.filename)


@dataclass(frozen=True)
class MakeReport:
    made: int
    """Photos whose derivatives were made now."""
    cached: int
    """Photos whose derivatives were all in the cache already (and verified)."""
    seconds: float
    errors: tuple[SiteError, ...] = ()
    damaged: int = 0
    """Photos whose derivatives in the folder were damaged (made again)."""
    unwritable: tuple[Unwritable, ...] = ()
    """Photos that could not be stored in the folder; their derivatives are missing."""


def make_images(root: Path, plans: Iterable[ImagePlan], folder: Path, settings: ImageSettings,
                jobs: int, progress: Progress | None = None) -> MakeReport:
    """Make the derivatives missing from `folder` (or damaged there), one photo per task on
    `jobs` processes."""
    started = time.perf_counter()
    unique = {plan.digest: plan for plan in plans}  # the same photo used twice is made once
    states = {digest: _stored(folder, plan) for digest, plan in unique.items()}
    todo = [unique[digest] for digest, state in states.items() if state != "ok"]
    errors: list[SiteError] = []
    unwritable: list[Unwritable] = []
    if progress is not None and todo:
        progress(0, len(todo))
    for done, (plan, outcome) in enumerate(_run(root, todo, folder, settings, jobs), 1):
        if isinstance(outcome, Unwritable):
            unwritable.append(outcome)
        elif outcome is not None:
            errors.append(SiteError(outcome[0], Location(plan.source), outcome[1]))
        if progress is not None:
            progress(done, len(todo))
    return MakeReport(len(todo) - len(errors) - len(unwritable), len(unique) - len(todo),
                      time.perf_counter() - started, tuple(errors),
                      sum(state == "damaged" for state in states.values()), tuple(unwritable))


def _sums_file(folder: Path, plan: ImagePlan) -> Path:
    """The sealed SHA-256 of each derivative of `plan`, written after them."""
    key = plan.derivatives[0].name.split("-", 1)[0]
    return folder / key[:2] / f"{key}.sha256"


def _stored(folder: Path, plan: ImagePlan) -> str:
    """"ok" if every derivative is in `folder` with the bytes recorded when it was made,
    "missing" if the photo was never made there, "damaged" otherwise."""
    try:
        payload = read_sealed(_sums_file(folder, plan))
        if payload is None:
            return "missing"
        sums = json.loads(payload)
        for derivative in plan.derivatives:
            with open(derivative_file(folder, derivative.name), "rb") as handle:
                if hashlib.sha256(handle.read()).hexdigest() != sums[derivative.name]:
                    return "damaged"
    except (Damaged, OSError, ValueError, KeyError, TypeError):
        return "damaged"
    return "ok"


_Task = tuple[Path, ImagePlan, Path, ImageSettings]
_Outcome = tuple[str, str] | Unwritable | None
"""None if the photo was made, (message, hint) for a problem with it, or Unwritable."""


def _run(root: Path, todo: list[ImagePlan], folder: Path, settings: ImageSettings,
         jobs: int) -> Iterator[tuple[ImagePlan, _Outcome]]:
    tasks: list[_Task] = [(root / plan.source, plan, folder, settings) for plan in todo]
    # Under `kpr-site serve` (threads running) the photos are made here, one after another.
    if jobs <= 1 or len(tasks) <= 1 or not can_fork():
        for task in tasks:
            yield task[1], _make_one(task)
        return
    # Fork: workers share the imported Pillow. Each task is one photo, so at most `jobs`
    # photos are decoded at once and memory does not grow with their number.
    with process_pool(min(jobs, len(tasks))) as pool:
        futures = {pool.submit(_make_one, task): task[1] for task in tasks}
        for future in as_completed(futures):
            yield futures[future], future.result()


def _make_one(task: _Task) -> _Outcome:
    """Worker: make and store one photo's derivatives and their checksums."""
    file, plan, folder, settings = task
    try:
        data = _read(file, plan.source)
        if hashlib.sha256(data).hexdigest() != plan.digest:
            raise SiteError("Die Bilddatei wurde während des Builds geändert.",
                            Location(plan.source), "Starten Sie den Build erneut.")
        sums = {}
        for derivative, encoded in render_derivatives(data, plan, settings):
            _store(derivative_file(folder, derivative.name), encoded)
            sums[derivative.name] = hashlib.sha256(encoded).hexdigest()
        _store(_sums_file(folder, plan), seal(json.dumps(sums, sort_keys=True).encode()))
    except SiteError as exc:  # SiteError is a frozen dataclass and does not survive pickling
        return exc.message, exc.hint or ""
    except _NotStored as exc:
        error = exc.args[0]
        return Unwritable(plan, error.errno or 0, error.strerror or str(error),
                          str(error.filename or folder))
    return None


class _NotStored(Exception):
    """Writing into the folder failed (as opposed to reading or decoding the photo)."""


def _store(target: Path, data: bytes) -> None:
    try:
        write_file(target, data)
    except OSError as exc:
        raise _NotStored(exc) from exc

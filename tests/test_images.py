"""kpr_site.images: planning derivatives, making them with Pillow, and refusing bad files.

Every photo is generated here with Pillow (or written byte by byte where Pillow cannot make
it, such as a 16-bit RGB PNG or a PNG that lies about its size); none is committed.
"""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageCms

from kpr_site import images
from kpr_site.errors import SiteError
from kpr_site.images import (
    MAX_PIXELS,
    ImagePlan,
    ImageSettings,
    avif_supported,
    derivative_file,
    derivative_widths,
    inspect_image,
    make_images,
    picture_html,
    plan_image,
    render_derivatives,
)

# ---------- making test images ----------


def encode(image: Image.Image, format: str = "JPEG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format, **options)
    return buffer.getvalue()


def halves(size: tuple[int, int], left: str, right: str) -> Image.Image:
    """An image whose left half is `left` and right half `right`: shows any rotation."""
    image = Image.new("RGB", size, left)
    image.paste(right, (size[0] // 2, 0, size[0], size[1]))
    return image


def camera_metadata() -> tuple[Image.Exif, bytes]:
    """EXIF with camera serial and GPS position, and an XMP packet, as cameras write them."""
    exif = Image.Exif()
    exif[0x010F] = "Kamerawerk"
    exif.get_ifd(0x8769)[0xA431] = "KPR-SERIAL-4711"
    exif.get_ifd(0x8825).update({1: "N", 2: (54.0, 5.0, 31.5), 3: "E", 4: (12.0, 8.0, 2.25)})
    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
           b'22-rdf-syntax-ns#"><rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
           b'xmp:CreatorTool="Kamera"/></rdf:RDF></x:xmpmeta>')
    return exif, xmp


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ " + bytes(4) + _s15(x) + _s15(y) + _s15(z)


def rgb_profile(red: tuple[float, ...], green: tuple[float, ...], blue: tuple[float, ...]) -> bytes:
    """A minimal ICC v2 matrix/TRC display profile with the given (D50) primaries."""
    text = b"Testprofil\0"
    desc = b"desc" + bytes(4) + struct.pack(">I", len(text)) + text + bytes(4 + 4 + 2 + 1 + 67)
    curve = b"curv" + bytes(4) + struct.pack(">IH", 1, round(2.2 * 256)) + bytes(2)
    tags = [(b"desc", desc), (b"wtpt", _xyz(0.9642, 1.0, 0.8249)), (b"rXYZ", _xyz(*red)),
            (b"gXYZ", _xyz(*green)), (b"bXYZ", _xyz(*blue)), (b"rTRC", curve),
            (b"gTRC", curve), (b"bTRC", curve), (b"cprt", b"text" + bytes(4) + b"frei" + bytes(4))]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, body in tags:
        body += bytes(-len(body) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    header = (struct.pack(">I", offset + len(data)) + bytes(4) + b"\x02\x10\0\0mntrRGB XYZ "
              + bytes(12) + b"acsp" + bytes(28) + _s15(0.9642) + _s15(1.0) + _s15(0.8249)
              + bytes(48))
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


SRGB_RED = (0.4361, 0.2225, 0.0139)
SRGB_GREEN = (0.3851, 0.7169, 0.0971)
SRGB_BLUE = (0.1431, 0.0606, 0.7141)


def png_chunks(width: int, height: int, depth: int, colour: int, raw: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    idat = chunk(b"IDAT", zlib.compress(raw)) if raw else b""
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + idat + chunk(b"IEND", b"")


DEFAULT = ImageSettings()


def derive(data: bytes, settings: ImageSettings = DEFAULT) -> dict[str, bytes]:
    """Every derivative of `data`, by file name."""
    width, height = inspect_image(data, "foto.jpg")
    plan = plan_image("foto.jpg", hashlib.sha256(data).hexdigest(), width, height, settings)
    return {d.name: encoded for d, encoded in render_derivatives(data, plan, settings)}


def opened(encoded: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(encoded))
    image.load()
    return image


def close_to(pixel: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=False))


# ---------- planning: pure ----------


def test_widths_are_never_wider_than_the_photo():
    assert derivative_widths(4000, (320, 640, 1024, 1600)) == (320, 640, 1024, 1600)
    assert derivative_widths(1600, (320, 640, 1024, 1600)) == (320, 640, 1024, 1600)
    assert derivative_widths(1000, (320, 640, 1024, 1600)) == (320, 640, 1000)
    assert derivative_widths(200, (320, 640, 1024, 1600)) == (200,)


def test_plan_has_webp_and_jpeg_per_width_with_proportional_height():
    plan = plan_image("gallery/a/foto.jpg", "ab" * 32, 4000, 3000, ImageSettings(avif=False))
    assert [(d.width, d.height, d.format) for d in plan.variants("jpeg")] == [
        (320, 240, "jpeg"), (640, 480, "jpeg"), (1024, 768, "jpeg"), (1200, 900, "jpeg"),
        (1600, 1200, "jpeg")]
    assert [d.width for d in plan.variants("webp")] == [320, 640, 1024, 1200, 1600]
    assert plan.variants("avif") == ()
    assert plan.largest.url.startswith("/bilder/") and plan.largest.url.endswith("-1600.jpg")


def test_names_change_with_the_photo_and_with_the_parameters_only():
    def names(digest: str, settings: ImageSettings) -> set[str]:
        return {d.name for d in plan_image("x.jpg", digest, 2000, 1000, settings).derivatives}

    same = names("a" * 64, ImageSettings())
    assert same == names("a" * 64, ImageSettings())
    assert same.isdisjoint(names("b" * 64, ImageSettings()))
    assert same.isdisjoint(names("a" * 64, ImageSettings(jpeg_quality=70)))
    assert all(len(name.split("-")[0]) == 16 for name in same)


def test_processing_version_is_part_of_the_names(monkeypatch):
    before = plan_image("x.jpg", "a" * 64, 800, 600, ImageSettings()).largest.name
    monkeypatch.setattr(images, "PROCESSING_VERSION", "test-neu")
    assert plan_image("x.jpg", "a" * 64, 800, 600, ImageSettings()).largest.name != before


def test_picture_has_srcsets_sizes_dimensions_and_lazy_loading():
    plan = plan_image("x.jpg", "c" * 64, 3000, 2000, ImageSettings())
    html = picture_html(plan, 'Der „Rat“ & <Gäste>', "50vw", lambda url: "/kpr" + url)
    assert html.startswith('<picture><source type="image/')
    assert '<source type="image/webp" srcset="/kpr/bilder/' in html
    assert " 1600w" in html and 'sizes="50vw"' in html
    assert 'width="1600" height="1067"' in html
    assert 'alt="Der „Rat“ &amp; &lt;Gäste&gt;"' in html
    assert 'loading="lazy" decoding="async"' in html
    assert "loading=" not in picture_html(plan, "x", "50vw", lazy=False)


# ---------- making: pixels ----------


def test_exif_orientation_6_is_turned_upright():
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    data = encode(halves((400, 200), "red", "blue"), exif=exif, quality=95)
    assert inspect_image(data, "foto.jpg") == (200, 400)
    upright = opened(next(v for k, v in derive(data).items() if k.endswith(".jpg")))
    assert upright.size == (200, 400)
    assert close_to(upright.getpixel((100, 20)), (255, 0, 0), 40)  # left edge is now on top
    assert close_to(upright.getpixel((100, 380)), (0, 0, 255), 40)


def test_embedded_icc_profile_is_converted_to_srgb():
    swapped = rgb_profile(SRGB_BLUE, SRGB_GREEN, SRGB_RED)  # "red" channel means blue
    data = encode(Image.new("RGB", (64, 48), (200, 30, 30)), icc_profile=swapped, quality=95)
    for name, encoded in derive(data).items():
        image = opened(encoded)
        assert "icc_profile" not in image.info, name
        assert close_to(image.convert("RGB").getpixel((32, 24)), (24, 24, 201)), name


def test_cmyk_jpeg_becomes_rgb():
    data = encode(Image.new("CMYK", (64, 48), (0, 255, 255, 0)), quality=95)
    for encoded in derive(data).values():
        image = opened(encoded)
        assert image.mode == "RGB"
        assert close_to(image.getpixel((32, 24)), (255, 0, 0), 16)


def test_alpha_is_flattened_on_white_for_jpeg_and_kept_for_webp():
    image = Image.new("RGBA", (64, 48), (255, 0, 0, 0))
    image.paste((0, 0, 255, 255), (0, 0, 32, 48))
    outputs = derive(encode(image, "PNG"))
    jpeg = opened(next(v for k, v in outputs.items() if k.endswith(".jpg")))
    webp = opened(next(v for k, v in outputs.items() if k.endswith(".webp")))
    assert jpeg.mode == "RGB" and close_to(jpeg.getpixel((56, 24)), (255, 255, 255))
    assert close_to(jpeg.getpixel((8, 24)), (0, 0, 255), 16)
    assert webp.mode == "RGBA" and webp.getpixel((56, 24))[3] == 0


def test_16_bit_grey_png_keeps_its_brightness():
    data = encode(Image.new("I;16", (64, 48), 32768), "PNG")
    for encoded in derive(data).values():
        assert close_to(opened(encoded).convert("RGB").getpixel((32, 24)), (128, 128, 128), 3)


def test_16_bit_rgb_png_is_reduced_to_8_bit():
    raw = (b"\0" + struct.pack(">HHH", 65535, 32768, 0) * 64) * 48
    for encoded in derive(png_chunks(64, 48, 16, 2, raw)).values():
        assert close_to(opened(encoded).convert("RGB").getpixel((32, 24)), (255, 128, 0), 8)


def test_palette_png_with_transparency_keeps_colours():
    image = Image.new("P", (64, 48), 0)
    image.putpalette([0, 128, 0] + [255, 255, 0] * 255)
    image.paste(1, (32, 0, 64, 48))
    outputs = derive(encode(image, "PNG", transparency=1))
    jpeg = opened(next(v for k, v in outputs.items() if k.endswith(".jpg")))
    assert close_to(jpeg.getpixel((8, 24)), (0, 128, 0), 16)
    assert close_to(jpeg.getpixel((56, 24)), (255, 255, 255), 16)  # transparent → white


def test_animated_gif_gives_its_first_frame():
    frames = [Image.new("RGB", (64, 48), colour).convert("P") for colour in ("red", "blue")]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert Image.open(io.BytesIO(data)).n_frames == 2
    for name, encoded in derive(data).items():
        image = opened(encoded)
        assert getattr(image, "n_frames", 1) == 1, name
        assert close_to(image.convert("RGB").getpixel((32, 24)), (255, 0, 0), 16), name


def test_large_jpeg_is_decoded_at_reduced_scale():
    data = encode(Image.new("RGB", (4000, 3000), "gray"), quality=70)
    plan = plan_image("foto.jpg", hashlib.sha256(data).hexdigest(), 4000, 3000, ImageSettings())
    decoded, _icc, _orientation = images._decoded(data, plan)
    assert decoded.size == (2000, 1500)  # DCT scaling: a quarter of the pixels
    assert opened(derive(data)[plan.largest.name]).size == (1600, 1200)


# ---------- privacy: no metadata leaves ----------


def jpeg_segments(data: bytes) -> tuple[list[int], bytes]:
    """The markers of a JPEG up to its image data, and the bytes of those header segments."""
    markers, index = [], 2
    while index < len(data):
        marker = data[index + 1]
        markers.append(marker)
        length = struct.unpack(">H", data[index + 2 : index + 4])[0]
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            return markers, data[:index]
        index += 2 + length
    return markers, data


def webp_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks, index = [], 12
    while index < len(data):
        kind, size = data[index : index + 4], struct.unpack("<I", data[index + 4 : index + 8])[0]
        chunks.append((kind, data[index + 8 : index + 8 + size]))
        index += 8 + size + size % 2
    return chunks


def assert_no_metadata(name: str, data: bytes) -> None:
    image = opened(data)
    assert not image.getexif() and not image.getexif().get_ifd(0x8825), name
    assert not {"exif", "xmp", "icc_profile", "comment"} & set(image.info), (name, image.info)
    for secret in (b"Exif", b"http://ns.adobe.com/xap", b"KPR-SERIAL-4711", b"Kamerawerk"):
        assert secret not in data, (name, secret)
    if name.endswith(".jpg"):
        markers, header = jpeg_segments(data)
        # Only JFIF (APP0), tables, frame and scan: no APP1 (EXIF/XMP), APP2 (ICC), COM.
        assert set(markers) <= {0xE0, 0xDB, 0xC0, 0xC2, 0xC4, 0xDA, 0xDD}, (name, markers)
        assert b"GPS" not in header, name
    elif name.endswith(".avif"):
        # An ICC profile would be a colr box of type prof or rICC (EXIF, XMP: checked above).
        assert b"colrprof" not in data and b"colrrICC" not in data, name
    else:
        kinds = [kind for kind, _ in webp_chunks(data)]
        assert set(kinds) <= {b"VP8 ", b"VP8L", b"VP8X", b"ALPH"}, (name, kinds)
        assert all(b"GPS" not in body for kind, body in webp_chunks(data) if kind == b"VP8X")


def test_derivatives_carry_no_exif_gps_xmp_or_icc():
    exif, xmp = camera_metadata()
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(halves((1200, 800), "navy", "orange"), exif=exif, xmp=xmp, icc_profile=srgb,
                  comment=b"Kamerawerk", quality=90)
    source = opened(data)  # the source does carry it all
    assert source.getexif().get_ifd(0x8825) and b"KPR-SERIAL-4711" in data
    assert "xmp" in source.info and "icc_profile" in source.info
    outputs = derive(data)
    assert len(outputs) == 4 * len(ImageSettings().formats)  # 320, 640, 1024, 1200
    for name, encoded in outputs.items():
        assert_no_metadata(name, encoded)


def test_png_and_webp_sources_lose_their_metadata_too():
    exif, xmp = camera_metadata()
    for format in ("PNG", "WEBP"):
        data = encode(Image.new("RGB", (400, 300), "teal"), format, exif=exif, xmp=xmp)
        for name, encoded in derive(data).items():
            assert_no_metadata(name, encoded)


# ---------- bad files: refused with a clear message ----------


def test_empty_file_is_refused():
    with pytest.raises(SiteError, match=r"leer \(0 Byte\)") as caught:
        inspect_image(b"", "gallery/a/leer.jpg")
    assert str(caught.value.location) == "gallery/a/leer.jpg"


def test_text_with_image_extension_is_refused():
    with pytest.raises(SiteError, match="kein Bild"):
        inspect_image(b"Dies ist ein Text, kein Foto.\n" * 20, "gallery/a/notiz.jpg")


@pytest.mark.parametrize("side", [8000, 20000])
def test_decompression_bomb_is_refused_from_its_header(side):
    """8000² = 64 MP passes Pillow's own warning limit; 20000² = 400 MP trips its error. Both
    are refused by our limit before a single pixel is decoded (the file has no pixel data)."""
    data = png_chunks(side, side, 8, 2, b"")
    with pytest.raises(SiteError, match="zu groß") as caught:
        inspect_image(data, "gallery/a/bombe.png")
    assert f"{MAX_PIXELS // 1_000_000} Megapixel" in caught.value.message
    assert caught.value.location is not None and caught.value.location.path == "gallery/a/bombe.png"


def test_truncated_jpeg_is_reported_as_damaged():
    whole = encode(halves((800, 600), "red", "blue"), quality=90)
    cut = whole[: len(whole) // 2]
    width, height = inspect_image(cut, "gallery/a/kaputt.jpg")  # the header is still fine
    plan = plan_image("gallery/a/kaputt.jpg", hashlib.sha256(cut).hexdigest(), width, height,
                      ImageSettings())
    with pytest.raises(SiteError, match="beschädigt oder unvollständig"):
        list(render_derivatives(cut, plan, ImageSettings()))


# ---------- making many: cache and parallel workers ----------


def planned(root: Path, names: list[str], settings: ImageSettings = DEFAULT) -> list[ImagePlan]:
    plans = []
    for name in names:
        data = (root / name).read_bytes()
        width, height = inspect_image(data, name)
        plans.append(plan_image(name, hashlib.sha256(data).hexdigest(), width, height, settings))
    return plans


def test_cached_derivatives_are_not_made_again(tmp_path):
    (tmp_path / "a.jpg").write_bytes(encode(halves((700, 500), "red", "blue")))
    cache = tmp_path / "cache"
    plans = planned(tmp_path, ["a.jpg"])
    first = make_images(tmp_path, plans, cache, ImageSettings(), jobs=1)
    assert (first.made, first.cached, first.errors) == (1, 0, ())
    assert all(derivative_file(cache, d.name).is_file() for d in plans[0].derivatives)
    second = make_images(tmp_path, plans, cache, ImageSettings(), jobs=1)
    assert (second.made, second.cached) == (0, 1)


def test_changed_parameters_make_new_derivatives(tmp_path):
    (tmp_path / "a.jpg").write_bytes(encode(halves((700, 500), "red", "blue")))
    cache = tmp_path / "cache"
    make_images(tmp_path, planned(tmp_path, ["a.jpg"]), cache, ImageSettings(), jobs=1)
    other = ImageSettings(jpeg_quality=60)
    again = make_images(tmp_path, planned(tmp_path, ["a.jpg"], other), cache, other, jobs=1)
    assert (again.made, again.cached) == (1, 0)


def test_parallel_workers_make_the_same_bytes_as_one_process(tmp_path):
    names = []
    for index, colour in enumerate(("red", "green", "blue", "gray")):
        names.append(f"{index}.jpg")
        (tmp_path / names[-1]).write_bytes(encode(halves((900, 600), colour, "white")))
    plans = planned(tmp_path, names)
    progress: list[tuple[int, int]] = []
    serial = make_images(tmp_path, plans, tmp_path / "one", ImageSettings(), jobs=1)
    parallel = make_images(tmp_path, plans, tmp_path / "two", ImageSettings(), jobs=2,
                           progress=lambda done, total: progress.append((done, total)))
    assert serial.made == parallel.made == 4
    assert progress == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    for plan in plans:
        for d in plan.derivatives:
            one = derivative_file(tmp_path / "one", d.name).read_bytes()
            assert one == derivative_file(tmp_path / "two", d.name).read_bytes()


def test_photo_changed_after_planning_is_an_error_not_a_wrong_cache_entry(tmp_path):
    (tmp_path / "a.jpg").write_bytes(encode(halves((700, 500), "red", "blue")))
    plans = planned(tmp_path, ["a.jpg"])
    (tmp_path / "a.jpg").write_bytes(encode(halves((700, 500), "green", "blue")))
    result = make_images(tmp_path, plans, tmp_path / "cache", ImageSettings(), jobs=1)
    assert result.made == 0 and "während des Builds geändert" in result.errors[0].message
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*.jpg"))


def test_photos_are_made_in_this_process_while_other_threads_run(tmp_path, monkeypatch):
    """Under `kpr-site serve` the watcher and web server run as threads; forking then risks a
    deadlock, so no worker processes are started."""
    import threading

    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("no process pool while threads run")

    monkeypatch.setattr(images, "process_pool", no_pool)
    for index, colour in enumerate(("red", "blue")):
        (tmp_path / f"{index}.jpg").write_bytes(encode(halves((500, 400), colour, "white")))
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        result = make_images(tmp_path, planned(tmp_path, ["0.jpg", "1.jpg"]), tmp_path / "cache",
                             ImageSettings(), jobs=2)
    finally:
        stop.set()
        thread.join()
    assert (result.made, result.errors) == (2, ())


def test_the_same_photo_used_twice_is_made_once(tmp_path):
    data = encode(halves((500, 400), "red", "white"))
    (tmp_path / "a.jpg").write_bytes(data)
    (tmp_path / "kopie.jpg").write_bytes(data)
    result = make_images(tmp_path, planned(tmp_path, ["a.jpg", "kopie.jpg"]), tmp_path / "cache",
                         ImageSettings(), jobs=2)
    assert (result.made, result.cached) == (1, 0)


def test_avif_is_offered_first_where_pillow_writes_it():
    with_avif = plan_image("gallery/a/foto.jpg", "ab" * 32, 4000, 3000, ImageSettings(avif=True))
    html = picture_html(with_avif, "Foto", "100vw")
    assert html.index('type="image/avif"') < html.index('type="image/webp"')
    assert [d.width for d in with_avif.variants("avif")] == [320, 640, 1024, 1200, 1600]
    without = plan_image("gallery/a/foto.jpg", "ab" * 32, 4000, 3000, ImageSettings(avif=False))
    assert "image/avif" not in picture_html(without, "Foto", "100vw")
    # The settings are part of the names: a build without AVIF never reuses files of one with.
    assert with_avif.derivatives[0].name != without.derivatives[0].name


def test_avif_derivatives_are_reproducible_and_carry_no_metadata():
    if not avif_supported():
        pytest.skip("Dieses Pillow schreibt kein AVIF (WebP und JPEG genügen dann).")
    exif, xmp = camera_metadata()
    data = encode(halves((800, 600), "red", "blue"), exif=exif, xmp=xmp)
    plan = plan_image("a.jpg", "cd" * 32, 800, 600, ImageSettings(avif=True))
    first = {d.name: b for d, b in render_derivatives(data, plan, ImageSettings(avif=True))}
    again = {d.name: b for d, b in render_derivatives(data, plan, ImageSettings(avif=True))}
    avif = {name: b for name, b in first.items() if name.endswith(".avif")}
    assert avif and all(again[name] == b for name, b in avif.items())
    for encoded in avif.values():
        with Image.open(io.BytesIO(encoded)) as opened:
            assert opened.format == "AVIF" and not opened.getexif()

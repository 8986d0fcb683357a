"""Benchmark of the image pipeline: cold and warm throughput and peak memory (not a test).

Generates N synthetic 12-megapixel camera-like JPEGs (4000 × 3000, noise over gradients and
shapes, EXIF with camera serial and GPS position, XMP, every fourth one rotated by EXIF
orientation 6), deterministically, puts them into one album of a small site, and builds it:

* cold: empty image cache, every photo gets all derivatives (320/640/1024/1600 px, WebP and
  JPEG) — photos per second of image work, and of the whole build;
* warm: the same build again into a fresh output folder with the cache kept (CI with a
  persisted cache): time per photo of the image work, with the (file, size, mtime) memo and
  after `touch` (a fresh checkout: every photo is hashed again);
* peak memory: each build runs in its own process; reported are the build process's peak RSS
  and the largest worker's peak RSS (getrusage), for two values of N to show that memory does
  not grow with the number of photos.

    python bench/bench_images.py                  # N = 24 and 48, all cores
    python bench/bench_images.py --counts 8 --jobs 1

Generated photos are kept in --workdir (default /tmp/kpr-bench) and reused on later runs.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT = 4000, 3000
GENERATOR_VERSION = 1
SITE_YAML = """\
title: Benchmark
description: Bildbenchmark.
base_url: https://example.org/
language: de
contact:
  name: Bench
nav:
  - title: Galerie
    url: /galerie/
"""


def camera_photo(index: int) -> bytes:
    """A deterministic 12-MP JPEG that compresses like a camera photo (≈3.5 MB at q92)."""
    rng = random.Random(index)
    small = (WIDTH // 8, HEIGHT // 8)
    bands = [Image.linear_gradient("L").rotate(rng.uniform(0, 360)).resize(small)
             for _ in range(3)]
    base = Image.merge("RGB", bands)
    draw = ImageDraw.Draw(base)
    for _ in range(12):
        x, y = rng.randrange(small[0]), rng.randrange(small[1])
        r = rng.randrange(10, 120)
        draw.ellipse((x - r, y - r, x + r, y + r),
                     fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    base = base.resize((WIDTH, HEIGHT), Image.Resampling.BILINEAR)
    noise = Image.frombytes("RGB", (WIDTH, HEIGHT), rng.randbytes(WIDTH * HEIGHT * 3))
    photo = Image.blend(base, noise, 0.12)
    exif = Image.Exif()
    exif[0x010F] = "KPR Kamerawerk"  # Make
    exif[0x0110] = "Modell 12"  # Model
    exif[0x0112] = 6 if index % 4 == 3 else 1  # Orientation
    exif.get_ifd(0x8769)[0xA431] = f"SN-{index:08d}"  # BodySerialNumber
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (54.0, 5.0, 31.5 + index), 3: "E", 4: (12.0, 8.0, 2.25)})
    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/'
           b'02/22-rdf-syntax-ns#"><rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
           b'xmp:CreatorTool="Kamera"/></rdf:RDF></x:xmpmeta>')
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=92, exif=exif, xmp=xmp)
    return buffer.getvalue()


def _generate(args: tuple[int, str]) -> None:
    index, target = args
    Path(target).write_bytes(camera_photo(index))


def photos(workdir: Path, count: int, jobs: int) -> list[Path]:
    folder = workdir / f"photos-v{GENERATOR_VERSION}"
    folder.mkdir(parents=True, exist_ok=True)
    files = [folder / f"foto-{i:03d}.jpg" for i in range(count)]
    missing = [(i, str(f)) for i, f in enumerate(files) if not f.is_file()]
    if missing:
        print(f"Erzeuge {len(missing)} Testfotos in {folder} …", file=sys.stderr)
        with ProcessPoolExecutor(jobs) as pool:
            list(pool.map(_generate, missing))
    return files


def make_site(workdir: Path, files: list[Path]) -> Path:
    root = workdir / f"site-{len(files)}"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(REPO / "templates", root / "templates")
    (root / "content").mkdir(parents=True)
    (root / "content" / "site.yaml").write_text(SITE_YAML, encoding="utf-8")
    album = root / "gallery" / "bench"
    album.mkdir(parents=True)
    lines = ["title: Benchmark", "date: 2024-01-01", "photos:"]
    for file in files:
        shutil.copyfile(file, album / file.name)
        lines += [f"  - file: {file.name}", f"    alt: Testfoto {file.stem}"]
    (album / "album.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def run_build(root: Path, out: Path, cache: Path, jobs: int) -> dict[str, float]:
    """One build in a fresh process, so its peak memory is its own."""
    command = [sys.executable, __file__, "--run-one", str(root), str(out), str(cache), str(jobs)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"Build fehlgeschlagen:\n{done.stdout}{done.stderr}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run_one(root: Path, out: Path, cache: Path, jobs: int) -> None:
    """Child: build in-process; print timings and peak RSS of self and of the largest worker."""
    sys.path.insert(0, str(REPO))
    from kpr_site.build import build_site
    from kpr_site.options import BuildOptions

    started = time.perf_counter()
    report = build_site(root, out, BuildOptions(jobs=jobs, cache_dir=cache))
    wall = time.perf_counter() - started
    own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({
        "cpu": own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime,
        "wall": wall, "image_seconds": report.image_seconds, "made": report.images_made,
        "cached": report.images_cached,
        "self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }))


def bench(workdir: Path, count: int, jobs: int) -> dict[str, float]:
    files = photos(workdir, count, jobs)
    root = make_site(workdir, files)
    cache = workdir / f"cache-{count}"
    shutil.rmtree(cache, ignore_errors=True)
    cold = run_build(root, workdir / f"out-{count}-cold", cache, jobs)
    assert cold["made"] == count, cold
    warm = run_build(root, workdir / f"out-{count}-warm", cache, jobs)
    assert warm["made"] == 0 and warm["cached"] == count, warm
    for file in (root / "gallery" / "bench").glob("*.jpg"):
        os.utime(file)  # a fresh checkout: same bytes, new mtimes → every photo hashed again
    touched = run_build(root, workdir / f"out-{count}-touched", cache, jobs)
    size = sum(f.stat().st_size for f in files) / count / 1e6
    return {
        "count": count, "mb_per_photo": size,
        "cold_photos_per_s": count / cold["image_seconds"],
        "cold_build_photos_per_s": count / cold["wall"],
        "cold_cpu_ms_per_photo": 1000 * cold["cpu"] / count,
        "warm_ms_per_photo": 1000 * warm["image_seconds"] / count,
        "warm_build_s": warm["wall"],
        "touched_ms_per_photo": 1000 * touched["image_seconds"] / count,
        "self_mb": max(cold["self_mb"], warm["self_mb"]), "worker_mb": cold["worker_mb"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark der Bildverarbeitung von kpr-site")
    parser.add_argument("--counts", type=int, nargs="+", default=[24, 48])
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/kpr-bench"))
    parser.add_argument("--run-one", nargs=4, metavar=("SITE", "OUT", "CACHE", "JOBS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_one:
        site, out, cache, jobs = args.run_one
        run_one(Path(site), Path(out), Path(cache), int(jobs))
        return
    print(f"Prozesse: {args.jobs}; Fotos: {WIDTH} × {HEIGHT} px JPEG; Ableitungen je Foto: "
          "320/640/1024/1600 px als WebP und JPEG")
    for count in args.counts:
        r = bench(args.workdir, count, args.jobs)
        print(f"N={count:3d} ({r['mb_per_photo']:.1f} MB/Foto): "
              f"kalt {r['cold_photos_per_s']:.1f} Fotos/s (ganzer Build "
              f"{r['cold_build_photos_per_s']:.1f} Fotos/s; CPU {r['cold_cpu_ms_per_photo']:.0f} ms/Foto), "
              f"warm {r['warm_ms_per_photo']:.2f} ms/Foto (ganzer Build {r['warm_build_s']:.2f} s), "
              f"warm nach touch {r['touched_ms_per_photo']:.2f} ms/Foto, "
              f"Spitzen-RSS Build {r['self_mb']:.0f} MB, größter Worker {r['worker_mb']:.0f} MB")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The baseline for bench/ingest: the same normalisation as the ingest service, done by Pillow in
one process on one core. Per image: read the bytes, sha256 them, decode with JPEG draft mode (PIL's
shrink-on-load, as sharp uses), apply EXIF orientation, convert to RGB (sRGB via the ICC profile when
there is one), bound the longer side to 1024 (Lanczos), encode JPEG q90, make a 256 px WebP
thumbnail, compute a 64-bit dHash, and write the outputs. Prints one JSON line with the timings.

Usage: pil_baseline.py <input dir> <output dir>
"""
import hashlib
import io
import json
import os
import sys
import time

from PIL import Image, ImageCms, ImageOps

MAX_SIDE = 1024
SRGB = ImageCms.createProfile("sRGB")


def dhash(img):
    grey = img.convert("L").resize((9, 8), Image.Resampling.BILINEAR)
    px = list(grey.getdata())
    bits = 0
    for row in range(8):
        for col in range(8):
            bits = (bits << 1) | (px[row * 9 + col] > px[row * 9 + col + 1])
    return f"{bits:016x}"


def normalise(data):
    hashlib.sha256(data).hexdigest()
    img = Image.open(io.BytesIO(data))
    scale = MAX_SIDE / max(img.size)
    if scale < 1:
        img.draft("RGB", (int(img.size[0] * scale), int(img.size[1] * scale)))
    img = ImageOps.exif_transpose(img)
    icc = img.info.get("icc_profile")
    if icc:
        img = ImageCms.profileToProfile(img, ImageCms.ImageCmsProfile(io.BytesIO(icc)), SRGB, outputMode="RGB")
    img = img.convert("RGB")
    if max(img.size) > MAX_SIDE:
        s = MAX_SIDE / max(img.size)
        img = img.resize((max(1, round(img.size[0] * s)), max(1, round(img.size[1] * s))), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    normalized = out.getvalue()
    hashlib.sha256(normalized).hexdigest()
    thumb = img.copy()
    thumb.thumbnail((256, 256), Image.Resampling.LANCZOS)
    tout = io.BytesIO()
    thumb.save(tout, "WEBP", quality=80)
    dhash(img)
    return normalized, tout.getvalue()


def main():
    src, dst = sys.argv[1], sys.argv[2]
    os.makedirs(dst, exist_ok=True)
    names = sorted(n for n in os.listdir(src) if n.endswith(".jpg"))
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for name in names:
        with open(os.path.join(src, name), "rb") as f:
            data = f.read()
        normalized, thumb = normalise(data)
        with open(os.path.join(dst, name), "wb") as f:
            f.write(normalized)
        with open(os.path.join(dst, name + ".webp"), "wb") as f:
            f.write(thumb)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    print(json.dumps({"images": len(names), "wallSec": wall, "cpuSec": cpu, "pillow": Image.__version__}))


if __name__ == "__main__":
    main()

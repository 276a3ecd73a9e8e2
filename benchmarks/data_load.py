"""Load-and-prepare a big FITS cube: nnstudio against astropy getdata + NumPy, in one run.

Builds a float32 cube of ``--size-mb`` (default 1024) in a temporary folder with a label table,
then runs each case in its own subprocess (a clean peak memory), in interleaved pairs
(``_paired.py``: the median time ratio with its 95% interval):
- baseline: ``fits.getdata`` (memory-mapped), a native float32 copy, standardise in place;
- nnstudio: ``read_dataset`` + ``prepare(..., in_place=True)`` with the standard scaler: the
  same arithmetic plus the label table, the seeded stratified 60/15/10/15 split and train-only
  statistics.
Peak memory is the rise of the process's peak resident set (VmHWM in /proc/self/status) over
its resident set just before the case starts. Also times the preview: the first 64 images.
Goal (issue 3): time ratio <= 1.1, peak <= 1.5 x the data size.
The last line printed is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _paired import interleaved, meets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
H = W = 64


def _proc_status(key: str) -> float:
    """A memory figure of this process in MB, from /proc/self/status (Linux)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def make_cube(folder: Path, size_mb: float, seed: int = 0) -> tuple[Path, Path, int]:
    """A big-endian float32 FITS cube (N, 64, 64) written a chunk at a time, and its labels."""
    from astropy.io import fits

    n = max(8, int(size_mb * 1024 * 1024 // (H * W * 4)))
    path = folder / "cube.fits"
    header = fits.PrimaryHDU().header
    header["BITPIX"] = -32
    header["NAXIS"] = 3
    header["NAXIS1"] = W
    header["NAXIS2"] = H
    header["NAXIS3"] = n
    rng = np.random.default_rng(seed)
    with open(path, "wb") as f:
        f.write(header.tostring().encode("ascii"))
        step = max(1, (64 << 20) // (H * W * 4))
        for i in range(0, n, step):
            k = min(step, n - i)
            chunk = rng.standard_normal((k, H, W), dtype=np.float32)
            chunk *= 3.0
            chunk += 10.0
            f.write(chunk.astype(">f4").tobytes())
        pad = (-f.tell()) % 2880
        f.write(b"\0" * pad)
    labels = folder / "labels.csv"
    y = rng.integers(0, 2, n)
    labels.write_text("id,label\n" + "\n".join(f"{i},{v}" for i, v in enumerate(y)) + "\n")
    return path, labels, n


def case_baseline(path: Path, labels: Path) -> dict:
    from astropy.io import fits

    rss0 = _proc_status("VmRSS")
    t0 = time.perf_counter()
    x = fits.getdata(path).astype(np.float32)
    x -= x.mean()
    x /= x.std()
    elapsed = time.perf_counter() - t0
    return {"time_s": elapsed, "peak_mb": _proc_status("VmHWM") - rss0,
            "check": float(x[:4].mean())}


def case_nnstudio(path: Path, labels: Path) -> dict:
    from astropy.io import fits  # noqa: F401  (libraries imported before timing, as in the
    from astropy.table import Table  # noqa: F401  baseline: a session imports them once)

    from nnstudio.core.data.prepare import prepare
    from nnstudio.core.data.readers import read_dataset
    from nnstudio.core.data.spec import DataSelection, PreparationSpec

    rss0 = _proc_status("VmRSS")
    t0 = time.perf_counter()
    sel = DataSelection(path=str(path), labels_path=str(labels), target="label")
    ds = read_dataset(sel)
    prepared = prepare(ds, sel, PreparationSpec(scaler="standard"), in_place=True)
    elapsed = time.perf_counter() - t0
    return {"time_s": elapsed, "peak_mb": _proc_status("VmHWM") - rss0,
            "n_train": prepared.count("train")}


def case_preview(path: Path, labels: Path) -> dict:
    from nnstudio.core.data import fitsio

    t0 = time.perf_counter()
    with fitsio.open_fits(path) as hdul:
        fitsio.read_image_rows(path, hdul, 0, 0, 64)
    return {"time_s": time.perf_counter() - t0}


CASES = {"baseline": case_baseline, "nnstudio": case_nnstudio, "preview": case_preview}


def run_case(name: str, path: Path, labels: Path) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--case", name, "--path", str(path),
           "--labels", str(labels)]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=float, default=1024.0, help="cube size (default 1024)")
    ap.add_argument("--smoke", action="store_true", help="a 16 MB cube, once (CI)")
    ap.add_argument("--pairs", type=int, default=7, help="at least this many interleaved pairs")
    ap.add_argument("--case", choices=sorted(CASES), help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    ap.add_argument("--labels", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.case:
        print(json.dumps(CASES[args.case](Path(args.path), Path(args.labels))))
        return 0

    size_mb = 16.0 if args.smoke else args.size_mb
    with tempfile.TemporaryDirectory(prefix="nnstudio-data-load-") as tmp:
        t0 = time.perf_counter()
        path, labels, n = make_cube(Path(tmp), size_mb)
        data_mb = n * H * W * 4 / 2**20
        print(f"cube: {n}×{H}×{W} float32, {data_mb:.0f} MB, written in "
              f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
        peaks = {"baseline": [], "nnstudio": []}

        def side(name):
            def once() -> float:
                res = run_case(name, path, labels)
                peaks[name].append(res["peak_mb"])
                return res["time_s"]
            return once

        stats = interleaved(side("baseline"), side("nnstudio"), min_pairs=args.pairs, quick=args.smoke)
        preview = run_case("preview", path, labels)
    peak = {k: max(v) for k, v in peaks.items()}
    peak_ratio = peak["nnstudio"] / data_mb
    result = {
        "benchmark": "data_load",
        "data_mb": round(data_mb, 1),
        "n_images": n,
        **stats,
        "baseline_peak_mb": round(peak["baseline"], 1),
        "nnstudio_peak_mb": round(peak["nnstudio"], 1),
        "peak_ratio": round(peak_ratio, 3),
        "preview_s": round(preview["time_s"], 3),
        "smoke": bool(args.smoke),   # a tiny cube: fixed overheads dominate, the goal is for >= 1 GB
        "goal": "time ratio <= 1.1 (upper end of the 95% interval), peak <= 1.5x data",
        "pass": bool(meets(stats, 1.1) and peak_ratio <= 1.5),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

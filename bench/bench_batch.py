"""Batch benchmark: gradcli's vectorised NumPy engine against hand-written NumPy (issue 6).

For the function of the issue,

    f(x, y) = (x + sigmoid(y)) / (sigmoid(x) + (x+y)^2)

at n points drawn uniformly from [-3, 3]^2 with a fixed seed (default n = 10^4
and 10^6), it measures, side by side in one run:

in-process (value and both partials at every point, NumPy arrays in and out)

  gradcli                 gradcli.batch.evaluate_batch(graph, columns), the program
                          parsed once beforehand (outside the timing)
  gradcli parse+batch     gradcli.parse(source) + evaluate_batch, every call
  hand NumPy              hand_value_and_grad below: the forward pass with its
                          intermediates, then the backward pass, written by hand
  jax                     jax.jit(jax.vmap(jax.value_and_grad(f, argnums=(0, 1)))) in
                          float64, NumPy arrays in, block_until_ready, NumPy out; the
                          first call (trace + compile + run) is timed separately
  jax, arrays kept on     the same compiled function on inputs already on the device
    device                (jax.device_put beforehand), outputs not converted to NumPy
  torch autograd          float64 tensors from the NumPy arrays (zero copy) with
                          requires_grad, f(x, y) and torch.autograd.grad(f.sum(), (x, y)):
                          every point is independent, so the gradient of the sum is
                          the per-point gradient
  torch.func vmap         torch.func.vmap(torch.func.grad_and_value(f, argnums=(0, 1)))

  (jax and torch are optional: they are detected by import and reported as
  "not installed" otherwise. torch runs on one thread by default, as NumPy does
  (--torch-threads): with two on this shared 2-core machine it was 5x slower at
  10^6 points. jax runs with XLA's defaults.)

  The in-process part runs three times, because the cost of NumPy's temporaries
  depends on glibc's allocator. With its defaults, a freed large block can go
  back to the OS (munmap, or trimming the top of the heap) and the next one of
  the same size is faulted in again page by page: at 10^6 points the hand NumPy
  gradient takes about 6,000 minor page faults per call and a third of its time
  there, while gradcli, working in chunks of 32,768 rows, takes fewer. The
  faults/call column shows it (getrusage). So:
    1. gradcli and hand NumPy with the allocator as the process starts (glibc's
       defaults, or whatever MALLOC_* says), jax and torch not imported: a
       process as a gradcli user has it;
    2. the same after mallopt() makes glibc keep freed memory (as
       MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824 would):
       no page faults, the arithmetic alone;
    3. every engine, jax and torch imported, the allocator as in 2.
  A target line is printed for each (--no-steady skips 2, --no-optional skips 3).

  Before anything is timed, the results are checked: hand NumPy against gradcli
  to AGREE_RTOL (asserted), gradcli's batch engine against gradcli.evaluate() at
  a sample of points (asserted), jax and torch against hand NumPy (reported).

whole process (CSV in, CSV out, as separate processes)

  gradcli eval F --points in.csv --format csv > out.csv, through the gradcli console
      script next to sys.executable (or --gradcli-command)
  the same computation as a hand-written NumPy script (this file with --hand-csv):
      np.loadtxt, hand_value_and_grad, np.savetxt with '%.17g' (full round-trip
      precision) to stdout; it reports its read / compute / write times on stderr
  python -c "import numpy", the floor of any NumPy script

  in.csv has the header `x,y` and one point per row, written with repr (shortest
  round-trip text). The two output files are compared number by number.

Every measurement is repeated (--repeats, default 5) in a shuffled order within
each repeat, so every engine sees the same load; times are given as min and
median, and ratios are computed within each repeat (side by side) and their
median reported, next to the ratio of the mins. A small n is timed as a loop of
calls lasting at least --min-time seconds (the time per call is reported). The
garbage collector stays on; gc.collect() runs before each timing.

    python bench/bench_batch.py                          # 10^4 and 10^6 points, 5 repeats
    python bench/bench_batch.py --sizes 10000 --repeats 3 --no-process   # quick
    python bench/bench_batch.py --json-out /tmp/batch.json
    python bench/bench_batch.py --profile 10000          # where evaluate_batch spends its time:
                                                         # node by node, then cProfile
    MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824 \
        python bench/bench_batch.py --profile 32768      # the same without page faults

Needs NumPy and gradcli (with gradcli.batch); nothing here fails a build.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import math
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FUNCTION = "(x + sigmoid(y)) / (sigmoid(x) + (x+y)^2)"
LOW, HIGH = -3.0, 3.0
SEED = 20261123
TARGET_RATIO = 0.8  # gradcli's points per second at least 0.8x hand NumPy's
TARGET_CSV_S = 3.0  # 10^6 points CSV to CSV
CSV_TARGET_ROWS = 1_000_000
AGREE_RTOL = 1e-12  # hand NumPy against gradcli (asserted)
SCALAR_SAMPLE = 200  # points checked against gradcli.evaluate()

# -- the hand-written gradient ----------------------------------------------------------------


def hand_value_and_grad(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """f(x, y) = (x + sigmoid(y)) / (sigmoid(x) + (x+y)^2) and its gradient, by hand.

    Forward pass keeping the intermediates, then the backward pass (staged
    code, CS231n style); plain NumPy expressions, no in-place tricks.
    """
    # forward
    sy = 1.0 / (1.0 + np.exp(-y))  # sigmoid(y)
    num = x + sy
    sx = 1.0 / (1.0 + np.exp(-x))  # sigmoid(x)
    xpy = x + y
    sq = xpy * xpy  # (x+y)^2
    den = sx + sq
    f = num / den
    # backward: d f / d(each intermediate), then the inputs
    dnum = 1.0 / den
    dden = -f / den  # -num / den^2
    dsy = dnum
    dsx = dden
    dxpy = 2.0 * xpy * dden  # through sq
    dx = dnum + dsx * (sx * (1.0 - sx)) + dxpy
    dy = dsy * (sy * (1.0 - sy)) + dxpy
    return f, dx, dy


def hand_csv_main(in_path: str) -> int:
    """The hand-written whole-process counterpart: CSV in (x,y), CSV out to stdout."""
    t0 = time.perf_counter()
    with open(in_path, encoding="utf-8") as handle:
        header = handle.readline().strip()
        if header != "x,y":
            print(f"expected the header x,y, got {header!r}", file=sys.stderr)
            return 2
        data = np.loadtxt(handle, delimiter=",", ndmin=2)
    x = np.ascontiguousarray(data[:, 0])
    y = np.ascontiguousarray(data[:, 1])
    t1 = time.perf_counter()
    f, dx, dy = hand_value_and_grad(x, y)
    t2 = time.perf_counter()
    out = np.column_stack((x, y, f, dx, dy))
    np.savetxt(sys.stdout, out, fmt="%.17g", delimiter=",", header=",".join(HAND_CSV_HEADER), comments="")
    sys.stdout.flush()
    t3 = time.perf_counter()
    print(json.dumps({"read_s": t1 - t0, "compute_s": t2 - t1, "write_s": t3 - t2}), file=sys.stderr)
    return 0


# gradcli eval --format csv: the input columns, `value`, then one partial per input.
# The hand script writes the same layout; the comparison matches by position and
# reports both headers.
HAND_CSV_HEADER = ("x", "y", "value", "d/dx", "d/dy")


# -- agreement ----------------------------------------------------------------------------------


def relative_errors(a: np.ndarray, b: np.ndarray, scale: np.ndarray | None = None) -> np.ndarray:
    """|a - b| / scale elementwise, scale = max(|a|, |b|) unless given (0 where a == b; inf where one is NaN)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if scale is None:
        scale = np.maximum(np.abs(a), np.abs(b))
    with np.errstate(invalid="ignore", divide="ignore"):
        err = np.abs(a - b) / scale
    err[(a == b) | (np.isnan(a) & np.isnan(b))] = 0.0
    err[np.isnan(err)] = np.inf
    return err


def term_scales(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each output, the sum of the magnitudes of the terms it is a sum of.

    Plain relative error is ill-conditioned where a result is a sum of terms that
    nearly cancel (d/dx = 1/den - f/den * sx(1-sx) - 2(x+y) f/den is near 0 on a
    curve through the square; so is x + sigmoid(y)): two correct engines that
    round or order the terms differently then differ by a few ulps *of the terms*,
    which is a large fraction of the tiny result. Dividing the difference by this
    scale instead is the usual backward-stable yardstick; f's own cancellation
    (num = x + sigmoid(y)) is carried into every term that uses f.
    """
    sy = 1.0 / (1.0 + np.exp(-y))
    sx = 1.0 / (1.0 + np.exp(-x))
    xpy = x + y
    den = sx + xpy * xpy
    f_terms = (np.abs(x) + sy) / den  # |x| + |sigmoid(y)| over den
    dden_terms = f_terms / den
    dx = 1.0 / den + dden_terms * sx * (1.0 - sx) + 2.0 * np.abs(xpy) * dden_terms
    dy = sy * (1.0 - sy) / den + 2.0 * np.abs(xpy) * dden_terms
    return f_terms, dx, dy


def agreement(reference: tuple, other: tuple, scales: tuple, labels=("value", "d/dx", "d/dy")) -> dict:
    """Per output: the worst relative error to the terms' scale (checked against AGREE_RTOL),
    the worst plain relative error |a-b|/max(|a|,|b|), and where they happen."""
    result = {}
    for label, a, b, scale in zip(labels, reference, other, scales):
        err = relative_errors(a, b, scale)
        plain = relative_errors(a, b)
        worst = int(np.argmax(err))
        worst_plain = int(np.argmax(plain))
        result[label] = {
            "max_rel_terms": float(err[worst]),
            "at": worst,
            "max_rel_plain": float(plain[worst_plain]),
            "plain_at": worst_plain,
            "plain_reference": float(np.asarray(a)[worst_plain]),
            "plain_other": float(np.asarray(b)[worst_plain]),
            "plain_over_rtol": int(np.count_nonzero(plain > AGREE_RTOL)),
            "identical": int(np.count_nonzero(np.asarray(a) == np.asarray(b))),
        }
    return result


def worst_rel(report: dict) -> float:
    return max(entry["max_rel_terms"] for entry in report.values())


# -- engines -------------------------------------------------------------------------------------


def make_points(n: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(LOW, HIGH, n), rng.uniform(LOW, HIGH, n)


def optional_versions() -> dict:
    """Installed versions, read from the package metadata: nothing is imported here."""
    from importlib import metadata

    versions = {"numpy": np.__version__}
    for package in ("jax", "jaxlib", "torch", "orjson"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return versions


TORCH_THREADS: int | None = None  # --torch-threads


def build_engines(x: np.ndarray, y: np.ndarray, notes: dict, optional: bool) -> dict:
    """name -> zero-argument callable returning (values, d/dx, d/dy) as NumPy arrays."""
    import gradcli
    from gradcli.batch import evaluate_batch

    graph = gradcli.parse(FUNCTION)
    columns = {"x": x, "y": y}

    def run_gradcli():
        result = evaluate_batch(graph, columns)
        return result.values, result.gradient["x"], result.gradient["y"]

    def run_gradcli_parse():
        result = evaluate_batch(gradcli.parse(FUNCTION), columns)
        return result.values, result.gradient["x"], result.gradient["y"]

    engines = {
        "gradcli": run_gradcli,
        "gradcli parse+batch": run_gradcli_parse,
        "hand NumPy": lambda: hand_value_and_grad(x, y),
    }
    if not optional:
        return engines

    try:
        import jax
    except ImportError:
        notes["jax"] = "not installed"
    else:
        jax.config.update("jax_enable_x64", True)
        jnn = jax.nn

        def f_jax(a, b):
            return (a + jnn.sigmoid(b)) / (jnn.sigmoid(a) + (a + b) ** 2)

        vg = jax.jit(jax.vmap(jax.value_and_grad(f_jax, argnums=(0, 1))))

        def run_jax():
            value, (gx, gy) = jax.block_until_ready(vg(x, y))
            return np.asarray(value), np.asarray(gx), np.asarray(gy)

        start = time.perf_counter()
        first = run_jax()
        notes["jax first call s"] = time.perf_counter() - start  # trace + compile + run
        assert first[0].dtype == np.float64, first[0].dtype
        notes["jax devices"] = [str(d) for d in jax.devices()]
        x_device, y_device = jax.device_put(x), jax.device_put(y)

        def run_jax_device():  # the computation alone: inputs already on the device, outputs left there
            value, (gx, gy) = jax.block_until_ready(vg(x_device, y_device))
            return value, gx, gy

        engines["jax jit(vmap(value_and_grad))"] = run_jax
        engines["jax, arrays kept on device"] = run_jax_device

    try:
        import torch
    except ImportError:
        notes["torch"] = "not installed"
    else:
        if TORCH_THREADS:
            torch.set_num_threads(TORCH_THREADS)
        notes["torch threads"] = torch.get_num_threads()

        def f_torch(a, b):
            return (a + torch.sigmoid(b)) / (torch.sigmoid(a) + (a + b) ** 2)

        def run_torch_autograd():
            tx = torch.from_numpy(x).requires_grad_()
            ty = torch.from_numpy(y).requires_grad_()
            value = f_torch(tx, ty)
            gx, gy = torch.autograd.grad(value.sum(), (tx, ty))
            return value.detach().numpy(), gx.numpy(), gy.numpy()

        per_point = torch.func.vmap(torch.func.grad_and_value(f_torch, argnums=(0, 1)))

        def run_torch_vmap():
            (gx, gy), value = per_point(torch.from_numpy(x), torch.from_numpy(y))
            return value.numpy(), gx.numpy(), gy.numpy()

        engines["torch autograd, grad(f.sum())"] = run_torch_autograd
        engines["torch.func vmap(grad_and_value)"] = run_torch_vmap
    return engines


def check_engines(engines: dict, x: np.ndarray, y: np.ndarray) -> dict:
    """Every engine against hand NumPy; gradcli's batch against its scalar evaluate()."""
    import gradcli
    from gradcli.batch import evaluate_batch

    result = evaluate_batch(gradcli.parse(FUNCTION), {"x": x, "y": y})
    assert not result.errors, f"unexpected domain errors: {dict(list(result.errors.items())[:3])}"
    gradcli_out = (result.values, result.gradient["x"], result.gradient["y"])
    for array in gradcli_out:
        assert isinstance(array, np.ndarray) and array.shape == x.shape and array.dtype == np.float64
        assert np.all(np.isfinite(array))
    hand = hand_value_and_grad(x, y)
    scales = term_scales(x, y)
    report = {"hand NumPy vs gradcli": agreement(gradcli_out, hand, scales)}
    worst = worst_rel(report["hand NumPy vs gradcli"])
    assert worst <= AGREE_RTOL, f"hand NumPy and gradcli disagree: {report['hand NumPy vs gradcli']}"

    # gradcli's batch engine against its own scalar engine at a sample of the points
    picks = np.random.default_rng(SEED + 1).choice(len(x), size=min(SCALAR_SAMPLE, len(x)), replace=False)
    scalar = [gradcli.evaluate(FUNCTION, {"x": float(x[i]), "y": float(y[i])}) for i in picks]
    scalar_out = (
        np.array([e.value for e in scalar]),
        np.array([e.gradient["x"] for e in scalar]),
        np.array([e.gradient["y"] for e in scalar]),
    )
    report["gradcli batch vs gradcli.evaluate (sample)"] = agreement(
        scalar_out, tuple(a[picks] for a in gradcli_out), tuple(s[picks] for s in scales)
    )
    worst_scalar = worst_rel(report["gradcli batch vs gradcli.evaluate (sample)"])
    assert worst_scalar <= AGREE_RTOL, f"batch and scalar engines disagree: {report}"

    for name, run in engines.items():
        if name in ("gradcli", "hand NumPy"):
            continue
        report[f"{name} vs hand NumPy"] = agreement(hand, run(), scales)
    return report


# -- timing -------------------------------------------------------------------------------------


def time_per_call(fn, number: int, faults: list | None = None) -> float:
    """Seconds per call of fn over `number` calls; appends minor page faults per call to `faults`."""
    gc.collect()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt if faults is not None else 0
    start = time.perf_counter()
    for _ in range(number):
        fn()
    elapsed = (time.perf_counter() - start) / number
    if faults is not None:
        faults.append((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / number)
    return elapsed


def calibrate(fn, min_time: float) -> int:
    """Calls per timing so that one timing lasts at least min_time seconds."""
    fn()  # warm-up
    single = time_per_call(fn, 1)
    if single >= min_time:
        return 1
    number = max(1, math.ceil(min_time / max(single, 1e-7)))
    per_call = time_per_call(fn, number)  # the first call may be cold: measure once more
    return max(1, math.ceil(min_time / max(per_call, 1e-7)))


def summary(values: list[float]) -> dict:
    return {"min": min(values), "median": statistics.median(values), "all": values}


def keep_freed_memory() -> bool:
    """Make glibc keep freed memory for reuse (mallopt), as MALLOC_MMAP_THRESHOLD_ and
    MALLOC_TRIM_THRESHOLD_ would: large temporaries then come from the heap and are
    not returned to the OS, so no page is faulted in again. False if not glibc."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    # 32 MiB is glibc's largest mmap threshold (64-bit); 10^6 doubles are 8 MB
    return bool(mallopt(m_mmap_threshold, 32 << 20)) and bool(mallopt(m_trim_threshold, 1 << 30))


def measure_in_process(n: int, repeats: int, min_time: float, optional: bool, section: str) -> dict:
    x, y = make_points(n)
    notes: dict = {}
    engines = build_engines(x, y, notes, optional)
    checks = check_engines(engines, x, y)
    numbers = {name: calibrate(run, min_time) for name, run in engines.items()}
    times = {name: [] for name in engines}
    faults = {name: [] for name in engines}
    rng = random.Random(SEED + n)
    for _ in range(repeats):
        order = list(engines)
        rng.shuffle(order)
        for name in order:
            times[name].append(time_per_call(engines[name], numbers[name], faults[name]))
    hand = times["hand NumPy"]
    result = {"n": n, "section": section, "optional_engines": optional, "calls_per_timing": numbers, "notes": notes,
              "checks": checks,
              "engines": {}}
    for name, ts in times.items():
        ratios = [h / t for h, t in zip(hand, ts)]  # points/s relative to hand NumPy, same repeat
        result["engines"][name] = {
            "seconds_per_call": summary(ts),
            "points_per_second": {"at_min": n / min(ts), "at_median": n / statistics.median(ts)},
            "x_hand": {"median": statistics.median(ratios), "of_mins": min(hand) / min(ts), "all": ratios},
            # memory the allocator hands back to the OS and takes again costs a page fault per 4 KiB
            "minor_page_faults_per_call": statistics.median(faults[name]),
        }
    return result


# -- whole process --------------------------------------------------------------------------------


def gradcli_command(override: str | None) -> tuple[list[str], str]:
    if override:
        return override.split(), f"--gradcli-command {override!r}"
    script = Path(sys.executable).parent / "gradcli"
    if script.exists():
        return [str(script)], f"console script {script}"
    return [sys.executable, "-m", "gradcli"], f"{sys.executable} -m gradcli (no console script next to it)"


def write_points_csv(path: Path, x: np.ndarray, y: np.ndarray) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("x,y\n")
        handle.writelines(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), y.tolist()))


def read_output_csv(path: Path) -> tuple[list[str], np.ndarray]:
    with open(path, encoding="utf-8") as handle:
        header = handle.readline().strip().split(",")
        data = np.loadtxt(handle, delimiter=",", ndmin=2)
    return header, data


def run_process(cmd: list[str], out_path: Path | None, env: dict) -> tuple[float, str]:
    gc.collect()
    with open(out_path if out_path is not None else os.devnull, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
        elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:3]}... exited {proc.returncode}: {proc.stderr.decode(errors='replace')[-2000:]}")
    return elapsed, proc.stderr.decode(errors="replace")


def measure_process(n: int, repeats: int, gradcli_cmd: list[str], workdir: Path) -> dict:
    x, y = make_points(n)
    in_csv = workdir / f"points_{n}.csv"
    write_points_csv(in_csv, x, y)
    out_gradcli = workdir / f"gradcli_{n}.csv"
    out_hand = workdir / f"hand_{n}.csv"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["NO_COLOR"] = "1"
    commands = {
        "gradcli eval --points --format csv": (gradcli_cmd + ["eval", FUNCTION, "--points", str(in_csv), "--format", "csv"], out_gradcli),
        "hand NumPy script": ([sys.executable, str(Path(__file__).resolve()), "--hand-csv", str(in_csv)], out_hand),
        'python -c "import numpy"': ([sys.executable, "-c", "import numpy"], None),
    }
    # untimed warm-up (page cache, gradcli's parser cache), and the check of the outputs
    for cmd, out in commands.values():
        run_process(cmd, out, env)
    check = compare_outputs(out_gradcli, out_hand, x, y)
    times = {name: [] for name in commands}
    phases = []
    rng = random.Random(SEED - n)
    for _ in range(repeats):
        order = list(commands)
        rng.shuffle(order)
        for name in order:
            cmd, out = commands[name]
            elapsed, stderr = run_process(cmd, out, env)
            times[name].append(elapsed)
            if name == "hand NumPy script":
                phases.append(json.loads(stderr.strip().splitlines()[-1]))
    g, h = times["gradcli eval --points --format csv"], times["hand NumPy script"]
    ratios = [a / b for a, b in zip(g, h)]
    return {
        "n": n,
        "input_csv_bytes": in_csv.stat().st_size,
        "output_csv_bytes": {"gradcli": out_gradcli.stat().st_size, "hand": out_hand.stat().st_size},
        "seconds": {name: summary(ts) for name, ts in times.items()},
        "gradcli_over_hand_time": {"median": statistics.median(ratios), "of_mins": min(g) / min(h), "all": ratios},
        "hand_phases_s": {k: summary([p[k] for p in phases]) for k in phases[0]},
        "outputs": check,
    }


def compare_outputs(gradcli_csv: Path, hand_csv: Path, x: np.ndarray, y: np.ndarray) -> dict:
    g_header, g = read_output_csv(gradcli_csv)
    h_header, h = read_output_csv(hand_csv)
    assert g.shape == h.shape == (len(x), 5), (g.shape, h.shape)
    result = {
        "gradcli_header": g_header,
        "hand_header": h_header,
        "rows": int(g.shape[0]),
        "inputs_echoed_exactly": bool(np.array_equal(g[:, 0], x) and np.array_equal(g[:, 1], y)),
        "columns": agreement((h[:, 2], h[:, 3], h[:, 4]), (g[:, 2], g[:, 3], g[:, 4]), term_scales(x, y)),
    }
    result["identical_numbers"] = bool(np.array_equal(g, h))
    # gradcli's CSV against its in-process engine on the same doubles: the text must round-trip exactly
    import gradcli
    from gradcli.batch import evaluate_batch

    engine = evaluate_batch(gradcli.parse(FUNCTION), {"x": x, "y": y})
    in_process = np.column_stack((x, y, engine.values, engine.gradient["x"], engine.gradient["y"]))
    result["gradcli_csv_numbers_differing_from_in_process"] = int(np.count_nonzero(g != in_process))
    assert result["inputs_echoed_exactly"], "gradcli's CSV does not echo the input points exactly"
    assert worst_rel(result["columns"]) <= AGREE_RTOL, f"CSV outputs disagree: {result['columns']}"
    return result


# -- profile -------------------------------------------------------------------------------------


def node_breakdown(n: int, rounds: int = 15, min_time: float = 0.02) -> dict:
    """Where evaluate_batch's time goes, node by node, without a profiler (seconds per call).

    Replays the engine's work from the op table: each node's array forward and
    its partials (with ops.array_math(numpy) as the math namespace), on arrays of
    n rows, and the engine's check of the inputs (one sum per input column; other
    non-finite numbers are found by NumPy's floating-point flags, at no cost).
    What is left of evaluate_batch is the adjoint products and sums, chunking and
    Python overhead. Every piece is timed in each of `rounds` rounds, round-robin,
    and its min is kept, so a burst of load on the shared machine hits one round,
    not one piece. The sigmoid partials are replayed with their forward's output,
    so they find its exp(-x) in the residual cache, as in the engine. Uses the op
    table's fields as they are on 2026-11-23 (array_forward, constant_args).
    """
    import gradcli
    from gradcli.batch import evaluate_batch
    from gradcli.graph import depends_on
    from gradcli.ops import array_math

    math_ns = array_math(np)
    x, y = make_points(n)
    graph = gradcli.parse(FUNCTION)
    columns = {"x": x, "y": y}
    varies = depends_on(graph)
    values: list = [node.constant for node in graph.nodes]
    pieces: dict = {}  # (node id or label, kind) -> callable
    nodes = []
    with np.errstate(all="ignore"):
        for node in graph.nodes:
            op = node.op
            if op.forward is None:
                if node.constant is None:
                    values[node.id] = columns[graph.label(node)]
                continue
            forward = op.array_forward(np) if getattr(op, "array_forward", None) else op.forward
            args = [values[a] for a in node.args]
            out = values[node.id] = forward(*args)
            if getattr(op, "constant_args", False):
                partials = functools.partial(op.partials, args, out, math_ns, varies[node.args[-1]])
            else:
                partials = functools.partial(op.partials, args, out, math_ns)
            pieces[(node.id, "forward")] = functools.partial(forward, *args)
            pieces[(node.id, "partials")] = partials
            nodes.append({"node": node.id, "op": op.name, "text": graph.text(node, 30)})
        pieces[("evaluate_batch", "")] = functools.partial(evaluate_batch, graph, columns)
        pieces[("input sums", "")] = lambda: np.add.reduce(x) + np.add.reduce(y)
        # the per-call set-up, where it exists under this (private) name
        import gradcli.batch as batch_module

        plan = getattr(batch_module, "_Plan", None)
        if plan is not None:
            pieces[("plan", "")] = functools.partial(plan, graph, graph.output)
        pieces[("hand NumPy", "")] = functools.partial(hand_value_and_grad, x, y)
        yardsticks = {
            "np.exp(x)": functools.partial(np.exp, x),
            "x * y": functools.partial(np.multiply, x, y),
            "np.where(x <= 0.5, x, y)": lambda: np.where(x <= 0.5, x, y),
            "x.sum()": x.sum,
        }
        for label, fn in yardsticks.items():
            pieces[(label, "yardstick")] = fn
        numbers = {key: calibrate(fn, min_time) for key, fn in pieces.items()}
        best = {key: math.inf for key in pieces}
        for _ in range(rounds):
            for key, fn in pieces.items():
                best[key] = min(best[key], time_per_call(fn, numbers[key]))
    for row in nodes:
        for kind in ("forward", "partials"):
            row[f"{kind}_s"] = best[(row["node"], kind)]
    return {
        "n": n,
        "rounds": rounds,
        "nodes": nodes,
        "evaluate_batch_s": best[("evaluate_batch", "")],
        "input_sums_s": best[("input sums", "")],
        "plan_s": best.get(("plan", "")),
        "hand_s": best[("hand NumPy", "")],
        "yardsticks_s": {label: best[(label, "yardstick")] for label in yardsticks},
    }


def print_breakdown(result: dict) -> None:
    n = result["n"]
    print(f"\nnode by node, n = {n:,} (microseconds per call, min of {result['rounds']} round-robin rounds;"
          " the op table's array forms replayed outside the engine)")
    print(f"  {'node':>4} {'op':8} {'text':32} {'forward':>9} {'partials':>9}")
    sums = {"forward_s": 0.0, "partials_s": 0.0}
    for r in result["nodes"]:
        print(f"  {r['node']:>4} {r['op']:8} {r['text']:32} {r['forward_s'] * 1e6:>9.1f} {r['partials_s'] * 1e6:>9.1f}")
        for key in sums:
            sums[key] += r[key]
    print(f"  {'':4} {'total':8} {'':32} {sums['forward_s'] * 1e6:>9.1f} {sums['partials_s'] * 1e6:>9.1f}")
    total = result["evaluate_batch_s"]
    checks = result["input_sums_s"]
    rest = total - sum(sums.values()) - checks
    print(f"  evaluate_batch {total * 1e6:.1f} us = forwards {sums['forward_s'] * 1e6:.1f} + partials {sums['partials_s'] * 1e6:.1f}"
          f" + input sums {checks * 1e6:.1f} + the rest (adjoint products and sums, chunking, Python) {rest * 1e6:.1f}")
    if result.get("plan_s") is not None:
        print(f"  (the plan, gradcli.batch._Plan(graph), made once per graph and not part of a call: {result['plan_s'] * 1e6:.1f} us)")
    print(f"  hand NumPy {result['hand_s'] * 1e6:.1f} us; yardsticks at this n: "
          + ", ".join(f"{k} {v * 1e6:.1f} us" for k, v in result["yardsticks_s"].items()))


def profile(n: int, top: int) -> None:
    import cProfile
    import pstats

    import gradcli
    from gradcli.batch import evaluate_batch

    print_breakdown(node_breakdown(n))
    x, y = make_points(n)
    graph = gradcli.parse(FUNCTION)
    columns = {"x": x, "y": y}
    calls = calibrate(lambda: evaluate_batch(graph, columns), 2.0)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        evaluate_batch(graph, columns)
    profiler.disable()
    print(f"\ncProfile of {calls} evaluate_batch calls, n = {n:,} (a NumPy ufunc's time is charged to the function calling it)")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


# -- report ----------------------------------------------------------------------------------------


def git_state() -> dict:
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "gradcli"], capture_output=True, text=True).stdout.split("\n")
    except OSError:
        return {}
    return {"commit": commit, "gradcli_changes_not_committed": [line for line in dirty if line.strip()]}


def source_digest(package_dir: Path) -> str:
    """sha256 of the package's .py files (the installed copy may differ from any commit)."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(package_dir.rglob("*.py")):
        digest.update(path.relative_to(package_dir).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def print_in_process(result: dict) -> None:
    n = result["n"]
    print(f"\nin-process, n = {n:,} points, {result['section']} (per call: value + both partials)")
    print(f"  {'engine':34} {'calls':>6} {'ms/call min':>12} {'median':>9} {'Mpts/s (min)':>13} {'x hand (med)':>13}"
          f" {'x hand (mins)':>14} {'faults/call':>12}")
    for name, r in result["engines"].items():
        s = r["seconds_per_call"]
        print(
            f"  {name:34} {result['calls_per_timing'][name]:>6} {s['min'] * 1e3:>12.3f} {s['median'] * 1e3:>9.3f} "
            f"{r['points_per_second']['at_min'] / 1e6:>13.2f} {r['x_hand']['median']:>13.2f} {r['x_hand']['of_mins']:>14.2f}"
            f" {r['minor_page_faults_per_call']:>12.1f}"
        )
    for key, value in result["notes"].items():
        print(f"  note: {key}: {value}")
    print("  agreement: worst |a-b| relative to the sum of the magnitudes of the terms (plain |a-b|/max(|a|,|b|)):")
    for key, report in result["checks"].items():
        parts = ", ".join(
            f"{label} {entry['max_rel_terms']:.1e} ({entry['max_rel_plain']:.1e} plain)" for label, entry in report.items()
        )
        print(f"    {key}: {parts}")


def print_process(result: dict, how: str) -> None:
    print(f"\nwhole process, {result['n']:,} rows CSV in -> CSV out ({how}; input {result['input_csv_bytes'] / 1e6:.1f} MB)")
    print(f"  {'command':38} {'s min':>8} {'median':>8}")
    for name, s in result["seconds"].items():
        print(f"  {name:38} {s['min']:>8.3f} {s['median']:>8.3f}")
    r = result["gradcli_over_hand_time"]
    print(f"  gradcli time / hand script time: median {r['median']:.2f}, of mins {r['of_mins']:.2f}")
    p = result["hand_phases_s"]
    print("  hand script inside (median s): " + ", ".join(f"{k[:-2]} {v['median']:.3f}" for k, v in p.items()))
    o = result["outputs"]
    print(f"  outputs: gradcli header {','.join(o['gradcli_header'])}; gradcli's CSV numbers that differ from its in-process"
          f" results: {o['gradcli_csv_numbers_differing_from_in_process']}; gradcli and hand CSV identical: {o['identical_numbers']}; "
          + ", ".join(f"{k} worst rel {v['max_rel_terms']:.1e} ({v['max_rel_plain']:.1e} plain)" for k, v in o["columns"].items()))


def targets(report: dict) -> list[str]:
    lines = []
    for r in report.get("in_process", []):
        ratio = r["engines"]["gradcli"]["x_hand"]
        met = ratio["median"] >= TARGET_RATIO
        lines.append(
            f"target {'met' if met else 'MISSED'}: in-process n = {r['n']:,}: gradcli at {ratio['median']:.2f}x hand NumPy "
            f"(median of per-repeat ratios; {ratio['of_mins']:.2f}x by the mins), target >= {TARGET_RATIO}x"
        )
    for key, label in (("in_process_steady", "allocator keeping freed memory"), ("in_process_all", "with every engine installed")):
        for r in report.get(key, []):
            ratio = r["engines"]["gradcli"]["x_hand"]
            met = ratio["median"] >= TARGET_RATIO
            lines.append(
                f"target {'met' if met else 'MISSED'} ({label}): in-process n = {r['n']:,}: gradcli at "
                f"{ratio['median']:.2f}x hand NumPy ({ratio['of_mins']:.2f}x by the mins)"
            )
    for r in report.get("process", []):
        if r["n"] != CSV_TARGET_ROWS:
            continue
        s = r["seconds"]["gradcli eval --points --format csv"]
        met = s["median"] < TARGET_CSV_S
        lines.append(
            f"target {'met' if met else 'MISSED'}: {r['n']:,} points CSV to CSV in {s['median']:.2f} s median "
            f"({s['min']:.2f} s min), target < {TARGET_CSV_S} s"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000], help="numbers of points")
    parser.add_argument("--repeats", type=int, default=5, help="repeats per measurement (default 5)")
    parser.add_argument("--min-time", type=float, default=0.2, help="seconds per in-process timing (loop of calls)")
    parser.add_argument("--json-out", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--no-process", action="store_true", help="skip the whole-process (CSV) measurements")
    parser.add_argument("--no-in-process", action="store_true", help="skip the in-process measurements")
    parser.add_argument("--no-optional", action="store_true", help="do not measure (or import) jax and torch")
    parser.add_argument("--no-steady", action="store_true",
                        help="skip the second in-process measurement, with the allocator keeping freed memory")
    parser.add_argument("--gradcli-command", metavar="CMD", help="how to run gradcli (default: the console script next to sys.executable)")
    parser.add_argument("--torch-threads", type=int, default=1, metavar="N",
                        help="torch.set_num_threads(N) (default 1, as NumPy; 0: torch's own choice)")
    parser.add_argument("--keep", metavar="DIR", help="write the CSV files here and keep them (default: a temporary directory)")
    parser.add_argument("--profile", type=int, metavar="N", help="only print where evaluate_batch spends its time at N points (node by node, and cProfile)")
    parser.add_argument("--top", type=int, default=25, help="lines of profile output (default 25)")
    parser.add_argument("--hand-csv", metavar="IN", help=argparse.SUPPRESS)  # the hand-written CSV script
    args = parser.parse_args(argv)

    if args.hand_csv:
        return hand_csv_main(args.hand_csv)
    global TORCH_THREADS
    TORCH_THREADS = args.torch_threads
    if args.profile:
        profile(args.profile, args.top)
        return 0

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from machine_info import host

    import gradcli

    info = host()
    versions = optional_versions()
    report = {
        "host": info,
        "python": platform.python_version(),
        "executable": sys.executable,
        "gradcli": {
            "version": gradcli.__version__,
            "file": str(Path(gradcli.__file__).parent),
            "source_sha256": source_digest(Path(gradcli.__file__).parent),
            **git_state(),
        },
        "versions": versions,
        "function": FUNCTION,
        "points": f"uniform in [{LOW}, {HIGH}]^2, numpy default_rng({SEED})",
        "repeats": args.repeats,
        "min_time": args.min_time,
        "agree_rtol": AGREE_RTOL,
        # glibc's allocator settings change the cost of NumPy's temporaries (see the docstring)
        "malloc_env": {k: v for k, v in os.environ.items() if k.startswith("MALLOC_") or k == "GLIBC_TUNABLES"},
    }
    print(f"bench_batch  {info['date']}  {info['machine']}  nproc {info['nproc']}  CPU {info['cpu']}")
    print(f"load average at start {' '.join(f'{v:.2f}' for v in info['loadavg_at_start'])}")
    print(f"Python {report['python']} ({sys.executable}); gradcli {gradcli.__version__} from {report['gradcli']['file']}"
          f" (source sha256 {report['gradcli']['source_sha256']}; repository at {report['gradcli'].get('commit', '?')},"
          f" uncommitted changes under gradcli/: {len(report['gradcli'].get('gradcli_changes_not_committed', []))})")
    print("versions: " + ", ".join(f"{k} {v or 'not installed'}" for k, v in versions.items()))
    print(f"f(x, y) = {FUNCTION}; points {report['points']}; {args.repeats} repeats")
    print("allocator settings: " + (" ".join(f"{k}={v}" for k, v in report["malloc_env"].items()) or "glibc defaults"))

    if not args.no_in_process:
        # 1. gradcli and hand NumPy, with the allocator as the process starts (glibc's
        #    defaults, unless MALLOC_* says otherwise), jax and torch not imported: a
        #    process as a gradcli user has it.
        # 2. the same after keep_freed_memory(): no page faults, the arithmetic alone.
        # 3. every engine, jax and torch imported, allocator as in 2.
        allocator = "allocator " + (" ".join(f"{k}={v}" for k, v in report["malloc_env"].items()) or "glibc defaults")
        sections = [("in_process", f"gradcli and hand NumPy, {allocator}", False)]
        report["keep_freed_memory"] = None
        plan_steady = not args.no_steady
        for key, label, optional in sections + [("in_process_steady", "", False), ("in_process_all", "", True)]:
            if key == "in_process_steady":
                if not plan_steady:
                    continue
                report["keep_freed_memory"] = keep_freed_memory()
                if not report["keep_freed_memory"]:
                    print("\n(mallopt not available: no measurement with the allocator keeping freed memory)")
                    continue
                label = "gradcli and hand NumPy, allocator keeping freed memory (mallopt)"
            if key == "in_process_all":
                if args.no_optional:
                    continue
                label = "every engine installed (jax and torch imported where installed), " + (
                    "allocator keeping freed memory" if report["keep_freed_memory"] else allocator
                )
            report[key] = []
            for n in args.sizes:
                result = measure_in_process(n, args.repeats, args.min_time, optional, label)
                report[key].append(result)
                print_in_process(result)

    if not args.no_process:
        cmd, how = gradcli_command(args.gradcli_command)
        report["gradcli_command"] = how
        report["process"] = []
        with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
            workdir = Path(args.keep) if args.keep else Path(tmp)
            workdir.mkdir(parents=True, exist_ok=True)
            for n in args.sizes:
                result = measure_process(n, args.repeats, cmd, workdir)
                report["process"].append(result)
                print_process(result, how)

    report["targets"] = targets(report)
    report["loadavg_at_end"] = os.getloadavg()
    print()
    for line in report["targets"]:
        print(line)
    print(f"load average at end {' '.join(f'{v:.2f}' for v in report['loadavg_at_end'])}")
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=1)
        print(f"wrote {args.json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

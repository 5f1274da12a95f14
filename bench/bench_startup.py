"""Start-up benchmark: the headline command's wall time against bare Python.

Runs these commands side by side, in interleaved rounds (each round runs
every command once, in a shuffled order; one untimed warm-up round first,
which also fills gradcli's parser cache), and reports the median and min wall
time of each and its ratio to `python -c pass`:

  python -c pass                          the floor: interpreter start-up
  python -c "import click"                the one dependency the --json path imports
                                          (the parser comes from gradcli's cache, see
                                          gradcli/lalr.py; lark is imported only to
                                          generate it)
  python -c "import click, lark"          what the --json path imported before that
  python -c "import click, lark, rich"    the cost of importing all the dependencies
  gradcli eval ... --json (script)        the headline, via the console script
                                          installed next to the interpreter
  gradcli eval ... --json (-m)            the headline, via `python -m gradcli`
  gradcli eval ...        (script)        the headline with human output (rich)

Wall time is measured around subprocess.run (fork/exec included, output sent
to /dev/null), so every row pays the same process-creation cost.

Use --python to benchmark another interpreter, e.g. one in a clean virtual
environment (recommended; see bench/README.md):

    python3 -m venv /tmp/bench-venv && /tmp/bench-venv/bin/pip install /work/main
    python3 bench/bench_startup.py --python /tmp/bench-venv/bin/python
    python3 bench/bench_startup.py --python /tmp/bench-venv/bin/python --importtime 15

Only the standard library is needed to run this script.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from machine_info import host

HEADLINE = ["eval", "(a+b)*(b+1)", "a=2", "b=1"]
TARGET_RATIO = 6.0  # headline --json within 6x of `python -c pass`


def commands(python: str) -> list[tuple[str, list[str]]]:
    script = Path(python).parent / "gradcli"
    rows = [
        ("python -c pass", [python, "-c", "pass"]),
        ('python -c "import click"', [python, "-c", "import click"]),
        ('python -c "import click, lark"', [python, "-c", "import click, lark"]),
        ('python -c "import click, lark, rich"', [python, "-c", "import click, lark, rich"]),
    ]
    if script.is_file():
        rows.append(("gradcli eval ... --json   [script]", [str(script), *HEADLINE, "--json"]))
    rows.append(("gradcli eval ... --json   [-m]", [python, "-m", "gradcli", *HEADLINE, "--json"]))
    if script.is_file():
        rows.append(("gradcli eval ... (human) [script]", [str(script), *HEADLINE]))
    else:
        rows.append(("gradcli eval ... (human) [-m]", [python, "-m", "gradcli", *HEADLINE]))
    return rows


def run_once(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"command failed with exit code {done.returncode}: {argv}")
    return elapsed


def check_headline(argv: list[str], env: dict[str, str]) -> None:
    """The warm-up also checks that the headline computes the right thing."""
    out = subprocess.run(argv, capture_output=True, text=True, env=env, check=True).stdout
    data = json.loads(out)
    if data["value"] != 6 or data["gradient"] != {"a": 2, "b": 5}:
        raise SystemExit(f"unexpected headline output: {out[:200]}")


def _importtime_rows(argv: list[str], env: dict[str, str], runs: int = 5) -> list[dict]:
    """Parsed `-X importtime` lines of the run with the smallest total (the least noisy)."""
    best = None
    for _ in range(runs):
        err = subprocess.run(argv, capture_output=True, text=True, env=env, check=True).stderr
        rows = []
        for line in err.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            self_us, cumulative_us, name = line[len("import time:"):].split("|")
            name = name[1:].rstrip()
            level = (len(name) - len(name.lstrip())) // 2
            rows.append({"module": name.strip(), "level": level, "self_us": int(self_us),
                         "cumulative_us": int(cumulative_us), "parent": None})
        # -X importtime prints a module after everything it imports: the parent of a
        # line at level L is the next line at level L-1.
        for i, row in enumerate(rows):
            for later in rows[i + 1:]:
                if later["level"] < row["level"]:
                    row["parent"] = later["module"]
                    break
        total = sum(r["self_us"] for r in rows)
        if best is None or total < best[0]:
            best = (total, rows)
    return best[1]


def importtime(python: str, top: int, env: dict[str, str]) -> dict:
    """What the headline --json command imports, biggest first, and what it adds to click."""
    rows = _importtime_rows([python, "-X", "importtime", "-m", "gradcli", *HEADLINE, "--json"], env)
    floor = _importtime_rows([python, "-X", "importtime", "-c", "import click"], env)
    bare = _importtime_rows([python, "-X", "importtime", "-c", "pass"], env)
    total = sum(r["self_us"] for r in rows)
    print(f"\n-X importtime of `python -m gradcli {' '.join(HEADLINE)} --json` (best of 5 runs): "
          f"{len(rows)} modules, {total / 1000:.1f} ms of imports "
          f"(`-c pass`: {len(bare)} modules, {sum(r['self_us'] for r in bare) / 1000:.1f} ms)")
    print(f"{'self ms':>8} {'cumul ms':>9}  {'module':<28} imported by")
    for r in sorted(rows, key=lambda r: -r["cumulative_us"])[:top]:
        print(f"{r['self_us'] / 1000:8.1f} {r['cumulative_us'] / 1000:9.1f}  {r['module']:<28} {r['parent'] or '-'}")
    floor_names = {r["module"] for r in floor}
    extra = [r for r in rows if r["module"] not in floor_names]
    extra_ms = sum(r["self_us"] for r in extra) / 1000
    print(f"\nbeyond `import click` ({len(floor)} modules, {sum(r['self_us'] for r in floor) / 1000:.1f} ms), "
          f"the command imports {len(extra)} modules costing {extra_ms:.1f} ms (self time); the biggest:")
    for r in sorted(extra, key=lambda r: -r["self_us"])[:top]:
        print(f"{r['self_us'] / 1000:8.1f}  {r['module']:<28} imported by {r['parent'] or '-'}")
    return {"headline": rows, "click": floor, "pass": bare}


def machine(python: str) -> dict:
    version = subprocess.run(
        [python, "-c", "import sys, importlib.metadata as m; "
         "print(sys.version.split()[0], *(m.version(p) for p in ('click', 'lark', 'rich', 'gradcli')))"],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    return {
        **host(),
        "python": python,
        "python_version": version[0],
        "click": version[1],
        "lark": version[2],
        "rich": version[3],
        "gradcli": version[4],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable, help="interpreter to benchmark (default: this one)")
    parser.add_argument("--rounds", type=int, default=20, help="timed rounds (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the per-round shuffle")
    parser.add_argument("--json-out", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--importtime", type=int, metavar="N", default=0,
                        help="also list the N biggest imports of the headline --json command")
    args = parser.parse_args(argv)

    python = os.path.abspath(args.python)
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # measure the interpreter's own environment
    env["NO_COLOR"] = "1"  # deterministic human output (it goes to /dev/null anyway)
    rows = commands(python)
    info = machine(python)
    print(f"{info['python']} (Python {info['python_version']}; gradcli {info['gradcli']}, click {info['click']}, "
          f"lark {info['lark']}, rich {info['rich']})")
    print(f"{info['machine']}, {info['nproc']} CPUs ({info['cpu']}), {info['date']}; "
          f"{args.rounds} interleaved rounds after 1 warm-up round; "
          f"load average {' '.join(f'{x:.2f}' for x in info['loadavg_at_start'])}\n")

    for label, cmd in rows:  # warm-up: byte-code and grammar caches, page cache
        if "--json" in cmd:
            check_headline(cmd, env)
        run_once(cmd, env)

    times: dict[str, list[float]] = {label: [] for label, _ in rows}
    rng = random.Random(args.seed)
    for _ in range(args.rounds):
        order = list(rows)
        rng.shuffle(order)
        for label, cmd in order:
            times[label].append(run_once(cmd, env))

    base_median = statistics.median(times["python -c pass"])
    base_min = min(times["python -c pass"])
    print(f"{'command':<38} {'median ms':>10} {'min ms':>8} {'x pass (median)':>16} {'x pass (min)':>13}")
    print("-" * 89)
    results = []
    for label, cmd in rows:
        t = times[label]
        med, lo = statistics.median(t), min(t)
        results.append({"command": label, "argv": cmd, "median_s": med, "min_s": lo,
                        "ratio_median": med / base_median, "ratio_min": lo / base_min, "all_s": t})
        print(f"{label:<38} {med * 1e3:10.1f} {lo * 1e3:8.1f} {med / base_median:16.2f} {lo / base_min:13.2f}")

    headline = next(r for r in results if "--json" in r["command"])
    verdict = "met" if headline["ratio_median"] <= TARGET_RATIO else "MISSED"
    print(f"\ntarget: headline --json within {TARGET_RATIO:g}x of `python -c pass`: "
          f"{headline['ratio_median']:.2f}x (median), {headline['ratio_min']:.2f}x (min): {verdict}")

    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    imports = importtime(python, args.importtime, env) if args.importtime else None

    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as handle:
            json.dump({"machine": info, "rounds": args.rounds, "results": results,
                       "target_ratio": TARGET_RATIO, "importtime": imports}, handle, indent=2)
        print(f"\nwrote {args.json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Start-up time of the `scb-nb` console script: `--version` and `--help` beside a bare interpreter and `import torch`.

Each command is run as a fresh subprocess, the commands interleaved round by round so that a change in the machine's
load hits all of them alike; the table reports the median wall time of the rounds and ratios to `python -c pass` and to
`python -c "import torch"`. The target is under 1 s for `--version` and `--help` (they import neither torch nor any
chapter: `scb_nb.cli` imports the runner lazily).

Usage: .venv/bin/python benchmarks/bench_cli.py [--repeats 5]
"""
import argparse, statistics, subprocess, sys, time
from pathlib import Path

TARGET_S = 1.0

def commands()->dict:
    "Name -> argv of each timed command (the console script if installed beside this Python, else `python -m scb_nb`)"
    script = Path(sys.executable).parent/'scb-nb'
    scb = [str(script)] if script.exists() else [sys.executable, '-m', 'scb_nb']
    py = sys.executable
    return {'python -c pass': [py, '-c', 'pass'],
            'python -c "import torch"': [py, '-c', 'import torch'],
            'scb-nb --version': scb + ['--version'],
            'scb-nb --help': scb + ['--help'],
            'python -m scb_nb --version': [py, '-m', 'scb_nb', '--version']}

def wall(argv:list)->float:
    "Seconds one run of `argv` takes, output discarded (it must succeed)"
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0

def bench(repeats:int)->dict:
    "Median wall seconds of each command over `repeats` interleaved rounds (after one untimed warm-up round)"
    cmds = commands()
    for argv in cmds.values(): wall(argv)   # warm the file cache
    times = {k: [] for k in cmds}
    for _ in range(repeats):
        for k, argv in cmds.items(): times[k].append(wall(argv))
    return {k: statistics.median(v) for k, v in times.items()}

def report(med:dict)->str:
    "The markdown table of medians and ratios"
    base, torch_s = med['python -c pass'], med['python -c "import torch"']
    rows = ['| command | median (ms) | × `python -c pass` | ÷ `import torch` |', '|---|---:|---:|---:|']
    rows += [f"| `{k}` | {v * 1e3:.0f} | {v / base:.1f} | {v / torch_s:.3f} |" for k, v in med.items()]
    worst = max(med['scb-nb --version'], med['scb-nb --help'])
    rows += ['', f"`--version`/`--help`: {worst:.3f} s at most, target < {TARGET_S:g} s: {'met' if worst < TARGET_S else 'NOT met'}"]
    return '\n'.join(rows)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--repeats', type=int, default=5, help='timed rounds (default: 5)')
    print(report(bench(ap.parse_args().repeats)))

"""How distml's training scales with rows: time and peak RSS of the normal-equation, L-BFGS
and gradient-boosted-tree fits of the taxi job, in-process and with 2 worker processes, on
generated months of 10M and 100M rows (and 1B with --big: the 100M month read ten times,
through a directory of ten links to it, as a year of monthly files is read; in process, and
the linear fits only: trees hold ~33 bytes a row of bins and gradients, 33 GB at 1B rows, and
distml refuses a tree fit its --memory-budget cannot hold).

Run by hand (not in CI), on a quiet machine:
    cargo build --release
    python3 experiments/scale.py [--rows 10000000,100000000] [--big] [--budget 2GiB]
                                 [--tree-budget 4GiB] [--fits normal,lbfgs,gbt] [--workers 0,2] [--dir DIR]

Goals (issue 18): time linear in rows; one-pass (normal) peak RSS within 1.5x from 10M to 100M
rows; multi-pass fits (L-BFGS, trees) within 1.5x of --memory-budget; 1B rows trained here.
Peak RSS is the largest process of the job (the coordinator or a worker), from wait4.
Generated files are kept in --dir (default experiments/.scale) and reused on the next run.
"""
import argparse
import json
import os
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DISTML = Path(os.environ.get("DISTML_BIN", ROOT / "target" / "release" / "distml"))
FITS = {
    "normal": ["--model", "linear", "--solver", "normal"],
    "lbfgs": ["--model", "linear", "--solver", "lbfgs", "--max-iter", "20"],
    "gbt": ["--model", "gbt", "--max-iter", "20", "--num-leaves", "31"],
}


def run(args):
    """Runs a command, failing loudly."""
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, args))} failed ({proc.returncode}):\n"
                         f"{proc.stderr[-2000:]}")


def run_measured(args):
    """Runs a job; returns (seconds, peak RSS in MiB of its largest process, summary JSON)."""
    start = time.perf_counter()
    pid = os.posix_spawn(str(args[0]), [str(a) for a in args], os.environ,
                         file_actions=[(os.POSIX_SPAWN_OPEN, 1, "/tmp/distml-scale.out",
                                        os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
                                       (os.POSIX_SPAWN_OPEN, 2, "/tmp/distml-scale.err",
                                        os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)])
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        err = Path("/tmp/distml-scale.err").read_text()[-2000:]
        raise SystemExit(f"{' '.join(map(str, args))} failed:\n{err}")
    out = Path("/tmp/distml-scale.out").read_text()
    return seconds, usage.ru_maxrss / 1024, json.loads(out.strip().splitlines()[-1])


def month(directory, rows):
    path = directory / f"yellow_tripdata_2023-01_{rows}.parquet"
    if not path.exists():
        tmp = path.with_suffix(".tmp.parquet")
        run([DISTML, "generate", "taxi", "--rows", str(rows), "--month", "2023-01",
             "--seed", "1", "--out", tmp])
        tmp.rename(path)
    return path


def year(directory):
    """A directory of ten links to the 100M-row month: 1B rows read as ten files."""
    source = month(directory, 100_000_000)
    links = directory / "year1b"
    links.mkdir(exist_ok=True)
    for i in range(10):
        link = links / f"part-{i}.parquet"
        if not link.exists():
            link.symlink_to(source.resolve())
    return links


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="10000000,100000000")
    parser.add_argument("--big", action="store_true",
                        help="also 1,000,000,000 rows (normal, lbfgs; in process)")
    parser.add_argument("--budget", default="2GiB")
    parser.add_argument("--tree-budget", default="4GiB",
                        help="the trees' budget: their bins and gradients take ~3.2 GiB at 100M")
    parser.add_argument("--fits", default="normal,lbfgs,gbt")
    parser.add_argument("--workers", default="0,2")
    parser.add_argument("--dir", default=str(ROOT / "experiments" / ".scale"))
    a = parser.parse_args()
    sizes = [int(r) for r in a.rows.split(",")]
    directory = Path(a.dir)
    directory.mkdir(parents=True, exist_ok=True)
    results = []
    print(f"{'rows':>13} {'fit':<7}{'workers':>8}{'seconds':>10}{'s/10M rows':>11}"
          f"{'peak RSS MiB':>14}{'blocks (mem/spill/stream)':>27}{'RMSE':>9}", flush=True)
    runs = [(rows, month(directory, rows), a.fits.split(","), a.workers.split(","))
            for rows in sizes]
    if a.big:
        runs.append((1_000_000_000, year(directory), ["normal", "lbfgs"], ["0"]))
    for rows, data, fits, worker_counts in runs:
        for fit in fits:
            for workers in (int(w) for w in worker_counts):
                args = [DISTML, "train", "--data", data, "--workers", str(workers),
                        "--memory-budget", a.tree_budget if fit == "gbt" else a.budget,
                        "--spill-dir", directory, *FITS[fit]]
                if workers:
                    args += ["--ps-shards", "1"]
                seconds, rss, summary = run_measured(args)
                b = summary.get("blocks", {})
                placed = f"{b.get('in_memory', 0)}/{b.get('spilled', 0)}/{b.get('streamed', 0)}"
                results.append((rows, fit, workers, seconds, rss))
                print(f"{rows:>13,} {fit:<7}{workers:>8}{seconds:>10.1f}"
                      f"{seconds / rows * 1e7:>11.2f}{rss:>14.0f}{placed:>27}"
                      f"{summary.get('train_metrics', {}).get('rmse', float('nan')):>9.4f}",
                      flush=True)
    print(f"--memory-budget {a.budget} ({a.tree_budget} for trees); peak RSS ratios, largest rows over smallest:")
    for fit in a.fits.split(","):
        for workers in (int(w) for w in a.workers.split(",")):
            same = [r for r in results if r[1] == fit and r[2] == workers]
            if len(same) > 1:
                first, last = same[0], same[-1]
                print(f"  {fit:<7} workers={workers}: RSS x{last[4] / first[4]:.2f}, "
                      f"time x{last[3] / first[3]:.2f} for rows x{last[0] / first[0]:.0f}")


if __name__ == "__main__":
    main()

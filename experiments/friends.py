"""Friend recommendation ("people you may know"): distml's map/reduce example, in-process and
with 2 worker processes, vs a PySpark RDD implementation (flatMap -> reduceByKey) on local[2],
on the same generated graph, in one run. The outputs are checked to be identical.

The PySpark job is the course's "pairs" formulation: each line of m emits ((f, g), 1) for every
ordered pair of m's friends and ((m, f), FRIEND) for every friendship; reduceByKey adds (a pair
with a FRIEND mark stays negative); the positive counts are grouped per user and the best 10
taken (ties by id). distml's example uses "stripes" (one candidate map per friend) with a
combiner; both compute the same function.

Run by hand on a quiet machine (not in CI):
    bash experiments/setup.sh && cargo build --release --examples
    experiments/.venv/bin/python experiments/friends.py [USERS]
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = Path(os.environ.get("DISTML_EXAMPLE",
                              ROOT / "target" / "release" / "examples" / "friend_recommendation"))
users = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
FRIEND = -(1 << 40)


def run_distml(graph, out, workers=None):
    extra = ["--workers", str(workers)] if workers else []
    start = time.perf_counter()
    result = subprocess.run([EXAMPLE, "--input", graph, "--out", out, *extra],
                            check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    return seconds, json.loads(result.stdout.strip().splitlines()[-1])


def parse(line):
    line = line.strip()
    if not line:
        return None
    parts = line.replace(" ", "\t", 1).split("\t", 1)
    friends = [int(f) for f in parts[1].split(",") if f.strip()] if len(parts) > 1 else []
    return int(parts[0]), sorted(set(friends))


def pairs(line):
    parsed = parse(line)
    if parsed is None:
        return []
    m, friends = parsed
    out = [((m, f), FRIEND) for f in friends]
    for f in friends:
        out.extend(((f, g), 1) for g in friends if g != f)
    return out


def top10(candidates):
    return [c for _, c in sorted(candidates)[:10]]


def run_spark(graph, out):
    from pyspark.sql import SparkSession
    start = time.perf_counter()
    spark = (SparkSession.builder.master("local[2]").appName("friends")
             .config("spark.driver.memory", "8g").config("spark.ui.enabled", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    session = time.perf_counter() - start
    lines = spark.sparkContext.textFile(str(graph))
    listed = lines.map(parse).filter(lambda p: p is not None).map(lambda p: (p[0], None))
    recs = (lines.flatMap(pairs)
            .reduceByKey(lambda a, b: a + b)
            .filter(lambda kv: kv[1] > 0)
            .map(lambda kv: (kv[0][0], (-kv[1], kv[0][1])))
            .groupByKey()
            .mapValues(top10))
    rows = listed.leftOuterJoin(recs).map(lambda kv: (kv[0], kv[1][1] or [])).collect()
    with open(out, "w") as f:
        for user, rec in sorted(rows):
            f.write(f"{user}\t{','.join(map(str, rec))}\n")
    seconds = time.perf_counter() - start
    spark.stop()
    return seconds, session


def main():
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        graph = tmp / "graph.txt"
        subprocess.run([EXAMPLE, "--generate", str(users), "--out", graph], check=True)
        edges = sum(len(parse(l)[1]) for l in graph.read_text().splitlines()) // 2
        local, stats = run_distml(graph, tmp / "local.txt")
        two, _ = run_distml(graph, tmp / "two.txt", workers=2)
        spark, session = run_spark(graph, tmp / "spark.txt")
        same = [(tmp / n).read_text() == (tmp / "local.txt").read_text() for n in ("two.txt", "spark.txt")]
    print(f"friends: {users:,} users, {edges:,} friendships, {os.cpu_count()} cores; "
          f"distml emitted {stats['emitted']:,} stripes, shuffled {stats['shuffled']:,} "
          f"({stats['shuffle_bytes'] / 1e6:.0f} MB)")
    print(f"{'tool':<34}{'seconds':>9}{'x distml':>10}{'same output':>13}")
    for name, seconds, ok in [("distml, in-process", local, True),
                              ("distml, 2 worker processes", two, same[0]),
                              ("PySpark RDD, local[2]", spark, same[1])]:
        print(f"{name:<34}{seconds:>9.2f}{seconds / local:>10.1f}{str(ok):>13}")
    print(f"(Spark seconds include {session:.1f} s of session start-up)")


if __name__ == "__main__":
    main()

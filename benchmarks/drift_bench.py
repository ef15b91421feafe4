"""Benchmark of `modelplane drift`'s embedded engine against its budget (issue 27); a measurement, not a test.

`python benchmarks/drift_bench.py [--requests N] [--files F] [--reference-requests R]` generates N captured
requests (default 10,000,000) in F JSON Lines files (default 1,000) in SageMaker's capture format, a
third each CSV, JSON and base64-encoded CSV, on local disk in a temporary directory (removed at the end);
then measures, each in a fresh process, the embedded engine (DuckDB, 2 threads) over all files, and the
former pure-Python reader (`tests/drift/harness.py`: json.loads per line, a dict per row) over the first R
requests (default 200,000), extrapolated linearly to N, as it would need several GB of memory for all of
them (what a run over no file costs, the interpreter and imports, is not scaled). Wall time is the whole
process (interpreter, imports, query, statistics); CPU time is its user and system time over all threads
(on a machine shared with other work, what the process needed rather than what it waited); peak RSS is
the process's `ru_maxrss`. Budget: N = 10 million in about 1,000 files in <= 60 s with peak RSS <= 1 GiB on 2 cores.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# One capture line; the payload varies by style.
_LINE = (
    '{{"captureData": {{"endpointInput": {{"observedContentType": "{content_type}", "mode": "INPUT", '
    '"data": "{data}", "encoding": "{encoding}"}}, "endpointOutput": {{"observedContentType": '
    '"application/json", "mode": "OUTPUT", "data": "eyJzY29yZSI6IDAuMTJ9", "encoding": "BASE64"}}}}, '
    '"eventMetadata": {{"eventId": "{event_id}", "inferenceTime": "2026-11-02T{hour:02d}:{minute:02d}:'
    '{second:02d}.{millis:03d}Z"}}, "eventVersion": "0"}}'
)

REPOSITORY = Path(__file__).resolve().parent.parent
BUDGET_SECONDS = 60
BUDGET_RSS_MB = 1024
_RUN = """
import resource, sys, time
from datetime import UTC, datetime
from pathlib import Path
import pandas as pd, numpy as np
from modelplane.drift.baseline import baseline_from_frame
from modelplane.drift.statistics import compare
from modelplane.settings import DataDrift
from modelplane.timewindow import Window
random = np.random.default_rng(1)
training = pd.DataFrame({{
    "amount": np.round(random.lognormal(4.0, 0.8, 5000), 2),
    "merchant_risk": np.round(random.normal(0.3, 0.1, 5000), 4),
    "country": random.choice(["IE", "FR", "DE", "ES"], 5000, p=[0.4, 0.3, 0.2, 0.1]),
    "channel": random.choice(["web", "app"], 5000, p=[0.6, 0.4]),
}})
baseline = baseline_from_frame(training, source="train.csv")
window = Window(datetime(2026, 11, 2, 0, tzinfo=UTC), datetime(2026, 11, 3, 0, tzinfo=UTC))
files = sorted(Path(sys.argv[1]).glob("*.jsonl"))[: int(sys.argv[2])]
{judge}
report = compare(baseline, aggregates, DataDrift())
print(aggregates.requests, aggregates.rows, report.verdict.value,
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""
EMBEDDED = (
    "from modelplane.drift import embedded\naggregates = embedded.judge_files(files, baseline, window, threads=2)"
)
REFERENCE = (
    "from tests.drift.harness import reference_aggregates\n"
    "lines = (line for path in files for line in path.read_text(encoding='utf-8').splitlines())\n"
    "aggregates = reference_aggregates(lines, window, baseline)"
)


def generate(directory: Path, requests: int, files: int) -> None:
    random = np.random.default_rng(0)
    per_file = requests // files
    for number in range(files):
        amount = np.round(random.lognormal(4.2, 0.8, per_file), 2)
        risk = np.round(random.normal(0.32, 0.1, per_file), 4)
        country = random.choice(["IE", "FR", "DE", "ES", "BR"], per_file, p=[0.35, 0.3, 0.2, 0.1, 0.05])
        channel = random.choice(["web", "app"], per_file, p=[0.6, 0.4])
        lines = []
        for index in range(per_file):
            row = f"{amount[index]},{risk[index]},{country[index]},{channel[index]}"
            style = index % 3
            if style == 1:
                content_type, encoding = "application/json", "JSON"
                data = (
                    f'{{\\"amount\\": {amount[index]}, \\"merchant_risk\\": {risk[index]}, '
                    f'\\"country\\": \\"{country[index]}\\", \\"channel\\": \\"{channel[index]}\\"}}'
                )
            elif style == 2:
                content_type, encoding, data = "text/csv", "BASE64", base64.b64encode(row.encode()).decode()
            else:
                content_type, encoding, data = "text/csv", "CSV", row
            second = number * per_file + index
            lines.append(
                _LINE.format(
                    content_type=content_type,
                    data=data,
                    encoding=encoding,
                    event_id=f"{number:08x}-{index:04x}-4000-8000-{second:012x}",
                    hour=(second // 3600) % 24,
                    minute=(second // 60) % 60,
                    second=second % 60,
                    millis=index % 1000,
                )
            )
        (directory / f"{number:05d}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def measure(directory: Path, files: int, judge: str) -> tuple[float, float, str]:
    """Wall and CPU seconds (user and system, all threads) of a fresh process running `judge`, and its last line."""
    with tempfile.TemporaryFile("w+") as errors:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-c", _RUN.format(judge=judge), str(directory), str(files)],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            cwd=REPOSITORY,
        )
        assert process.stdout is not None
        out = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode:
            errors.seek(0)
            raise SystemExit(f"the measured process failed:\n{errors.read()}")
    return elapsed, usage.ru_utime + usage.ru_stime, out.strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000_000)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--reference-requests", type=int, default=200_000)
    args = parser.parse_args()
    need = args.requests * 460
    free = shutil.disk_usage(tempfile.gettempdir()).free
    if free < 2 * need:
        print(f"{tempfile.gettempdir()}: {free / 1e9:.1f} GB free, the data takes about {need / 1e9:.1f} GB")
        return 2
    print(f"load average at start: {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="drift-bench-") as scratch:
        directory = Path(scratch)
        started = time.perf_counter()
        generate(directory, args.requests, args.files)
        size = sum(path.stat().st_size for path in directory.glob("*.jsonl"))
        print(
            f"generated {args.requests:,} requests in {args.files} files, {size / 1e9:.2f} GB, in "
            f"{time.perf_counter() - started:.0f} s"
        )
        embedded_seconds, embedded_cpu, embedded_out = measure(directory, args.files, EMBEDDED)
        reference_files = max(1, args.files * args.reference_requests // args.requests)
        reference_seconds, reference_cpu, reference_out = measure(directory, reference_files, REFERENCE)
        floor_seconds, floor_cpu, floor_out = measure(directory, 0, REFERENCE)
    scale = args.files / reference_files
    requests, _, verdict, rss = embedded_out.split()
    reference_requests, _, reference_verdict, reference_rss = reference_out.split()
    floor_rss = int(floor_out.split()[-1])
    # What grows with the data grows linearly; the interpreter and its imports (a run over no file) do not.
    extrapolated_seconds = floor_seconds + (reference_seconds - floor_seconds) * scale
    extrapolated_cpu = floor_cpu + (reference_cpu - floor_cpu) * scale
    extrapolated_rss = floor_rss + (int(reference_rss) - floor_rss) * scale
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    print()
    print("| engine | requests | wall s | CPU s | peak RSS MB | verdict |")
    print("|---|---:|---:|---:|---:|---|")
    print(
        f"| embedded (DuckDB, 2 threads) | {int(requests):,} | {embedded_seconds:.1f} | {embedded_cpu:.1f} | "
        f"{rss} | {verdict} |"
    )
    print(
        f"| former Python reader, measured | {int(reference_requests):,} | {reference_seconds:.1f} | "
        f"{reference_cpu:.1f} | {reference_rss} | {reference_verdict} |"
    )
    print(
        f"| former Python reader, extrapolated x{scale:g} | {int(reference_requests) * scale:,.0f} | "
        f"{extrapolated_seconds:.0f} | {extrapolated_cpu:.0f} | {extrapolated_rss:,.0f} | |"
    )
    within = embedded_seconds <= BUDGET_SECONDS and int(rss) <= BUDGET_RSS_MB
    print()
    print(f"budget (<= {BUDGET_SECONDS} s, <= {BUDGET_RSS_MB} MB): {'met' if within else 'MISSED'}")
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())

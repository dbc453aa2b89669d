"""Run every harness (or the named ones) for a while; ``nox -s fuzz`` calls this.

``python fuzz/runner.py --minutes 10 header open`` fuzzes two harnesses for ten
minutes each, ``--seconds 30`` is CI's quick run, ``--jobs 2`` runs two at a
time. Each harness starts from the committed seeds (fuzz/corpus/<name>/,
read only) and keeps what it finds in a work folder (``--work``, by default
a temporary one). libFuzzer's own limits bound every input: ``-timeout``
seconds and ``-rss_limit_mb`` megabytes. A crash, timeout or memory overrun
fails the run, and the input is kept as ``<work>/<name>/crash-*`` to reproduce
with ``python fuzz/fuzz_<name>.py <file>``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
HARNESSES = ("header", "open", "rewrap", "html", "keyring", "key_uri", "age")
TIMEOUT_S = 10
RSS_LIMIT_MB = 1536
_STATS = re.compile(
    r"^#(\d+)\s+(?:DONE|pulse|NEW|REDUCE|INITED)\s+cov: (\d+) ft: (\d+).*exec/s: (\d+)"
)


def fuzz_one(name: str, seconds: int, work: Path) -> tuple[str, int, str]:
    found = work / name
    found.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        str(HERE / f"fuzz_{name}.py"),
        str(found),
        str(HERE / "corpus" / name),
        f"-max_total_time={seconds}",
        f"-timeout={TIMEOUT_S}",
        f"-rss_limit_mb={RSS_LIMIT_MB}",
        f"-artifact_prefix={found}/",
        "-print_final_stats=1",
        "-max_len=16384",
    ]
    log = work / f"{name}.log"
    with open(log, "wb") as out:
        code = subprocess.call(
            command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    text = log.read_text(errors="replace")
    last = [m for m in (_STATS.match(line) for line in text.splitlines()) if m]
    units = re.search(r"stat::number_of_executed_units: (\d+)", text)
    summary = (
        f"{name}: exit {code}, executions {units.group(1) if units else '?'}, "
        + (
            f"cov {last[-1].group(2)} ft {last[-1].group(3)} exec/s {last[-1].group(4)}"
            if last
            else "no stats"
        )
        + f", corpus found {len(list(found.iterdir()))}, log {log}"
    )
    return name, code, summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", choices=[*HARNESSES, []], default=[])
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--minutes", type=float)
    length.add_argument("--seconds", type=int)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    seconds = args.seconds if args.seconds is not None else int((args.minutes or 0.5) * 60)
    work = args.work or Path(tempfile.mkdtemp(prefix="sealdoc-fuzz-"))
    names = args.names or list(HARNESSES)
    failed = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for name, code, summary in pool.map(lambda n: fuzz_one(n, seconds, work), names):
            print(summary, flush=True)
            if code != 0:
                failed.append(name)
    if failed:
        print(f"FAILED: {', '.join(failed)}; inputs and logs under {work}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())

"""`loom cage check` against flawfinder on the same files, as whole processes (what a user runs): wolfSSL's and
CyaSSL's headers and wolfSSL's examples (Debian's libwolfssl-dev), at 1 and 2 jobs (flawfinder: the files split over
as many processes). Runs are interleaved (loom, flawfinder, loom, ...) so the shared machine's load falls on both
alike; prints medians of wall time and of CPU time (user + system of the children).

Usage: python3 bench/cage/check_vs_flawfinder.py [LOOM_BINARY] [ROUNDS]   (default .build/release/loom, 5)
Environment passes through (LOOM_CAGE_PRELUDE_PCH=0, LOOM_CAGE_REUSE_UNITS=0 time the older paths).
"""

import glob
import os
import resource
import statistics
import subprocess
import sys
import time


def files():
    found = glob.glob("/usr/include/wolfssl/**/*.h", recursive=True)
    found += glob.glob("/usr/include/cyassl/**/*.h", recursive=True)
    found += glob.glob("/usr/share/doc/libwolfssl-dev/examples/*.c")
    return sorted(found)


def timed(commands):
    """Runs the commands at once; wall seconds and the children's CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    running = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for c in commands]
    codes = [p.wait() for p in running]
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, codes


def main():
    loom = sys.argv[1] if len(sys.argv) > 1 else ".build/release/loom"
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    paths = files()
    size = sum(os.path.getsize(p) for p in paths)
    print(f"{len(paths)} files, {size // 1024} KiB; loom: {loom}; load average {os.getloadavg()}")
    for jobs in (1, 2):
        loom_cmd = [[loom, "cage", "check", "--jobs", str(jobs)] + sum((["--file", p] for p in paths), [])]
        ff_cmd = [["flawfinder", "--quiet", "--dataonly"] + paths[i::jobs] for i in range(jobs)]
        results = {"loom": [], "flawfinder": []}
        for _ in range(rounds):
            results["loom"].append(timed(loom_cmd)[:2])
            results["flawfinder"].append(timed(ff_cmd)[:2])
        med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in results.items()}
        print(
            f"jobs {jobs}: loom cage check wall {med['loom'][0]:.3f} s cpu {med['loom'][1]:.3f} s | flawfinder wall "
            f"{med['flawfinder'][0]:.3f} s cpu {med['flawfinder'][1]:.3f} s | loom/flawfinder speed: wall "
            f"{med['flawfinder'][0] / med['loom'][0]:.2f}x, cpu {med['flawfinder'][1] / med['loom'][1]:.2f}x "
            f"({rounds} interleaved rounds, medians; load average {os.getloadavg()})"
        )


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Fetch of a backlog through `weir serve` against the embedded consumer, same log, same run.

Writes a backlog of N records of 1 KiB into one partition of a fresh log directory (`weir
produce`), then reads all of it twice, each reader printing only offsets (`%o`):
  embedded: `weir consume --from-beginning` on the directory (WeirClient's Consumer, mmap reads);
  served:   `weir serve` on the same directory and one librdkafka consumer (kcat -C -e), whose
            Fetch responses carry the segment bytes by sendfile (zero copy).
Each rate is timed from the reader's first record to its last (start-up and connecting excluded).
Prints both rates, the ratio (goal >= 0.80) and the broker's CPU, best of --repeats.

Usage: WEIR_BIN=.build/release/weir python3 scripts/serve-fetch-vs-embedded.py [--records 200000]
       [--repeats 3]
On demand (not part of scripts/test); a run takes about ten seconds with a release build.
"""
import argparse
import os
import shutil
import signal
import subprocess
import tempfile
import time

from serve_support import cpu_seconds, free_port

WEIR = os.environ.get("WEIR_BIN", ".build/release/weir")
TOPIC = "backlog"


def timed(cmd, records):
    """(records/s, seconds) of a reader that prints one offset per line, timed from its first
    record to its last, so neither process start-up nor connecting counts."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines, start = 0, None
    for _ in p.stdout:
        lines += 1
        if start is None:
            start = time.perf_counter()
    elapsed = time.perf_counter() - (start or 0)
    p.wait()
    if p.returncode != 0 or lines != records:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}, {lines} of {records} records: {p.stderr.read()[-400:]!r}")
    return (records - 1) / elapsed, elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=200000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    root = tempfile.mkdtemp(prefix="weir-fetch-vs-embedded-")
    data = os.path.join(root, "data")
    try:
        subprocess.run([WEIR, "topics", "create", TOPIC, "--partitions", "1", "--log-dir", data], check=True,
                       capture_output=True)
        line = b"x" * 1023 + b"\n"
        p = subprocess.Popen([WEIR, "produce", TOPIC, "--log-dir", data], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        chunk = line * 1000
        for _ in range(args.records // 1000):
            p.stdin.write(chunk)
        p.stdin.close()
        if p.wait() != 0:
            raise RuntimeError("weir produce failed")
        n = (args.records // 1000) * 1000
        embedded, served = [], []
        for _ in range(args.repeats):
            embedded.append(timed([WEIR, "consume", TOPIC, "--from-beginning", "--max-messages", str(n), "--format", "%o",
                                   "--log-dir", data], n)[0])
            port = free_port()
            srv = subprocess.Popen([WEIR, "serve", "--log-dir", data, "--listen", f"127.0.0.1:{port}"],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            srv.stdout.readline()
            cpu0 = cpu_seconds(srv.pid)
            rate, elapsed = timed(["kcat", "-C", "-b", f"127.0.0.1:{port}", "-t", TOPIC, "-o", "beginning", "-e", "-q",
                                   "-f", "%o\\n"], n)
            served.append((rate, 100 * (cpu_seconds(srv.pid) - cpu0) / elapsed))
            srv.send_signal(signal.SIGTERM)
            srv.wait(15)
        e = max(embedded)
        s, broker_cpu = max(served)
        print(f"backlog: {n} records of 1 KiB in one partition ({n * 1024 / 1e6:.0f} MB), best of {args.repeats}")
        print(f"embedded consumer (weir consume):            {e:12.0f} rec/s  {e * 1024 / 1e6:7.1f} MB/s")
        print(f"weir serve + one librdkafka consumer (kcat): {s:12.0f} rec/s  {s * 1024 / 1e6:7.1f} MB/s  (broker CPU {broker_cpu:.0f}%)")
        print(f"ratio served / embedded: {s / e:.2f} (goal >= 0.80); load average {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

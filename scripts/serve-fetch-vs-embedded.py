#!/usr/bin/env python3
"""Fetch of a backlog through `weir serve` against the embedded consumer, same log, same run.

Writes a backlog of N records of 1 KiB into one partition of a fresh log directory (`weir
produce`), then reads all of it in two pairs of readers, each pair doing the same work per record:
  printing readers (offsets only, `%o`), each stopping after N records:
    embedded: `weir consume --from-beginning --max-messages N` on the directory;
    served:   `weir serve` on the same directory and one librdkafka consumer (`kcat -C -c N`),
              whose Fetch responses carry the segment bytes by sendfile (zero copy);
    each timed from the reader's first printed record to its last.
  counting readers (no output per record), `weir bench consume --topic T`:
    embedded: WeirClient's Consumer on the directory (mmap reads, zero copy);
    served:   Weir's librdkafka backend (`--bootstrap-servers`) against `weir serve`;
    each rate as the bench reports it (first record to last).
Prints each pair's rates, its ratio (goal >= 0.80), the broker's CPU and the client's CPU,
best of --repeats, so that a ratio below the goal says which side was the limit.

Usage: WEIR_BIN=.build/release/weir python3 scripts/serve-fetch-vs-embedded.py [--records 200000]
       [--repeats 3]
On demand (not part of scripts/test); a run takes about ten seconds with a release build.
"""
import argparse
import json
import os
import resource
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
    record to its last, so neither process start-up, connecting nor exiting counts."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines, start, last = 0, None, None
    for _ in p.stdout:
        lines += 1
        last = time.perf_counter()
        if start is None:
            start = last
    elapsed = (last or 0) - (start or 0)
    p.wait()
    if p.returncode != 0 or lines != records:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}, {lines} of {records} records: {p.stderr.read()[-400:]!r}")
    return (records - 1) / elapsed, elapsed


def bench_consume(target, records, broker_pid):
    """(records/s, broker CPU %, client CPU %) of `weir bench consume` reading the whole backlog:
    the rate as the bench reports it (first record to last); the broker's CPU (when served) and
    the bench process's CPU over the process's whole run, start-up included."""
    out = tempfile.mkdtemp(prefix="weir-fetch-bench-")
    try:
        cpu0 = cpu_seconds(broker_pid) if broker_pid else 0
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run([WEIR, "bench", "consume", "--topic", TOPIC, "--records", str(records), "--quiet", "--out", out]
                       + target, check=True, capture_output=True)
        wall = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        client = 100 * (r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime) / wall
        broker = 100 * (cpu_seconds(broker_pid) - cpu0) / wall if broker_pid else None
        with open(os.path.join(out, "summary.json")) as f:
            consume = json.load(f)["steps"][0]["consume"]
        if consume["records"] < records:
            raise RuntimeError(f"weir bench consume read {consume['records']} of {records} records")
        return consume["records_per_sec"], broker, client
    finally:
        shutil.rmtree(out, ignore_errors=True)


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
        printing = {"embedded": [], "served": []}
        counting = {"embedded": [], "served": []}
        for _ in range(args.repeats):
            printing["embedded"].append((timed([WEIR, "consume", TOPIC, "--from-beginning", "--max-messages", str(n),
                                                "--format", "%o", "--log-dir", data], n)[0], None, None))
            counting["embedded"].append(bench_consume(["--log-dir", data], n, None))
            port = free_port()
            srv = subprocess.Popen([WEIR, "serve", "--log-dir", data, "--listen", f"127.0.0.1:{port}"],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            srv.stdout.readline()
            cpu0 = cpu_seconds(srv.pid)
            rate, elapsed = timed(["kcat", "-C", "-b", f"127.0.0.1:{port}", "-t", TOPIC, "-o", "beginning", "-c", str(n),
                                   "-q", "-f", "%o\\n"], n)
            printing["served"].append((rate, 100 * (cpu_seconds(srv.pid) - cpu0) / elapsed, None))
            counting["served"].append(bench_consume(["--bootstrap-servers", f"127.0.0.1:{port}"], n, srv.pid))
            srv.send_signal(signal.SIGTERM)
            srv.wait(15)
        print(f"backlog: {n} records of 1 KiB in one partition ({n * 1024 / 1e6:.0f} MB), best of {args.repeats}")
        for title, pair, served_name in (
                ("printing readers (offsets only)", printing, "weir serve + kcat -C -c N (librdkafka)"),
                ("counting readers (weir bench consume)", counting, "weir serve + Weir's librdkafka backend")):
            e = max(pair["embedded"])[0]
            s, broker_cpu, client_cpu = max(pair["served"])
            client = f", client CPU {client_cpu:.0f}% over its whole run" if client_cpu is not None else ""
            print(f"{title}:")
            print(f"  {'embedded consumer':40s} {e:12.0f} rec/s  {e * 1024 / 1e6:7.1f} MB/s")
            print(f"  {served_name:40s} {s:12.0f} rec/s  {s * 1024 / 1e6:7.1f} MB/s  (broker CPU {broker_cpu:.0f}%{client})")
            print(f"  ratio served / embedded: {s / e:.2f} (goal >= 0.80)")
        print(f"load average {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

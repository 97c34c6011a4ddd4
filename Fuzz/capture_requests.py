#!/usr/bin/env python3
"""Captures what real Kafka clients send to `weir serve`: the seeds of FuzzKafkaRequest.

    python3 Fuzz/capture_requests.py WEIR_BINARY OUT_DIR

Starts `weir serve` on a fresh log directory behind a recording TCP proxy (the broker
advertises the proxy, so every connection of the client goes through it), runs kafka-python
sessions against it (admin, producer with every codec, a consumer group that commits,
transactions) and writes each connection's client-to-server bytes to
OUT_DIR/<session>-<n> with the target's mode byte 0 (a byte stream of size-prefixed frames)
in front. Run once by hand; the output is committed in Fuzz/Seeds/FuzzKafkaRequest/.
"""
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic
from kafka.structs import TopicPartition


class Proxy:
    """Forwards connections from a free port to the broker, recording what each client sends."""

    def __init__(self, broker_port):
        self.broker_port = broker_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.streams = []  # one bytearray per connection, in accept order
        self.taken = {}  # stream index -> bytes already returned by take()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.broker_port))
            record = bytearray()
            with self.lock:
                self.streams.append(record)
            threading.Thread(target=self._pump, args=(client, upstream, record), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, None), daemon=True).start()

    @staticmethod
    def _pump(src, dst, record):
        try:
            while data := src.recv(65536):
                if record is not None:
                    record += data
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def take(self):
        """What each connection sent since the last call (a long-lived connection continues
        in the next take, as a stream that starts at a frame boundary)."""
        time.sleep(0.5)
        with self.lock:
            out = [bytes(s[self.taken.get(i, 0):]) for i, s in enumerate(self.streams)]
            self.taken = {i: len(s) for i, s in enumerate(self.streams)}
        return [s for s in out if s]


def attempt(call, *args, **kwargs):
    """A request whose answer does not matter here (weir serve may refuse it): only its bytes do."""
    try:
        return call(*args, **kwargs)
    except Exception as e:  # noqa: BLE001 - any client-side error is fine for a capture
        print(f"note: {getattr(call, '__name__', call)}: {type(e).__name__}", file=sys.stderr)
        return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    weir, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    log_dir = tempfile.mkdtemp(prefix="weir-capture-")
    broker_port = free_port()
    proxy = Proxy(broker_port)
    server = subprocess.Popen([weir, "serve", "--log-dir", log_dir, "--listen", f"127.0.0.1:{broker_port}",
                               "--advertised-listener", f"127.0.0.1:{proxy.port}"],
                              stdout=subprocess.PIPE, stderr=open(os.path.join(log_dir, "serve.log"), "w"), text=True)
    try:
        server.stdout.readline()  # "listening on ..."
        bootstrap = f"127.0.0.1:{proxy.port}"
        sessions = {}

        admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="weir-seed-admin")
        admin.create_topics([NewTopic("seed", 3, 1, topic_configs={"cleanup.policy": "delete", "segment.bytes": "1048576"}),
                             NewTopic("seed-compact", 1, 1, topic_configs={"cleanup.policy": "compact"})])
        attempt(admin.create_partitions, {"seed": NewPartitions(4)})
        attempt(admin.describe_configs, [ConfigResource(ConfigResourceType.TOPIC, "seed")])
        attempt(admin.alter_configs, [ConfigResource(ConfigResourceType.TOPIC, "seed-compact", configs={"retention.ms": "600000"})])
        admin.list_topics()
        attempt(admin.describe_cluster)
        sessions["admin"] = proxy.take()

        for codec in (None, "gzip", "snappy", "lz4", "zstd"):
            p = KafkaProducer(bootstrap_servers=bootstrap, acks="all", compression_type=codec,
                              client_id=f"weir-seed-producer-{codec or 'none'}", linger_ms=5)
            for i in range(30):
                p.send("seed", key=f"k{i % 7}".encode(), value=f'{{"i":{i},"codec":"{codec}"}}'.encode(),
                       headers=[("h", b"v")] if i % 5 == 0 else None)
            p.flush()
            p.close()
            sessions[f"produce-{codec or 'none'}"] = proxy.take()

        c = KafkaConsumer("seed", bootstrap_servers=bootstrap, group_id="seed-group", client_id="weir-seed-consumer",
                          auto_offset_reset="earliest", enable_auto_commit=False, consumer_timeout_ms=3000)
        n = sum(1 for _ in c)
        c.commit()
        c.committed(TopicPartition("seed", 0))
        c.close()
        sessions["consume-group"] = proxy.take()

        c = KafkaConsumer(bootstrap_servers=bootstrap, client_id="weir-seed-assign", consumer_timeout_ms=1500)
        tps = [TopicPartition("seed", p) for p in range(3)]
        c.assign(tps)
        c.beginning_offsets(tps)
        c.end_offsets(tps)
        c.offsets_for_times({tp: 0 for tp in tps})
        c.seek_to_beginning()
        sum(1 for _ in c)
        c.close()
        sessions["consume-assign"] = proxy.take()

        p = KafkaProducer(bootstrap_servers=bootstrap, transactional_id="weir-seed-txn", client_id="weir-seed-txn")
        p.init_transactions()
        for commit in (True, False):
            p.begin_transaction()
            for i in range(5):
                p.send("seed", key=b"t", value=f"txn-{commit}-{i}".encode())
            if commit:
                p.commit_transaction()
            else:
                p.abort_transaction()
        p.close()
        sessions["transactions"] = proxy.take()

        attempt(admin.list_groups)
        attempt(admin.describe_groups, ["seed-group"])
        attempt(admin.list_group_offsets, "seed-group")
        attempt(admin.delete_records, {TopicPartition("seed", 0): 3})
        attempt(admin.delete_groups, ["seed-group"])
        attempt(admin.delete_topics, ["seed-compact"])
        admin.close()
        sessions["admin-groups"] = proxy.take()

        count = 0
        for name, streams in sessions.items():
            for i, s in enumerate(streams):
                with open(os.path.join(out, f"{name}-{i}"), "wb") as f:
                    f.write(b"\x00" + s)
                count += 1
        print(f"{count} connections captured ({n} records consumed) in {out}")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()

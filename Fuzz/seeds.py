#!/usr/bin/env python3
"""Writes the seed corpora of Weir's fuzz targets (run by scripts/fuzz at run time).

    python3 Fuzz/seeds.py OUT_DIR

OUT_DIR/<Target>/ gets small real inputs: record batches built by kafka-python (the reference
client) for every codec, their compressed record sections, segments of such batches with the
`.index` / `.timeindex` a Kafka broker would write for them, workload text, and every Kafka
request API and version encoded by kafka-python. OMB's workload files are not copied here;
scripts/fuzz passes their folder to the workload target directly.
"""
import os
import random
import struct
import sys

from kafka.record.default_records import DefaultRecordBatchBuilder

CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
INDEX_INTERVAL = 256  # bytes of log between index entries, small so that seeds have entries


def batch(rng, codec, count, base_offset=0, transactional=False, producer_id=-1):
    """One batch of `count` text-like records built by kafka-python, with the given base offset."""
    b = DefaultRecordBatchBuilder(magic=2, compression_type=codec, is_transactional=int(transactional),
                                  producer_id=producer_id, producer_epoch=0 if producer_id >= 0 else -1,
                                  base_sequence=0 if producer_id >= 0 else -1, batch_size=1 << 30)
    for i in range(count):
        key = None if i % 3 == 0 else f"key-{rng.randrange(50)}".encode()
        value = None if i % 17 == 5 else (f'{{"id":{i},"n":"{rng.choice(["a", "bb", "ccc"])}"}}' * rng.randrange(1, 4)).encode()
        headers = [("h", b"v")] if i % 5 == 0 else []
        b.append(i, timestamp=1_700_000_000_000 + i, key=key, value=value, headers=headers)
    raw = bytearray(b.build())
    raw[0:8] = struct.pack(">q", base_offset)  # the CRC does not cover the base offset
    return bytes(raw)


def segment(rng, codecs, base_offset=0):
    """Back-to-back batches from `base_offset`, and the sparse index entries Kafka writes."""
    log, index, timeindex = bytearray(), bytearray(), bytearray()
    offset, since_entry, max_ts = base_offset, INDEX_INTERVAL, -1
    for codec in codecs:
        count = rng.randrange(1, 6)
        raw = batch(rng, codec, count, offset)
        last = offset + count - 1
        if since_entry >= INDEX_INTERVAL:
            index += struct.pack(">ii", last - base_offset, len(log))
            ts = 1_700_000_000_000 + count - 1
            if ts > max_ts:
                timeindex += struct.pack(">qi", ts, last - base_offset)
                max_ts = ts
            since_entry = 0
        log += raw
        since_entry += len(raw)
        offset = last + 1
    return bytes(log), bytes(index), bytes(timeindex)


def main():
    out = sys.argv[1]
    rng = random.Random(16)
    dirs = {t: os.path.join(out, t) for t in ("FuzzRecordBatch", "FuzzDecompress", "FuzzIndex", "FuzzSegmentRecovery", "FuzzWorkload")}
    dirs["FuzzKafkaRequest"] = os.path.join(out, "FuzzKafkaRequest")
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)

    def put(target, name, data):
        with open(os.path.join(dirs[target], name), "wb") as f:
            f.write(data)

    for name, cid in CODECS.items():
        for count in (1, 3, 20):
            raw = batch(rng, cid, count)
            put("FuzzRecordBatch", f"{name}-{count}", raw)
            put("FuzzDecompress", f"{name}-{count}", bytes([cid]) + raw[61:])
        put("FuzzRecordBatch", f"{name}-txn", batch(rng, cid, 2, transactional=True, producer_id=7))
    put("FuzzRecordBatch", "mixed", b"".join(batch(rng, c, 2, i * 2) for i, c in enumerate(CODECS.values())))

    for i, codecs in enumerate(([0] * 12, [0, 1, 2, 3, 4] * 3, [4] * 6)):
        log, index, timeindex = segment(rng, codecs)
        put("FuzzIndex", f"segment-{i}", bytes([len(index) * 255 // max(1, len(index) + len(timeindex))]) + index + timeindex)
        for flags in (0, 1, 7, 6, 15):
            base = 100 if flags & 8 else 0
            if base:
                log, index, timeindex = segment(rng, codecs, base)
            header = bytes([flags]) + struct.pack(">HH", len(index), len(timeindex))
            put("FuzzSegmentRecovery", f"segment-{i}-flags{flags}", header + index + timeindex + log)
        # A torn tail: the last batch cut short, as a crash mid-write leaves it.
        put("FuzzSegmentRecovery", f"segment-{i}-torn", bytes([6]) + struct.pack(">HH", len(index), len(timeindex))
            + index + timeindex + log[:-7])

    put("FuzzWorkload", "steps.yaml", b"name: acks\ntopics: 1\npartitionsPerTopic: 8\nproducerRate: 50000\n"
        b"config: { linger.ms: 5 }\nsteps:\n  - { name: acks-1, config: { acks: \"1\" } }\n  - { name: acks-all, config: { acks: all } }\n")
    put("FuzzWorkload", "omb.json", b'{"name": "omb", "topics": 1, "partitionsPerTopic": 16, "messageSize": 1024,'
        b' "payloadFile": "payload/payload-1Kb.data", "subscriptionsPerTopic": 1, "consumerPerSubscription": 1,'
        b' "producersPerTopic": 1, "producerRate": 50000, "consumerBacklogSizeGB": 0, "testDurationMinutes": 1,'
        b' "keyDistributor": "NO_KEY"}')

    # Every request API and version kafka-python's generated encoders know, with default field
    # values, as one frame each (mode byte 1: the frame without its size prefix). The captured
    # client sessions in Fuzz/Seeds/FuzzKafkaRequest/ carry the realistic field values.
    for key, cls in sorted(request_classes().items()):
        for version in range(cls.min_version, cls.max_version + 1):
            req = cls[version]()
            req.with_header(correlation_id=version, client_id="weir-seed")
            put("FuzzKafkaRequest", f"default-{key}-v{version}", b"\x01" + req.encode(header=True))


def request_classes():
    """kafka-python's request message classes by API key."""
    import importlib
    import inspect
    import pkgutil

    import kafka.protocol
    from kafka.protocol.api_message import ApiMessage

    found = {}
    for module in pkgutil.walk_packages(kafka.protocol.__path__, "kafka.protocol."):
        try:
            mod = importlib.import_module(module.name)
        except Exception:  # noqa: BLE001 - a module that needs an optional dependency
            continue
        for name, cls in vars(mod).items():
            if inspect.isclass(cls) and issubclass(cls, ApiMessage) and cls is not ApiMessage and name.endswith("Request"):
                found[cls.API_KEY] = cls
    return found


if __name__ == "__main__":
    main()

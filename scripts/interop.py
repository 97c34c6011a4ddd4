#!/usr/bin/env python3
"""Interop checks between Weir and kafka-python (the reference reader of Kafka's format).

(a) Batches written by Weir, for every codec, with headers, null keys/values and 1 to 10,000
    records, are parsed by kafka-python's DefaultRecordBatch with validate_crc() true and
    identical records.
(b) Batches built by kafka-python's DefaultRecordBatchBuilder, for every codec, are decoded by
    Weir (`weir log dump --deep --json`) to identical records.
(c) A segment directory written by Weir's log is walked by kafka-python's MemoryRecords with
    every CRC valid and every record present (run when `weir log` can write one).
(d) Transactions written by `weir produce --transactional-id` (committed and aborted) are read by
    MemoryRecords: control batches with commit/abort markers, transactional data batches.

Run by ./scripts/test with WEIR_BIN pointing at the weir executable.
"""
import base64
import json
import os
import random
import subprocess
import sys
import tempfile

from kafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder
from kafka.record.memory_records import MemoryRecords

WEIR = os.environ.get("WEIR_BIN", ".build/debug/weir")
CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
failures = []
checks = 0


def b64(data):
    return None if data is None else base64.b64encode(bytes(data)).decode()


def unb64(text):
    return None if text is None else base64.b64decode(text)


def weir(*args, stdin=None):
    proc = subprocess.run([WEIR, *args], input=stdin, capture_output=True)
    if proc.returncode != 0:
        raise RuntimeError(f"weir {' '.join(args)} exited {proc.returncode}: {proc.stderr.decode()}")
    return proc.stdout


def make_records(rng, count):
    """Deterministic records: text-like values (so codecs really compress), null keys and
    values, empty values, binary keys and headers."""
    words = [b"order", b"user", b"id", b"amount", b"status", b"created", b"eu-west", b"true", b"42"]
    base_ts = 1_700_000_000_000
    records = []
    for i in range(count):
        kind = i % 7
        key = None if kind == 0 else (bytes(rng.randrange(256) for _ in range(8)) if kind == 1 else b"key-%d" % (i % 97))
        if kind == 2:
            value = None
        elif kind == 3:
            value = b""
        else:
            value = b'{"' + b'","'.join(rng.choice(words) for _ in range(rng.randrange(1, 20))) + b'"}'
        headers = []
        if kind in (4, 5):
            headers.append(("trace-id", b"%032x" % rng.getrandbits(128)))
        if kind == 5:
            headers.append(("empty", None))
            headers.append(("bin", bytes([0, 255, 1, 254])))
        records.append({"timestamp": base_ts + i * 3 + rng.randrange(3), "key": key, "value": value, "headers": headers})
    return records


def status(before):
    return "ok" if len(failures) == before else "FAILED"


def write_jsonl(path, records):
    """Writes records in the JSON-lines shape `weir format encode` / `weir log append` read."""
    with open(path, "w") as f:
        for r in records:
            f.write(json.dumps({"timestamp": r["timestamp"], "key": b64(r["key"]), "value": b64(r["value"]),
                                "headers": [{"key": k, "value": b64(v)} for k, v in r["headers"]]}) + "\n")


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        print(f"FAIL {what}", file=sys.stderr)


def weir_to_python(tmp, rng):
    for codec in CODECS:
        for count in (1, 10, 1000, 10000):
            before = len(failures)
            records = make_records(rng, count)
            jsonl = os.path.join(tmp, f"in-{codec}-{count}.jsonl")
            out = os.path.join(tmp, f"weir-{codec}-{count}.bin")
            write_jsonl(jsonl, records)
            per_batch = 1000 if count > 1000 else count
            weir("format", "encode", "--codec", codec, "--input", jsonl, "--output", out,
                 "--records-per-batch", str(per_batch))
            data = open(out, "rb").read()
            got = []
            pos = 0
            batches = 0
            while pos < len(data):
                size = 12 + int.from_bytes(data[pos + 8:pos + 12], "big")
                batch = DefaultRecordBatch(bytes(data[pos:pos + size]))
                check(batch.validate_crc(), f"(a) {codec}/{count}: batch at {pos} CRC invalid")
                check(batch.compression_type == CODECS[codec],
                      f"(a) {codec}/{count}: codec {batch.compression_type} != {CODECS[codec]}")
                for rec in batch:
                    got.append(rec)
                pos += size
                batches += 1
            check(len(got) == count, f"(a) {codec}/{count}: {len(got)} records read, {count} written")
            for i, (want, rec) in enumerate(zip(records, got)):
                same = (rec.offset == i and rec.timestamp == want["timestamp"] and
                        (None if rec.key is None else bytes(rec.key)) == want["key"] and
                        (None if rec.value is None else bytes(rec.value)) == want["value"] and
                        [(k, None if v is None else bytes(v)) for k, v in rec.headers] == want["headers"])
                if not same:
                    check(False, f"(a) {codec}/{count}: record {i} differs: {rec} vs {want}")
                    break
            print(f"(a) weir -> kafka-python {codec:6} {count:6} records, {batches:3} batches: {status(before)}", file=sys.stderr)


def python_to_weir(tmp, rng):
    for codec, cid in CODECS.items():
        for count in (1, 100, 5000):
            before = len(failures)
            records = make_records(rng, count)
            builder = DefaultRecordBatchBuilder(magic=2, compression_type=cid, is_transactional=0,
                                                producer_id=-1, producer_epoch=-1, base_sequence=-1,
                                                batch_size=1 << 30)
            for i, r in enumerate(records):
                builder.append(i, timestamp=r["timestamp"], key=r["key"], value=r["value"], headers=r["headers"])
            raw = bytes(builder.build())
            check(DefaultRecordBatch(raw).compression_type == cid or count == 1,
                  f"(b) {codec}/{count}: kafka-python did not compress")
            path = os.path.join(tmp, f"py-{codec}-{count}.bin")
            with open(path, "wb") as f:
                f.write(raw)
            lines = [json.loads(l) for l in weir("log", "dump", path, "--deep", "--json").splitlines() if l.strip()]
            batches = [l for l in lines if l.get("kind") == "batch"]
            recs = [l for l in lines if l.get("kind") == "record"]
            check(len(batches) == 1 and batches[0]["crc_valid"] is True, f"(b) {codec}/{count}: batch not valid: {batches}")
            check(len(recs) == count, f"(b) {codec}/{count}: weir decoded {len(recs)} of {count}")
            for i, (want, rec) in enumerate(zip(records, recs)):
                same = (rec["offset"] == i and rec["timestamp"] == want["timestamp"] and
                        unb64(rec["key"]) == want["key"] and unb64(rec["value"]) == want["value"] and
                        [(h["key"], unb64(h["value"])) for h in rec["headers"]] == want["headers"])
                if not same:
                    check(False, f"(b) {codec}/{count}: record {i} differs: {rec} vs {want}")
                    break
            print(f"(b) kafka-python -> weir {codec:6} {count:6} records: {status(before)}", file=sys.stderr)


def segment_directory(tmp, rng):
    """(c) Weir's log writes a partition; kafka-python walks every .log segment."""
    failures_before_c = len(failures)
    log_dir = os.path.join(tmp, "logdir")
    total = 0
    for codec in CODECS:
        records = make_records(rng, 3000)
        jsonl = os.path.join(tmp, f"seg-{codec}.jsonl")
        write_jsonl(jsonl, records)
        weir("log", "append", "--log-dir", log_dir, "--topic", "interop", "--partition", "0",
             "--codec", codec, "--input", jsonl, "--records-per-batch", "100",
             *([] if total else ["--config", "segment.bytes=262144"]))
        total += len(records)
    part = os.path.join(log_dir, "interop-0")
    segments = sorted(f for f in os.listdir(part) if f.endswith(".log"))
    check(len(segments) > 1, f"(c) expected several segments, found {segments}")
    next_offset = 0
    for seg in segments:
        check(len(seg) == 24 and int(seg[:20]) == next_offset, f"(c) segment {seg} should start at {next_offset}")
        mem = MemoryRecords(open(os.path.join(part, seg), "rb").read())
        while mem.has_next():
            batch = mem.next_batch()
            check(batch.validate_crc(), f"(c) {seg}: batch at offset {batch.base_offset} CRC invalid")
            for rec in batch:
                check(rec.offset == next_offset, f"(c) {seg}: offset {rec.offset}, expected {next_offset}")
                next_offset = rec.offset + 1
    check(next_offset == total, f"(c) read {next_offset} records across segments, wrote {total}")
    verify = subprocess.run([WEIR, "log", "verify", log_dir], capture_output=True)
    check(verify.returncode == 0, f"(c) weir log verify failed on a good directory: {verify.stdout.decode()}")
    # Flip one byte inside the first batch of the first segment: verify must report it (exit 1).
    first = os.path.join(part, segments[0])
    raw = bytearray(open(first, "rb").read())
    raw[70] ^= 0x40
    open(first, "wb").write(bytes(raw))
    verify = subprocess.run([WEIR, "log", "verify", log_dir], capture_output=True)
    check(verify.returncode == 1 and b"INVALID" in verify.stdout,
          f"(c) weir log verify missed a flipped byte: exit {verify.returncode}, {verify.stdout.decode()}")
    print(f"(c) weir segment directory -> kafka-python MemoryRecords: {len(segments)} segments, {total} records: "
          f"{status(failures_before_c)}",
          file=sys.stderr)


def transactional_segments(tmp, rng):
    """(d) `weir produce --transactional-id` writes a committed, an aborted and a committed
    transaction; kafka-python's MemoryRecords reads the segment: every CRC valid, data batches
    transactional with the producer id, a commit/abort control batch after each transaction, and
    a read_committed walk (skipping aborted producers' batches) sees only the committed values."""
    before = len(failures)
    log_dir = os.path.join(tmp, "txn-logdir")
    weir("topics", "create", "txn", "--partitions", "1", "--log-dir", log_dir)
    runs = [("commit", 50), ("abort", 30), ("commit", 20)]
    expected = []
    for n, (outcome, count) in enumerate(runs):
        lines = [f"{outcome}-{n}-{i}-{rng.randrange(1 << 30)}" for i in range(count)]
        path = os.path.join(tmp, f"txn-{n}.txt")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        args = ["produce", "txn", "--partition", "0", "--transactional-id", "interop-d", "--input", path,
                "--config", "batch.size=512", "--log-dir", log_dir]
        weir(*(args + (["--abort"] if outcome == "abort" else [])))
        if outcome == "commit":
            expected += lines
    part = os.path.join(log_dir, "txn-0")
    markers = []
    committed = []
    aborted_seen = 0
    pending = []  # (producer_id, values) of the transaction in progress
    for seg in sorted(f for f in os.listdir(part) if f.endswith(".log")):
        mem = MemoryRecords(open(os.path.join(part, seg), "rb").read())
        while mem.has_next():
            batch = mem.next_batch()
            check(batch.validate_crc(), f"(d) {seg}: batch at offset {batch.base_offset} CRC invalid")
            check(batch.is_transactional, f"(d) {seg}: batch at offset {batch.base_offset} is not transactional")
            check(batch.producer_id >= 0 and batch.producer_epoch >= 0, f"(d) batch at {batch.base_offset}: no producer id/epoch")
            if batch.is_control_batch:
                recs = list(batch)
                check(len(recs) == 1, f"(d) control batch at {batch.base_offset} has {len(recs)} records")
                rec = recs[0]
                check(rec.version == 0 and rec.type in (0, 1), f"(d) control record {rec}")
                markers.append("commit" if rec.commit else "abort")
                if rec.commit:
                    committed += pending
                else:
                    aborted_seen += len(pending)
                pending = []
            else:
                pending += [bytes(r.value).decode() for r in batch]
    check(markers == [o for o, _ in runs], f"(d) markers {markers}, expected {[o for o, _ in runs]}")
    check(committed == expected, f"(d) read_committed saw {len(committed)} values, expected {len(expected)}")
    check(aborted_seen == 30 and not pending, f"(d) aborted records {aborted_seen}, pending {len(pending)}")
    print(f"(d) weir transactions -> kafka-python MemoryRecords: {len(markers)} control batches, "
          f"{len(committed)} committed, {aborted_seen} aborted: {status(before)}", file=sys.stderr)


def main():
    rng = random.Random(20261127)
    with tempfile.TemporaryDirectory(prefix="weir-interop-") as tmp:
        weir_to_python(tmp, rng)
        python_to_weir(tmp, rng)
        segment_directory(tmp, rng)
        transactional_segments(tmp, rng)
    failed = len(failures)
    print(f"interop: {checks - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

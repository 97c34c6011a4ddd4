"""An in-memory ZooKeeper stand-in (the jute wire protocol, one session per connection) for
Burrow in weir serve's client matrix.

Burrow 1.2 (Debian `burrow`) refuses to start without ZooKeeper, which it uses only for its own
coordination; the offsets and lags it reports come from the Kafka protocol (Metadata,
ListOffsets and the `__consumer_offsets` topic of `weir serve`). This stub answers the calls a
ZooKeeper client makes (create, delete, exists, get/set data, children, ping, set-watches,
close) over a tree kept in memory, so the matrix needs no Java.

    python3 scripts/clients/stub_zookeeper.py PORT
"""
import socket
import struct
import sys
import threading

NO_NODE, NODE_EXISTS = -101, -110
tree = {"/": b""}
lock = threading.Lock()
zxid = [1]


def read_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def string(buf, pos):
    (n,) = struct.unpack_from(">i", buf, pos)
    pos += 4
    if n < 0:
        return None, pos
    return buf[pos:pos + n], pos + n


def enc(b):
    return struct.pack(">i", len(b)) + b


def stat(path):
    data = tree.get(path, b"")
    children = len(children_of(path))
    return struct.pack(">qqqqiiiqiiq", 1, 1, 0, 0, 0, 0, 0, 0, len(data), children, 1)


def children_of(path):
    prefix = path.rstrip("/") + "/"
    return sorted({p[len(prefix):].split("/")[0] for p in tree if p.startswith(prefix) and p != prefix})


def answer(op, body):
    """(error, response body) for one request."""
    path_b, pos = string(body, 0) if op not in (11, -11, 101) else (b"", 0)
    path = (path_b or b"/").decode()
    with lock:
        if op == 1:  # create: path, data, acl vector, flags
            data, pos = string(body, pos)
            (acls,) = struct.unpack_from(">i", body, pos)
            pos += 4
            for _ in range(max(acls, 0)):
                _, pos = string(body, pos + 4)
                _, pos = string(body, pos)
            (flags,) = struct.unpack_from(">i", body, pos)
            if flags & 2:  # sequential: a 10-digit counter after the name
                zxid[0] += 1
                path = f"{path}{zxid[0]:010d}"
            if path in tree:
                return NODE_EXISTS, b""
            parent = path.rsplit("/", 1)[0] or "/"
            if parent not in tree:
                return NO_NODE, b""
            tree[path] = data or b""
            return 0, enc(path.encode())
        if op == 2:  # delete
            if path not in tree:
                return NO_NODE, b""
            del tree[path]
            return 0, b""
        if op == 3:  # exists
            return (0, stat(path)) if path in tree else (NO_NODE, b"")
        if op == 4:  # getData
            return (0, enc(tree[path]) + stat(path)) if path in tree else (NO_NODE, b"")
        if op == 5:  # setData
            if path not in tree:
                return NO_NODE, b""
            tree[path], _ = string(body, pos)
            return 0, stat(path)
        if op in (8, 12):  # getChildren, getChildren2
            if path not in tree:
                return NO_NODE, b""
            kids = children_of(path)
            out = struct.pack(">i", len(kids)) + b"".join(enc(k.encode()) for k in kids)
            return 0, out + (stat(path) if op == 12 else b"")
        if op == 9:  # sync
            return 0, enc(path.encode())
        return 0, b""  # ping (11), close (-11), setWatches (101)


def serve(conn):
    try:
        (n,) = struct.unpack(">i", read_exact(conn, 4))
        req = read_exact(conn, n)
        _, _, timeout, _ = struct.unpack_from(">iqiq", req, 0)
        resp = struct.pack(">iiq", 0, timeout, 0x5EED) + enc(b"\0" * 16)
        conn.sendall(struct.pack(">i", len(resp)) + resp)
        while True:
            (n,) = struct.unpack(">i", read_exact(conn, 4))
            req = read_exact(conn, n)
            xid, op = struct.unpack_from(">ii", req, 0)
            err, body = answer(op, req[8:])
            zxid[0] += 1
            resp = struct.pack(">iqi", xid, zxid[0], err) + (body if err == 0 else b"")
            conn.sendall(struct.pack(">i", len(resp)) + resp)
            if op == -11:
                break
    except (EOFError, OSError, struct.error):
        pass
    finally:
        conn.close()


def main():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", int(sys.argv[1])))
    srv.listen(16)
    print("stub zookeeper listening", flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()

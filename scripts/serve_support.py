"""Helpers shared by the weir serve scripts (serve-clients.py and its clients, serve-vs-tansu.py,
serve-fetch-vs-embedded.py): a free loopback port and a process's CPU time."""
import os
import socket

CLK = os.sysconf("SC_CLK_TCK")


def free_port():
    """A loopback TCP port that is free now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cpu_seconds(pid):
    """User + system CPU seconds of process `pid` so far (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK

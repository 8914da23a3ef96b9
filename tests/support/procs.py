"""Looking at a running server's processes through /proc (Linux): members, memory, sockets."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    found = [pid]
    for parent in found:
        children = Path(f"/proc/{parent}/task/{parent}/children")
        try:
            found += [int(child) for child in children.read_text().split()]
        except FileNotFoundError:
            continue
    return found


def peak_rss_bytes(pid: int) -> int:
    """The most resident memory the process has ever used (``VmHWM``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmHWM for process {pid}")


def reset_peak_rss(pid: int) -> None:
    """Start ``VmHWM`` afresh from the current resident size (Linux ``clear_refs`` value 5)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except FileNotFoundError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _server_side_inode(server_port: int, client_port: int) -> str:
    """The inode of the server's end of the TCP connection from ``client_port``."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        remote_port = int(fields[2].split(":")[1], 16)
        if local_port == server_port and remote_port == client_port:
            return fields[9]
    raise AssertionError(f"no connection from port {client_port} to {server_port}")


def serving_process(reply: httpx.Response, candidates: list[int]) -> int:
    """Which of ``candidates`` holds the server end of the (still open) connection of ``reply``."""
    stream = reply.extensions["network_stream"]
    sock = stream.get_extra_info("socket")
    client_port = sock.getsockname()[1]
    server_port = sock.getpeername()[1]
    inode = _server_side_inode(server_port, client_port)
    owners = [pid for pid in candidates if inode in _socket_inodes(pid)]
    assert len(owners) == 1, f"connection held by {owners}"
    return owners[0]


def stop_group(process: subprocess.Popen[str], timeout: float) -> None:
    """SIGTERM to the process's whole group, SIGKILL if it is not gone within ``timeout``."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

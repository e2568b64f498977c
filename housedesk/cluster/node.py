"""Who this process is in the cluster."""

from __future__ import annotations

import os
import socket
import uuid

from core.clock import Clock
from core.storage.cluster import NodeIdentity


def this_process(clock: Clock, node_id: str = "") -> NodeIdentity:
    """This process: ``node_id`` when configured, else host, pid and a random suffix (so a
    restarted process with a reused pid is a new node)."""
    host = socket.gethostname()
    pid = os.getpid()
    node = node_id or f"{host}-{pid}-{uuid.uuid4().hex[:4]}"
    return NodeIdentity(node=node, host=host, pid=pid, started_at=clock.now())

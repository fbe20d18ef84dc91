"""A TCP proxy in front of the H2 server that can cut connections: the "network errors" of the Xactly source.

GitLab runs the Xactly extract a second time at 05:00 because transient network errors happen
(shared/sources/xactly.md §4); the driver talks HTTPS to Xactly, H2's driver talks its TCP protocol, and
both fail the same way when the socket dies mid-result. ``drop_after(bytes, times)`` makes the next
``times`` connections die after the server has sent ``bytes`` bytes on them, i.e. in the middle of a page.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class TcpFaultProxy:
    """Forward ``127.0.0.1:<port>`` to ``target``; optionally kill connections after N bytes."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._drop_after: int | None = None
        self._drops_left = 0
        self.dropped = 0
        self.connections = 0
        self._closing = False
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True, name="xactly-proxy").start()

    def drop_after(self, server_bytes: int, times: int = 1) -> None:
        """Cut each of the next ``times`` connections once the server has sent ``server_bytes`` bytes on it."""
        with self._lock:
            self._drop_after = server_bytes
            self._drops_left = times

    def jdbc_url(self, database: str = "xactly") -> str:
        """H2 TCP URL through this proxy."""
        return f"jdbc:h2:tcp://127.0.0.1:{self.port}/{database}"

    def close(self) -> None:
        """Stop accepting and close every open connection."""
        self._closing = True
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self.connections += 1
                limit = None
                if self._drops_left > 0:
                    self._drops_left -= 1
                    limit = self._drop_after
                self._sockets += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, None), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, limit), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, limit: int | None) -> None:
        sent = 0
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if limit is not None and sent + len(data) >= limit:
                    sink.sendall(data[: max(limit - sent, 0)])
                    with self._lock:
                        self.dropped += 1
                    break
                sink.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()

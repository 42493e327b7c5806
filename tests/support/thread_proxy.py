"""A TCP forwarder on plain threads, to take a database "away" from a real `sunap serve` and bring
it back, for synchronous tests.

Blocking sockets rather than asyncio: every socket it accepts or opens is tracked from the moment
it exists, so stopping closes all of them. (An asyncio server can accept a connection while it is
being closed and leave that socket to the garbage collector, which fails a later test with a
ResourceWarning.)

`close_delay` holds a client's side open a while after the server closed its own: what the
server sent last reaches the client at once, the close only then, as from a database backend
slow to exit (PostgreSQL's goodbye to a terminated session, then its close, milliseconds apart
on a loaded server).

`pause()` freezes the database as `kill -STOP` of its server (or of a proxy in front of it)
would, without stopping anything shared: connections are still accepted and what is sent is
read, but nothing reaches the other side, in either direction, until `resume()` (which delivers
what was held, as a thawed server would read it). `held()` is what a paused proxy read and has not
forwarded yet: a test can wait for a given command to be stuck in it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class ThreadedTcpProxy:
    def __init__(
        self, target_port: int, target_host: str = "127.0.0.1", *, close_delay: float = 0.0
    ) -> None:
        self._target = (target_host, target_port)
        self._close_delay = close_delay
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._flowing = threading.Event()
        self._flowing.set()
        self._held = bytearray()
        self.port = 0

    def start(self) -> None:
        """Listen (again, on the same port once one was chosen) and forward every connection."""
        listener = socket.create_server(("127.0.0.1", self.port))
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def pause(self) -> None:
        """Forward nothing more, and connect nothing new to the target, until `resume`."""
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    def held(self) -> bytes:
        """What was read while paused and not forwarded yet (either direction)."""
        with self._lock:
            return bytes(self._held)

    def stop(self) -> None:
        """Stop listening and cut every forwarded connection, as a database crash would (a
        paused proxy resumes: its held threads then find their sockets closed)."""
        self._flowing.set()
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._sockets = self._sockets, set()
        if listener is not None:
            _close(listener)
        for sock in sockets:
            _close(sock)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            if not self._keep(listener, client):
                return
            threading.Thread(target=self._connect, args=(listener, client), daemon=True).start()

    def _connect(self, listener: socket.socket, client: socket.socket) -> None:
        self._flowing.wait()
        try:
            server = socket.create_connection(self._target, timeout=10)
            server.settimeout(None)
        except OSError:
            self._drop(client)
            return
        if not self._keep(listener, server):
            return
        for source, sink, delay in ((client, server, 0.0), (server, client, self._close_delay)):
            threading.Thread(target=self._pipe, args=(source, sink, delay), daemon=True).start()

    def _keep(self, listener: socket.socket, sock: socket.socket) -> bool:
        """Track a new socket, or close it at once when the proxy stopped since `listener`."""
        with self._lock:
            if self._listener is listener:
                self._sockets.add(sock)
                return True
        _close(sock)
        return False

    def _pipe(self, source: socket.socket, sink: socket.socket, close_delay: float) -> None:
        try:
            while data := source.recv(65536):
                if not self._flowing.is_set():
                    with self._lock:
                        self._held += data
                    self._flowing.wait()
                    with self._lock:
                        self._held.clear()  # resumed: all of it goes through now
                sink.sendall(data)
            time.sleep(close_delay)  # the source closed: its sink learns of it only now
        except OSError:
            pass
        self._drop(source)
        self._drop(sink)

    def _drop(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
        _close(sock)


def _close(sock: socket.socket) -> None:
    """Shut down first: it wakes a thread blocked in accept() or recv() on this socket."""
    with contextlib.suppress(OSError):  # not connected, or already shut
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()

"""The asyncio TcpProxy on a thread and loop of its own, for synchronous tests: stop it and the
service behind it loses its database or broker, start it and they are back on the same port."""

from __future__ import annotations

import asyncio
import threading

from tests.integration.brokers.tcp_proxy import TcpProxy


class ProxyThread:
    """The asyncio TcpProxy on a thread and loop of its own, for synchronous tests."""

    def __init__(self, target_port: int) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._proxy = TcpProxy(target_port)
        self._thread.start()

    @property
    def port(self) -> int:
        return self._proxy.port

    def start(self) -> None:
        asyncio.run_coroutine_threadsafe(self._proxy.start(), self._loop).result(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._proxy.stop(), self._loop).result(10)

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

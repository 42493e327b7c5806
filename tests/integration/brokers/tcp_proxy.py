"""A TCP forwarder we own, to take a broker "away" and bring it back without touching the broker
other tests share (toxiproxy-style; docs/reliability.md, Testing the rules)."""

from __future__ import annotations

import asyncio
import contextlib


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._pipes: set[asyncio.Task[None]] = set()
        self.port = 0
        self.refusing = False  # accept and close at once, as a broker behind a balancer would
        self.refused = 0  # connections accepted and closed while refusing

    async def refuse(self) -> None:
        """Cut every forwarded connection, then accept connections and close them at once."""
        await self.stop()
        self.refusing = True
        await self.start()

    async def forward(self) -> None:
        """Forward connections again."""
        self.refusing = False

    async def start(self) -> None:
        """Listen (again, on the same port once one was chosen) and forward every connection."""
        self._server = await asyncio.start_server(
            self._forward, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and cut every forwarded connection, as a broker crash would."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        self._writers.clear()

    async def _forward(self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter):
        if self.refusing:
            self.refused += 1
            client.close()
            with contextlib.suppress(Exception):
                await client.wait_closed()
            return
        self._writers.add(client)
        try:
            server_reader, server = await asyncio.open_connection(*self._target)
        except OSError:
            client.close()
            return
        self._writers.add(server)
        for task in (
            asyncio.create_task(self._pipe(client_reader, server)),
            asyncio.create_task(self._pipe(server_reader, client)),
        ):
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

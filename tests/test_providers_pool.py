"""The shared client's pool (providers/_pool.py) with its own keep-alive check and held request head:
a connection the provider has closed is noticed before it is reused, and requests arrive whole."""

from __future__ import annotations

import asyncio

from mesoclaw_tui.providers._http import make_client
from tests.waiting import eventually_async

RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"


class OneShotServer:
    """Answers one request per connection (keeping it alive), then closes it once `hang_up` is set;
    records each read() it got, to see how the request arrived."""

    def __init__(self) -> None:
        self.reads: list[bytes] = []
        self.connections = 0
        self.closed = 0
        self.hang_up = asyncio.Event()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        data = await reader.read(65536)
        self.reads.append(data)
        writer.write(RESPONSE)
        await writer.drain()
        await self.hang_up.wait()
        writer.close()
        self.closed += 1


async def test_a_connection_the_provider_closed_is_not_reused() -> None:
    fake = OneShotServer()
    server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1/chat/completions"
    client = make_client()
    try:
        first = await client.post(url, content=b'{"model": "m"}', headers={"content-type": "application/json"})
        assert first.status_code == 200
        fake.hang_up.set()
        await eventually_async(lambda: fake.closed == 1, what="the server to close the keep-alive connection")
        second = await client.post(url, content=b'{"model": "m"}', headers={"content-type": "application/json"})
        assert second.status_code == 200 and fake.connections == 2
        assert all(read.endswith(b'{"model": "m"}') and read.startswith(b"POST ") for read in fake.reads)
    finally:
        await client.aclose()
        server.close()

"""A TCP forwarder for the cluster tests: `tcp_forward.py LISTEN_HOST LISTEN_PORT TARGET TARGET_PORT`.
SIGSTOP it and the host behind it is cut off (loopback partitions); in the namespace set-up it
carries PostgreSQL from a host's link to 127.0.0.1."""

import asyncio
import sys


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except Exception:  # the other side went away
        pass
    finally:
        writer.close()


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        up_reader, up_writer = await asyncio.open_connection(sys.argv[3], int(sys.argv[4]))
    except OSError:
        writer.close()
        return
    await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def main() -> None:
    server = await asyncio.start_server(handle, sys.argv[1], int(sys.argv[2]))
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())

"""Pure domain types. No I/O, no asyncio, no framework imports."""

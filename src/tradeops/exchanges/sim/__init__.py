"""A Binance-spot-compatible exchange simulator: a real HTTP server process that an unmodified
ccxt.binance client talks to by URL override. It matches with the paper venue's matching core."""

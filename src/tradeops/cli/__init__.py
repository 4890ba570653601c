"""The `tradeops` command line: thin click groups over use-case functions."""

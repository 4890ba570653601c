"""Strategies: pure functions of a market view and the strategy's own positions to signals."""

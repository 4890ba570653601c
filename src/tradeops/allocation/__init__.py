"""Capital allocation: how much of the account each strategy may use. Pure functions."""

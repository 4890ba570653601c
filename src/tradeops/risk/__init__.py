"""Risk: one pure pre-trade gate every order passes, and the loss/drawdown monitors."""

"""fakewatch_cost."""

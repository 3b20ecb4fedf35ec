"""fakewatch_serve."""

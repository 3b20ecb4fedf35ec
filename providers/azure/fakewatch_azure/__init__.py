"""fakewatch_azure."""

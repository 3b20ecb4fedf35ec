"""fakewatch_aws."""

"""fakewatch_iac."""

"""fakewatch_gcp."""

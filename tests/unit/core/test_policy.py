"""Policy files: validated with the field at fault named; thresholds vary by context."""

from __future__ import annotations

import re

import pytest

from fakewatch.errors import ConfigError
from fakewatch.labels import Action, Label
from fakewatch.policy import Policy, dump_policy, load_policy

POLICY = """
name: newsroom
thresholds: {review: 0.4, quarantine: 0.8}
skip:
  prefixes: [tmp/]
  suffixes: [.txt]
  media_kinds: [audio]
overrides:
  - name: kids-platform
    match: {prefix: kids/}
    set:
      thresholds: {review: 0.2, quarantine: 0.5}
      actions: {no_evidence: review}
  - name: trusted-partner
    match: {tenant: "partner-*"}
    set:
      thresholds: {review: 0.7, quarantine: 0.95}
"""


def test_default_policy_is_usable() -> None:
    policy = load_policy(None)
    assert policy.action_for(Label.SYNTHETIC) is Action.QUARANTINE
    assert policy.action_for(Label.NO_EVIDENCE) is Action.ALLOW


def test_overrides_by_prefix_and_tenant(tmp_path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(POLICY)
    policy = load_policy(path)
    assert policy.for_object("uploads", "misc/a.jpg").thresholds.review == 0.4
    kids = policy.for_object("uploads", "kids/a.jpg")
    assert (kids.thresholds.review, kids.rule) == (0.2, "kids-platform")
    assert kids.action_for(Label.NO_EVIDENCE) is Action.REVIEW
    assert kids.skip.prefixes == ("tmp/",)  # untouched sections carry over
    assert policy.for_object("uploads", "partner-acme/x.png").thresholds.review == 0.7


def test_round_trips_through_yaml(tmp_path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(POLICY)
    policy = load_policy(path)
    again = load_policy(dump_policy(policy))
    assert again.summary() == policy.summary()
    assert again.for_object("b", "kids/x").thresholds == policy.for_object("b", "kids/x").thresholds


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("thresholds: {review: 1.5}", "thresholds.review"),
        ("thresholds: {review: 0.9, quarantine: 0.5}", "review <= quarantine"),
        ("actions: {synthetic: delete}", "actions.synthetic"),
        ("skip: {media_kinds: [hologram]}", "skip.media_kinds.0"),
        ("limits: {max_pixels: 0}", "limits.max_pixels"),
        ("overrides: [{match: {}, set: {}}]", "overrides.0.match"),
        (
            "overrides: [{match: {prefix: a/}, set: {thresholds: {review: 0.9, quarantine: 0.1}}}]",
            "overrides[override-0]: thresholds",
        ),
        ("colour: blue", "colour"),
        ("- a\n- list\n", "mapping"),
        ("no-such-policy.yaml", "policy file no-such-policy.yaml"),
        ("thresholds: [", "YAML"),
    ],
)
def test_bad_policies_name_the_field(text: str, says: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(says)):
        load_policy(text)


def test_skip_rules_before_fetch() -> None:
    skip = load_policy(POLICY).skip
    assert skip.reason_before_fetch("tmp/a.jpg", 10, {}) == "key starts with skipped prefix 'tmp/'"
    assert "suffix" in (skip.reason_before_fetch("notes.TXT", 10, {}) or "")
    assert skip.reason_before_fetch("a.jpg", 0, {}) == "zero-length object"
    assert "skip tag" in (skip.reason_before_fetch("a.jpg", 10, {"fakewatch-skip": "true"}) or "")
    assert skip.reason_before_fetch("a.jpg", 10, {"fakewatch-skip": "no"}) is None
    assert skip.reason_for_kind("audio") and not skip.reason_for_kind("image")


def test_fingerprint_changes_with_thresholds() -> None:
    assert Policy().fingerprint() != load_policy("thresholds: {review: 0.3}").fingerprint()

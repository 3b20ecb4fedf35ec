"""One sentence a non-expert can act on: what happened, which signal, how sure, which threshold."""

from __future__ import annotations

from fakewatch.fusion import Fused
from fakewatch.labels import Action, Label
from fakewatch.policy import Policy

_DO = {
    Action.QUARANTINE: "Quarantined",
    Action.REVIEW: "Sent to human review",
    Action.ALLOW: "Allowed",
}


def _first_evidence(fused: Fused) -> tuple[str, str, float]:
    source = (fused.strong or fused.tampering or (fused.decisive,))[0]
    assert source is not None
    text = source.evidence[0] if source.evidence else f"{source.name} reported a score"
    return source.name, text.rstrip("."), source.confidence


def explain(label: Label, action: Action, fused: Fused, policy: Policy) -> str:
    t = policy.thresholds
    verb = _DO[action]
    if label is Label.NO_EVIDENCE:
        checked = ", ".join(fused.checked) or "no signal"
        if fused.decisive is not None and fused.risk > 0:
            name, text, confidence = _first_evidence(fused)
            return (
                f"{verb}: the strongest reading — {text} ({name}, confidence {confidence:.2f}) — "
                f"stays below the review threshold (risk {fused.risk:.2f} < {t.review:.2f}; "
                f"checked: {checked}); this is not proof that the media is authentic."
            )
        return (
            f"{verb}: no signal found evidence of AI generation or manipulation (checked: "
            f"{checked}; risk {fused.risk:.2f} < review threshold {t.review:.2f}) — this is not "
            f"proof that the media is authentic."
        )
    name, text, confidence = _first_evidence(fused)
    if label is Label.SYNTHETIC:
        why = f"strong evidence of AI generation: {text} ({name}, confidence {confidence:.2f})"
        return f"{verb}: {why}; risk {fused.risk:.2f}."
    if fused.tampering and fused.risk < t.review:
        return (
            f"{verb}: provenance data was altered after signing — {text} ({name}, confidence "
            f"{confidence:.2f}); this is not proof either way."
        )
    bar = "quarantine" if action is Action.QUARANTINE else "review"
    threshold = t.quarantine if action is Action.QUARANTINE else t.review
    return (
        f"{verb}: {text} ({name}, confidence {confidence:.2f}); risk {fused.risk:.2f} ≥ {bar} "
        f"threshold {threshold:.2f}."
    )


def explain_error(reason: str, detail: str, action: Action) -> str:
    return f"{_DO[action]}: could not scan ({reason}): {detail.rstrip('.')}."


def explain_skip(rule: str, action: Action) -> str:
    return f"{_DO[action]} without scanning: skipped by policy ({rule})."

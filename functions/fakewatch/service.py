"""What every cloud's function does with one "object created" event, written once.

``ScanService.handle(event)``: skip rules → the object still there and unchanged? → already
done? → fetch under the byte limit → scan → write the verdict once → tag → quarantine (copy,
check, delete) → audit → result event. Providers only parse their events into
:class:`ObjectEvent` and call this; they add nothing cloud-specific to the decision.

Asynchronous escalation: a verdict whose escalation is ``pending`` leaves a small record under
``pending/<request id>.json``; ``complete(answer)`` finds it and writes revision 2 of the verdict.

Idempotency: the verdict key is derived from the object's identity (version or ETag) and the
scanner's fingerprint, and written write-once; a ``.done`` marker is written after the side
effects. A redelivered event whose marker exists does nothing; one whose verdict exists but
whose marker does not (a crash mid-way) finishes the side effects without scanning again.

Errors: bad input becomes an ``error`` verdict (permanent: never retried). Storage hiccups
raise :class:`~fakewatch.errors.TransientError` so the platform retries the delivery.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote

from fakewatch.errors import (
    AccessDenied,
    LimitExceeded,
    ObjectChanged,
    ObjectNotFound,
    TransientError,
)
from fakewatch.labels import Action, ErrorReason, Label
from fakewatch.policy import Policy
from fakewatch.ports.audit import AuditSink
from fakewatch.ports.escalation import ANSWER_PREFIX, EscalationAnswer, answer_from_document
from fakewatch.ports.notify import RESULT_EVENT_SOURCE, RESULT_EVENT_TYPE, NotificationSink
from fakewatch.ports.store import ObjectInfo, ObjectStore
from fakewatch.scanner import Scanner
from fakewatch.verdict import ObjectIdentity, Verdict

log = logging.getLogger("fakewatch.service")

TAG_PREFIX = "fakewatch-"
TAG_LABEL, TAG_SCORE, TAG_ACTION = "fakewatch-label", "fakewatch-score", "fakewatch-action"
TAG_SCANNED_AT, TAG_FINGERPRINT = "fakewatch-scanned-at", "fakewatch-fingerprint"
MAX_ANSWER_BYTES = 1024 * 1024  # an answer document is a few hundred bytes
RELEASE_SHA256 = "fakewatch-sha256"  # metadata on a released copy: which bytes were scanned


@dataclass(frozen=True)
class ObjectEvent:
    """A cloud-neutral "object created" notification."""

    bucket: str
    key: str
    etag: str | None = None
    version: str | None = None  # S3 VersionId, GCS generation, Azure version id
    size: int | None = None
    event_id: str | None = None
    event_time: str | None = None
    source: str = "local"


@dataclass(frozen=True)
class Outcome:
    """What handling one event did."""

    event: ObjectEvent
    verdict: Verdict | None
    verdict_key: str | None
    duplicate: bool = False
    quarantined_to: str | None = None
    steps: tuple[str, ...] = ()

    @property
    def label(self) -> str | None:
        return self.verdict.label.value if self.verdict else None


@dataclass
class ScanService:
    store: ObjectStore
    scanner: Scanner
    results_bucket: str
    audit: AuditSink
    notifier: NotificationSink
    results_prefix: str = "verdicts/"
    quarantine_bucket: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    pending_prefix: str = "pending/"
    answers_prefix: str = ANSWER_PREFIX
    answers_bucket: str | None = None  # where queued jobs' answers land; default: results
    release_bucket: str | None = None  # fail-closed gate: allowed objects are copied here

    @property
    def policy(self) -> Policy:
        return self.scanner.policy

    # -- keys ----------------------------------------------------------------------------------
    def verdict_key(self, bucket: str, key: str, object_version: str) -> str:
        ident = quote(object_version, safe="")
        return f"{self.results_prefix}{bucket}/{key}/{ident}/{self.scanner.fingerprint}.json"

    def quarantine_key(self, bucket: str, key: str) -> str:
        return f"{bucket}/{key}"

    # -- the handler ---------------------------------------------------------------------------
    def handle(self, event: ObjectEvent) -> Outcome:
        started = time.perf_counter()
        ident = ObjectIdentity(
            uri=self.store.uri(event.bucket, event.key),
            bucket=event.bucket,
            key=event.key,
            size=event.size,
            etag=event.etag,
            version=event.version,
        )
        policy = self.policy.for_object(event.bucket, event.key)
        if event.bucket == (self.answers_bucket or self.results_bucket) and self._is_answer(
            event.key
        ):
            return self.complete_from_object(event)
        own = (
            self.results_bucket,
            self.quarantine_bucket,
            self.answers_bucket,
            self.release_bucket,
        )
        if event.bucket in own:
            log.info("ignoring event on the scanner's own output", extra={"uri": ident.uri})
            return Outcome(event, None, None, steps=("ignored-own-output",))
        try:
            info = self.store.head(event.bucket, event.key)
        except ObjectNotFound:
            return self._finish(event, self._gone(ident, ErrorReason.DELETED_BEFORE_SCAN))
        except AccessDenied as exc:
            return self._finish(event, self._denied(ident, exc))
        if _changed(event, info):
            return self._finish(event, self._gone(ident, ErrorReason.CHANGED_BEFORE_SCAN))
        ident = ObjectIdentity(
            uri=ident.uri,
            bucket=event.bucket,
            key=event.key,
            size=info.size,
            etag=info.etag,
            version=event.version or info.version,
        )
        vkey = self.verdict_key(
            event.bucket, event.key, ident.version or ident.etag or "unversioned"
        )
        if self.store.exists(self.results_bucket, vkey + ".done"):
            return Outcome(event, None, vkey, duplicate=True, steps=("duplicate",))
        existing = self._existing_verdict(vkey)
        if existing is not None:
            return self._side_effects(event, existing, vkey, info, resumed=True)
        tags = self.store.get_tags(event.bucket, event.key)
        skip = policy.skip.reason_before_fetch(event.key, info.size, tags)
        if skip:
            verdict = self.scanner.skipped_verdict(ident, skip, policy=policy)
        else:
            verdict = self._scan(ident, info, policy, started)
        if not self.store.put_once(
            self.results_bucket, vkey, verdict.to_json().encode(), content_type="application/json"
        ):
            return Outcome(event, None, vkey, duplicate=True, steps=("duplicate-concurrent",))
        return self._side_effects(event, verdict, vkey, info, resumed=False)

    def _scan(
        self, ident: ObjectIdentity, info: ObjectInfo, policy: Policy, started: float
    ) -> Verdict:
        try:
            data = self.store.get(
                ident.bucket, ident.key, max_bytes=policy.limits.max_bytes, if_match=info.etag
            )
        except LimitExceeded as exc:
            return self.scanner.error_verdict(ident, ErrorReason.TOO_LARGE, str(exc), policy=policy)
        except ObjectNotFound:
            return self._gone(ident, ErrorReason.DELETED_BEFORE_SCAN)
        except ObjectChanged:
            return self._gone(ident, ErrorReason.CHANGED_BEFORE_SCAN)
        except AccessDenied as exc:
            return self._denied(ident, exc)
        fetch_ms = (time.perf_counter() - started) * 1000.0
        try:
            verdict = self.scanner.scan(data, ident)
        except Exception as exc:  # a bug must still leave a record, not a retry storm
            log.exception("scan failed", extra={"uri": ident.uri})
            detail = f"{type(exc).__name__}: {exc}"
            return self.scanner.error_verdict(ident, ErrorReason.INTERNAL, detail, policy=policy)
        timings = {"fetch_ms": fetch_ms, **verdict.timings}
        timings["total_ms"] = (time.perf_counter() - started) * 1000.0
        return _replace_timings(verdict, timings)

    def _gone(self, ident: ObjectIdentity, reason: ErrorReason) -> Verdict:
        detail = {
            ErrorReason.DELETED_BEFORE_SCAN: "the object was deleted before it could be scanned",
            ErrorReason.CHANGED_BEFORE_SCAN: (
                "the object was overwritten after this event; "
                "the new version is scanned on its own event"
            ),
        }[reason]
        return self.scanner.error_verdict(ident, reason, detail)

    def _denied(self, ident: ObjectIdentity, exc: Exception) -> Verdict:
        return self.scanner.error_verdict(ident, ErrorReason.ACCESS_DENIED, str(exc))

    def _existing_verdict(self, vkey: str) -> Verdict | None:
        try:
            doc = self.store.get_json(self.results_bucket, vkey)
        except ObjectNotFound:
            return None
        return verdict_from_dict(doc)

    def _finish(self, event: ObjectEvent, verdict: Verdict) -> Outcome:
        """Record an outcome for an object that is gone/changed/unreadable (nothing to tag)."""
        ident = verdict.object
        version = event.version or event.etag or "unknown"
        vkey = self.verdict_key(ident.bucket, ident.key, f"{version}-{verdict.error_reason}")
        if self.store.exists(self.results_bucket, vkey + ".done"):
            return Outcome(event, None, vkey, duplicate=True, steps=("duplicate",))
        written = self.store.put_once(self.results_bucket, vkey, verdict.to_json().encode())
        recorded = verdict if written else (self._existing_verdict(vkey) or verdict)
        self._record(recorded, vkey)
        self._mark_done(vkey)
        steps = ("verdict" if written else "resumed", "audit", "event")
        return Outcome(event, recorded, vkey, steps=steps)

    def _mark_done(self, vkey: str) -> None:
        self.store.put(self.results_bucket, vkey + ".done", b"", content_type="text/plain")

    def _side_effects(
        self, event: ObjectEvent, verdict: Verdict, vkey: str, info: ObjectInfo, *, resumed: bool
    ) -> Outcome:
        steps = ["resumed" if resumed else "verdict"]
        quarantined_to = None
        try:
            if verdict.error_reason not in (
                ErrorReason.DELETED_BEFORE_SCAN,
                ErrorReason.CHANGED_BEFORE_SCAN,
            ):
                self.store.update_tags(event.bucket, event.key, tags_for(verdict))
                steps.append("tagged")
            if verdict.action is Action.QUARANTINE and self.quarantine_bucket:
                quarantined_to = self._quarantine(event, verdict, info)
                steps.append("quarantined")
            steps += self._gate(event, verdict)
        except ObjectNotFound:
            steps.append("object-gone")  # deleted meanwhile: the verdict still stands
        if _awaits_answer(verdict):
            self._remember_pending(event, verdict, vkey)
            steps.append("pending")
        self._record(verdict, vkey)
        steps += ["audit", "event"]
        self._mark_done(vkey)
        return Outcome(event, verdict, vkey, quarantined_to=quarantined_to, steps=tuple(steps))

    # -- asynchronous escalation: the answer revises the verdict ---------------------------------
    def pending_key(self, request_id: str) -> str:
        return f"{self.pending_prefix}{quote(request_id, safe='')}.json"

    def _remember_pending(self, event: ObjectEvent, verdict: Verdict, vkey: str) -> None:
        """Where the answer to this verdict's escalation must go (idempotent overwrite)."""
        assert verdict.escalation is not None
        record = {"verdict_key": vkey, "event": asdict(event), "verdict_id": verdict.id}
        self.store.put(
            self.results_bucket,
            self.pending_key(str(verdict.escalation["request_id"])),
            json.dumps(record).encode(),
            content_type="application/json",
        )

    def _is_answer(self, key: str) -> bool:
        return key.startswith(self.answers_prefix) and key.endswith(".json")

    def complete_from_object(self, event: ObjectEvent) -> Outcome:
        """A queued job's answer document landed in the results bucket: complete its verdict.
        A document that names no request is recorded in the log and ignored (never retried)."""
        try:
            raw = self.store.get(event.bucket, event.key, max_bytes=MAX_ANSWER_BYTES)
            answer = answer_from_document(json.loads(raw))
        except ObjectNotFound:
            return Outcome(event, None, None, steps=("answer-gone",))
        except (LimitExceeded, ValueError) as exc:
            log.error("unusable escalation answer", extra={"key": event.key, "error": str(exc)})
            return Outcome(event, None, None, steps=("ignored-malformed-answer",))
        return self.complete(answer)

    def complete(self, answer: EscalationAnswer) -> Outcome:
        """Fold an asynchronous endpoint's answer into the verdict that awaits it.

        Writes revision 2 of the verdict write-once beside the first (``….r2.json``), re-tags
        the object, quarantines it if the new decision says so (never if it changed or went
        meanwhile), audits and publishes. A repeated answer does nothing. An answer whose
        verdict is not recorded yet raises TransientError (the scan may still be finishing);
        one whose object changed is recorded but touches nothing."""
        try:
            pending = self.store.get_json(self.results_bucket, self.pending_key(answer.request_id))
        except ObjectNotFound:
            raise TransientError(
                f"no pending escalation {answer.request_id!r} yet; retry after the scan lands"
            ) from None
        event = ObjectEvent(**pending["event"])
        original_key = str(pending["verdict_key"])
        rkey = original_key.removesuffix(".json") + ".r2.json"
        if self.store.exists(self.results_bucket, rkey + ".done"):
            return Outcome(event, None, rkey, duplicate=True, steps=("duplicate",))
        revised = self._existing_verdict(rkey)
        resumed = revised is not None
        if revised is None:
            original = self._existing_verdict(original_key)
            if original is None:
                raise TransientError(f"verdict {original_key} is not readable yet")
            revised = self.scanner.revise(original, answer)
            if not self.store.put_once(
                self.results_bucket,
                rkey,
                revised.to_json().encode(),
                content_type="application/json",
            ):
                return Outcome(event, None, rkey, duplicate=True, steps=("duplicate-concurrent",))
        return self._revision_side_effects(event, revised, rkey, resumed=resumed)

    def _revision_side_effects(
        self, event: ObjectEvent, verdict: Verdict, rkey: str, *, resumed: bool
    ) -> Outcome:
        steps = ["resumed" if resumed else "revised"]
        quarantined_to = None
        try:
            info = self.store.head(event.bucket, event.key)
            if verdict.object.etag and _etag(info.etag or "") != _etag(verdict.object.etag):
                raise ObjectNotFound("overwritten since the scan; the new version has a verdict")
            self.store.update_tags(event.bucket, event.key, tags_for(verdict))
            steps.append("tagged")
            if verdict.action is Action.QUARANTINE and self.quarantine_bucket:
                quarantined_to = self._quarantine(event, verdict, info)
                steps.append("quarantined")
            steps += self._gate(event, verdict)
        except ObjectNotFound:
            steps.append("object-gone")  # moved, deleted or replaced: the revision still stands
        self._record(verdict, rkey, kind="escalation")
        steps += ["audit", "event"]
        self._mark_done(rkey)
        return Outcome(event, verdict, rkey, quarantined_to=quarantined_to, steps=tuple(steps))

    # -- the release gate ------------------------------------------------------------------------
    def _gate(self, event: ObjectEvent, verdict: Verdict) -> list[str]:
        """Fail-closed read gating by copy: readers get the release bucket only, and only the
        exact bytes that were scanned and allowed are written there. A later decision that is
        not ``allow`` (an asynchronous escalation's revision) takes the copy back."""
        if not self.release_bucket or verdict.object.sha256 is None:
            return []
        if verdict.action is Action.ALLOW:
            return [self._release(event, verdict)]
        return [self._withdraw(event, verdict)]

    def _release(self, event: ObjectEvent, verdict: Verdict) -> str:
        assert self.release_bucket is not None
        policy = self.policy.for_object(event.bucket, event.key)
        try:
            data = self.store.get(
                event.bucket,
                event.key,
                max_bytes=policy.limits.max_bytes,
                if_match=verdict.object.etag,
            )
        except ObjectChanged:
            return "not-released-changed"  # the new version is released on its own verdict
        if hashlib.sha256(data).hexdigest() != verdict.object.sha256:
            return "not-released-changed"
        mime = (verdict.object.media_type or {}).get("mime")
        self.store.put(
            self.release_bucket,
            event.key,
            data,
            content_type=mime,
            metadata={RELEASE_SHA256: verdict.object.sha256 or "", "fakewatch-verdict": verdict.id},
        )
        return "released"

    def _withdraw(self, event: ObjectEvent, verdict: Verdict) -> str:
        assert self.release_bucket is not None
        try:
            released = self.store.head(self.release_bucket, event.key)
        except ObjectNotFound:
            return "not-released"
        if released.metadata.get(RELEASE_SHA256) != verdict.object.sha256:
            return "not-released"  # what is there is another version, with its own verdict
        self.store.delete(self.release_bucket, event.key)
        return "withdrawn"

    def _quarantine(self, event: ObjectEvent, verdict: Verdict, info: ObjectInfo) -> str:
        assert self.quarantine_bucket is not None
        qkey = self.quarantine_key(event.bucket, event.key)
        current = self.store.head(event.bucket, event.key)
        if info.etag and current.etag != info.etag:
            raise ObjectNotFound("overwritten before quarantine; the new version has its own event")
        self.store.put(
            self.quarantine_bucket,
            qkey + ".verdict.json",
            verdict.to_json().encode(),
            content_type="application/json",
        )
        self.store.move(event.bucket, event.key, self.quarantine_bucket, qkey)
        return self.store.uri(self.quarantine_bucket, qkey)

    def _record(self, verdict: Verdict, vkey: str, kind: str = "scan") -> None:
        """Audit entry (once: an ``.audited`` marker survives a retried delivery), then the
        result event (at least once: consumers deduplicate on the verdict id)."""
        summary = verdict.summary()
        summary["verdict_uri"] = self.store.uri(self.results_bucket, vkey)
        if not self.store.exists(self.results_bucket, vkey + ".audited"):
            self.audit.append({"kind": kind, **summary})
            self.store.put(self.results_bucket, vkey + ".audited", b"", content_type="text/plain")
        self.notifier.publish(
            {
                "type": RESULT_EVENT_TYPE,
                "source": RESULT_EVENT_SOURCE,
                "id": verdict.id,
                "data": summary,
            }
        )


def _awaits_answer(verdict: Verdict) -> bool:
    escalation = verdict.escalation or {}
    return escalation.get("status") == "pending" and bool(escalation.get("request_id"))


def _changed(event: ObjectEvent, info: ObjectInfo) -> bool:
    if event.version and info.version and event.version != info.version:
        return True
    return bool(event.etag and info.etag and _etag(event.etag) != _etag(info.etag))


def _etag(value: str) -> str:
    return value.strip('"').lower()


def tags_for(verdict: Verdict) -> dict[str, str]:
    """The tags the scanner writes on the input object (and only the scanner may write)."""
    tags = {
        TAG_LABEL: verdict.label.value,
        TAG_ACTION: verdict.action.value,
        TAG_SCANNED_AT: verdict.scanned_at,
        TAG_FINGERPRINT: verdict.fingerprint,
    }
    if verdict.risk_score is not None:
        tags[TAG_SCORE] = f"{verdict.risk_score:.3f}"
    return tags


def _replace_timings(verdict: Verdict, timings: Mapping[str, float]) -> Verdict:
    from dataclasses import replace

    return replace(verdict, timings=dict(timings))


def verdict_from_dict(doc: Mapping[str, Any]) -> Verdict:
    """Rebuild a Verdict from its JSON document (for resuming side effects and reports)."""
    o = doc["object"]
    return Verdict(
        object=ObjectIdentity(
            uri=o["uri"],
            bucket=o["bucket"],
            key=o["key"],
            size=o.get("size"),
            sha256=o.get("sha256"),
            etag=o.get("etag"),
            version=o.get("version"),
            media_type=o.get("media_type"),
        ),
        label=Label(doc["label"]),
        action=Action(doc["action"]),
        explanation=doc["explanation"],
        risk_score=doc.get("risk_score"),
        scanned_at=doc["scanned_at"],
        pipeline_version=doc["pipeline_version"],
        fingerprint=doc["fingerprint"],
        signals=tuple(doc.get("signals", ())),
        error=doc.get("error"),
        disagreements=tuple(doc.get("disagreements", ())),
        escalation=doc.get("escalation"),
        models=tuple(doc.get("models", ())),
        policy=doc.get("policy", {}),
        timings=doc.get("timings", {}),
        skip_reason=doc.get("skip_reason"),
        revision=int(doc.get("revision", 1)),
        supersedes=doc.get("supersedes"),
    )


__all__ = ["ObjectEvent", "Outcome", "ScanService", "tags_for"]

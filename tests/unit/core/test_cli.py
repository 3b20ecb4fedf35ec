"""The fakewatch CLI: formats, exit codes, the local bucket, calibration, audit verification."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fakewatch import samples
from fakewatch.cli.main import app

runner = CliRunner()
ONLY_C2PA = "signals: [c2pa]\n"  # fast and deterministic for exit-code tests


@pytest.fixture
def media(tmp_path: Path) -> Path:
    folder = tmp_path / "media"
    folder.mkdir()
    photo = samples.photo_like_jpeg()
    (folder / "photo.jpg").write_bytes(photo)
    (folder / "nested").mkdir()
    (folder / "nested" / "declared-ai.jpg").write_bytes(
        samples.c2pa_signed(photo, "image/jpeg", "trainedAlgorithmicMedia")
    )
    return folder


def _policy(tmp_path: Path, text: str = ONLY_C2PA) -> str:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return str(path)


def test_jsonl_is_one_verdict_per_line_and_nothing_else(media: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["scan", str(media), "-f", "jsonl", "--policy", _policy(tmp_path)])
    lines = result.stdout.strip().splitlines()
    docs = [json.loads(line) for line in lines]
    assert len(docs) == 2 and {d["label"] for d in docs} == {"no_evidence", "synthetic"}
    assert result.exit_code == 3  # something flagged


def test_exit_codes(media: Path, tmp_path: Path) -> None:
    policy = _policy(tmp_path)
    clean = runner.invoke(app, ["scan", str(media / "photo.jpg"), "--policy", policy])
    assert clean.exit_code == 0, clean.output
    (media / "broken.png").write_bytes(samples.corrupt_file("png"))
    unscanned = runner.invoke(
        app, ["scan", str(media / "broken.png"), str(media / "photo.jpg"), "--policy", policy]
    )
    assert unscanned.exit_code == 4
    both = runner.invoke(app, ["scan", str(media), "--policy", policy, "-f", "json"])
    assert both.exit_code == 5 and len(json.loads(both.stdout)) == 3
    bad = runner.invoke(
        app, ["scan", str(media), "--policy", _policy(tmp_path, "thresholds: {review: 7}")]
    )
    assert bad.exit_code == 2 and "thresholds.review" in bad.output


def test_watch_scans_each_file_once_across_restarts(media: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "photo.jpg").write_bytes((media / "photo.jpg").read_bytes())
    (inbox / "ai.jpg").write_bytes((media / "nested" / "declared-ai.jpg").read_bytes())
    policy = _policy(tmp_path)
    first = runner.invoke(app, ["watch", str(inbox), "--once", "--policy", policy])
    assert first.exit_code == 3 and "2 scanned" in first.output
    assert (tmp_path / "fakewatch-quarantine" / "inbox" / "ai.jpg").exists()
    assert not (inbox / "ai.jpg").exists()
    again = runner.invoke(app, ["watch", str(inbox), "--once", "--policy", policy])
    assert "0 scanned" in again.output and again.exit_code == 0
    (inbox / "photo.jpg").write_bytes(samples.corrupt_file("jpeg"))  # changed: scanned again
    changed = runner.invoke(app, ["watch", str(inbox), "--once", "--policy", policy])
    assert "1 scanned: 1 error" in changed.output
    audit = tmp_path / "fakewatch-results" / "fakewatch-audit.jsonl"
    verify = runner.invoke(app, ["audit", "verify", str(audit)])
    assert verify.exit_code == 0 and "3 entries" in verify.output


def test_audit_verify_detects_tampering(media: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i in range(3):
        (inbox / f"p{i}.jpg").write_bytes(samples.photo_like_jpeg(64 + i, 48))
    runner.invoke(app, ["watch", str(inbox), "--once", "--policy", _policy(tmp_path)])
    audit = tmp_path / "fakewatch-results" / "fakewatch-audit.jsonl"
    lines = audit.read_text().splitlines()
    entry = json.loads(lines[1])
    entry["record"]["label"] = (
        "no_evidence" if entry["record"]["label"] != "no_evidence" else "synthetic"
    )
    lines[1] = json.dumps(entry)
    audit.write_text("\n".join(lines) + "\n")
    result = runner.invoke(app, ["audit", "verify", str(audit)])
    assert result.exit_code == 3 and "entry 1" in result.output


def test_calibrate_writes_a_policy_meeting_the_target(tmp_path: Path) -> None:
    data = tmp_path / "labelled"
    (data / "real").mkdir(parents=True)
    (data / "fake").mkdir()
    for i in range(6):
        photo = samples.photo_like_jpeg(96 + 8 * i, 72)
        (data / "real" / f"r{i}.jpg").write_bytes(photo)
        (data / "fake" / f"f{i}.jpg").write_bytes(samples.c2pa_signed(photo, "image/jpeg"))
    out, report = tmp_path / "calibrated.yaml", tmp_path / "report.json"
    result = runner.invoke(
        app,
        [
            "calibrate",
            str(data),
            "--out",
            str(out),
            "--json",
            str(report),
            "--policy",
            _policy(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(report.read_text())
    assert metrics["signals"]["c2pa"]["auc"] == 1.0 and metrics["review"]["fpr"] == 0.0
    assert metrics["review"]["tpr"] == 1.0 and "provisional" in metrics["warning"]
    from fakewatch.policy import load_policy

    assert load_policy(out).thresholds.review == metrics["review"]["threshold"]


def test_policy_check_shows_the_effective_policy(tmp_path: Path) -> None:
    policy = _policy(
        tmp_path,
        "overrides: [{name: kids, match: {prefix: kids/}, set: {thresholds: {review: 0.2}}}]",
    )
    result = runner.invoke(app, ["policy", "check", policy, "--bucket", "b", "--key", "kids/a.png"])
    assert result.exit_code == 0 and json.loads(result.stdout)["rule"] == "kids"


def test_console_script_lists_plugins_without_importing_them() -> None:
    code = (
        "import sys; from fakewatch.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit: pass\n"
        "loaded = {'boto3', 'google.cloud.storage', 'azure.storage.blob'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "scan" in out.stdout and "cost" in out.stdout and "aws" in out.stdout


def test_scan_with_a_model_manifest_records_the_model(media: Path, tmp_path: Path) -> None:
    from fakewatch.testing.onnx_models import statistic_classifier, write_model

    manifest = write_model(tmp_path / "model", statistic_classifier())
    result = runner.invoke(
        app, ["scan", str(media / "photo.jpg"), "-f", "json", "--model", str(manifest)]
    )
    (verdict,) = json.loads(result.stdout)
    learned = next(s for s in verdict["signals"] if s["name"] == "learned")
    assert learned["status"] == "ok" and 0.0 <= learned["score"] <= 1.0
    model = next(m for m in verdict["models"] if m["sha256"])
    assert len(model["sha256"]) == 64
    from fakewatch.models import SESSIONS

    SESSIONS.clear()  # as a fresh process would start: the next load reads and hashes the file
    tampered = tmp_path / "model" / "model.onnx"
    tampered.write_bytes(tampered.read_bytes() + b"\0")
    refused = runner.invoke(
        app, ["scan", str(media / "photo.jpg"), "-f", "json", "--model", str(manifest)]
    )
    (doc,) = json.loads(refused.stdout)
    learned = next(s for s in doc["signals"] if s["name"] == "learned")
    assert learned["status"] == "failed" and "sha256" in " ".join(learned["evidence"])

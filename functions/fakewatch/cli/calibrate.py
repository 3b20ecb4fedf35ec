"""``fakewatch calibrate FOLDER``: measure the signals on labelled media and write a policy."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from fakewatch import calibration as cal
from fakewatch.cli.common import MODEL_HELP, POLICY_HELP, fail, policy_or_exit, scanner_or_exit
from fakewatch.cli.scan import iter_files, scan_file
from fakewatch.fusion import evidence_of
from fakewatch.labels import Label
from fakewatch.policy import Thresholds, dump_policy
from fakewatch.signals.base import SignalResult, Status

REAL = ("real", "authentic", "genuine", "camera")
FAKE = ("fake", "synthetic", "generated", "ai", "deepfake")


def _classes(folder: Path) -> dict[int, list[Path]]:
    found: dict[int, list[Path]] = {0: [], 1: []}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        name = sub.name.lower()
        cls = 0 if name in REAL else 1 if name in FAKE else None
        if cls is not None:
            found[cls] += list(iter_files([sub]))
    return found


def _signal_result(doc: dict[str, object]) -> SignalResult:
    return SignalResult(
        name=str(doc["name"]),
        status=Status(str(doc["status"])),
        modality=str(doc["modality"]),
        score=doc["score"],  # type: ignore[arg-type]
        confidence=float(doc["confidence"]),  # type: ignore[arg-type]
    )


def calibrate(
    folder: Annotated[Path, typer.Argument(help="Folder with real/ and fake/ sub-folders.")],
    target_fpr: Annotated[
        float, typer.Option(help="False-positive rate allowed at review.")
    ] = 0.01,
    out: Annotated[Path, typer.Option(help="Where to write the calibrated policy.")] = Path(
        "policy.calibrated.yaml"
    ),
    policy: Annotated[Path | None, typer.Option(help=POLICY_HELP)] = None,
    model: Annotated[str | None, typer.Option(help=MODEL_HELP)] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the metrics as JSON.")
    ] = None,
) -> None:
    """Per-signal and fused AUC, FPR/TPR at candidate thresholds, and a policy meeting the target.

    Sub-folders named real/authentic/genuine/camera hold real media; fake/synthetic/generated/
    ai/deepfake hold fakes. The review threshold is the lowest risk whose false-positive rate on
    the real media is at most --target-fpr; quarantine uses a tenth of it.
    """
    if not 0 < target_fpr < 1:
        raise fail("--target-fpr must lie between 0 and 1")
    base = policy_or_exit(policy)
    scanner = scanner_or_exit(base, model)
    files = _classes(folder)
    if not files[0] or not files[1]:
        raise fail(f"{folder} needs both a real/ and a fake/ sub-folder with media in them")
    scores: dict[str, dict[int, list[float]]] = {}
    errors = 0
    for cls, paths in files.items():
        for path in paths:
            verdict = scan_file(scanner, path)
            if verdict.label in (Label.ERROR, Label.SKIPPED) or verdict.risk_score is None:
                errors += 1
                continue
            scores.setdefault("fused", {0: [], 1: []})[cls].append(verdict.risk_score)
            for doc in verdict.signals:
                e = evidence_of(_signal_result(dict(doc)), base.weights)
                scores.setdefault(str(doc["name"]), {0: [], 1: []})[cls].append(e)
    fused = scores["fused"]
    review = cal.threshold_for_fpr(fused[0], target_fpr)
    quarantine = max(review, cal.threshold_for_fpr(fused[0], target_fpr / 10))
    report = _report(scores, review, quarantine, target_fpr, errors)
    _print(report, Console())
    calibrated = replace(
        base, name=f"{base.name}-calibrated", thresholds=Thresholds(review, quarantine)
    )
    out.write_text(dump_policy(calibrated))
    typer.echo(f"wrote {out} (review {review:.4f}, quarantine {quarantine:.4f})")
    if json_out:
        json_out.write_text(json.dumps(report, indent=2))


def _report(
    scores: dict[str, dict[int, list[float]]],
    review: float,
    quarantine: float,
    target: float,
    errors: int,
) -> dict[str, object]:
    fused = scores["fused"]
    signals = {
        name: {
            "auc": cal.auc(s[0], s[1]),
            "n_real": len(s[0]),
            "n_fake": len(s[1]),
            "rates": [vars(cal.rates_at(s[0], s[1], t)) for t in cal.GRID],
        }
        for name, s in scores.items()
    }
    warning = None
    if len(fused[0]) < cal.min_real_for(target):
        warning = (
            f"only {len(fused[0])} real samples: a false-positive rate of {target:g} needs at "
            f"least {cal.min_real_for(target)} to be measured; treat the thresholds as provisional"
        )
    return {
        "target_fpr": target,
        "review": vars(cal.rates_at(fused[0], fused[1], review)),
        "quarantine": vars(cal.rates_at(fused[0], fused[1], quarantine)),
        "signals": signals,
        "unscanned": errors,
        "warning": warning,
    }


def _print(report: dict[str, object], console: Console) -> None:
    table = Table(title="calibration")
    for col in ("signal", "AUC", "n real", "n fake", "FPR@0.5", "TPR@0.5"):
        table.add_column(col, justify="right" if col != "signal" else "left")
    signals: dict[str, dict[str, object]] = report["signals"]  # type: ignore[assignment]
    for name, m in signals.items():
        at = next(r for r in m["rates"] if r["threshold"] == 0.5)  # type: ignore[attr-defined]
        a = m["auc"]
        table.add_row(
            name,
            "-" if a is None else f"{a:.3f}",
            str(m["n_real"]),
            str(m["n_fake"]),
            f"{at['fpr']:.3f}",
            f"{at['tpr']:.3f}",
        )
    console.print(table)
    for level in ("review", "quarantine"):
        r: dict[str, float] = report[level]  # type: ignore[assignment]
        console.print(
            f"{level}: threshold {r['threshold']:.4f} → false-positive rate {r['fpr']:.3f}, "
            f"detection rate {r['tpr']:.3f}"
        )
    if report["warning"]:
        console.print(f"[yellow]warning:[/] {report['warning']}")

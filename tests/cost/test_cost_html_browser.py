"""The HTML report opened in a real headless browser (Debian's Chromium).

``--dump-dom`` gives the DOM Chromium built; ``--screenshot`` proves the charts paint. The
test is skipped only where no Chromium is installed (CI installs it: apt-get install chromium).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fakewatch_cost.catalog import Catalog
from fakewatch_cost.profile import load_profile
from fakewatch_cost.reports import RENDERERS, build_report
from fakewatch_cost.reports.svg import COMPONENT_COLORS

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-extensions",
    "--disable-background-networking",
    "--hide-scrollbars",
]


@pytest.fixture(scope="module")
def html_file(
    tmp_path_factory: pytest.TempPathFactory, catalogs: dict[str, Catalog], as_of: dt.date
) -> Path:
    if CHROMIUM is None:
        if os.environ.get("CI"):  # CI installs it: a missing browser there is a failure
            pytest.fail("chromium is not installed; .ci/run installs it with apt-get")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    report = build_report(load_profile("seed-2025"), catalogs, as_of=as_of)
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(RENDERERS["html"](report), encoding="utf-8")
    return path


def run_chromium(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={cwd / 'profile'}", *args],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
        cwd=cwd,
    )


def test_chromium_renders_totals_seed_table_and_chart_elements(html_file: Path) -> None:
    proc = run_chromium("--dump-dom", html_file.as_uri(), cwd=html_file.parent)
    dom = proc.stdout
    assert proc.returncode == 0 and "<svg" in dom, proc.stderr[-2000:]
    for provider, total in (("aws", "$1,787.74"), ("gcp", "$2,172.80"), ("azure", "$1,706.88")):
        assert re.search(rf'id="total-{provider}"[^>]*>{re.escape(total)}<', dom)
    for provider, total in (("aws", "$1,259.19"), ("gcp", "$1,479.18"), ("azure", "$1,289.50")):
        assert re.search(rf'id="seed-reproduced-{provider}"[^>]*>{re.escape(total)}<', dom)
    assert "reproduced to the cent" in dom
    bars = re.findall(r'<rect class="bar" data-provider="(\w+)"', dom)
    assert Counter(bars) == {"aws": 9, "gcp": 8, "azure": 8}
    assert len(re.findall(r'<polyline class="series"', dom)) == 3
    assert len(re.findall(r'<circle class="point"', dom)) == 3 * 7


def test_chromium_paints_the_bars(html_file: Path) -> None:
    shot = html_file.parent / "shot.png"
    proc = run_chromium(
        f"--screenshot={shot}", "--window-size=1100,1400", html_file.as_uri(), cwd=html_file.parent
    )
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    image = np.asarray(Image.open(shot).convert("RGB"))

    def pixels(hex_colour: str) -> int:
        rgb = [int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]
        return int(np.all(image == rgb, axis=-1).sum())

    # The face-detection and GPU segments are the largest: thousands of pixels each.
    assert pixels(COMPONENT_COLORS["face_detection"]) > 2000
    assert pixels(COMPONENT_COLORS["gpu_inference"]) > 1000
    assert pixels(COMPONENT_COLORS["storage"]) > 0

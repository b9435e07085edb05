"""A real browser decodes every figure and audio file of a written page (headless Chromium, selenium).

Skipped only on a machine without Chromium outside CI; with CI set a missing browser fails the test.
"""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from browser import CHROMIUM, check_page
from sslrp.report import page, plots
from test_page import make_spec

FS = 16000
pytestmark = pytest.mark.skipif(not os.environ.get("CI") and not Path(CHROMIUM).exists(),
                                reason=f"{CHROMIUM} not installed (install chromium chromium-driver)")


def _write_figures(out_dir, spec):
    """Real PNGs (one source and one manipulation figure, copied to every name the page links) and
    real WAVs of distinct lengths; returns the expected duration of each WAV in seconds."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(1602)
    source_png, manipulation_png = out_dir / "source.png", out_dir / "manipulation.png"
    plots.save_figure(plots.source_figure(x[2:], x[2:], x[:-2], x[:-2], FS, "tiny"), source_png)
    orderings = ("relevance", "energy", "random")
    curves = {c: {o: ([0, 50], [0.1, 0.3]) for o in orderings} for c in spec.conditions}
    plots.save_figure(plots.manipulation_figure(curves, "LocCNN"), manipulation_png)
    durations = {}
    for rel in page.linked_files(page.build_markdown(spec)):
        target = out_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith(".wav"):
            durations[rel] = (len(durations) + 1) * 0.1
            plots.write_wav(target, rng.standard_normal(round(durations[rel] * FS)), FS)
        else:
            shutil.copyfile(manipulation_png if "manipulation" in rel else source_png, target)
    return durations


def test_every_image_and_audio_of_a_written_page_loads(tmp_path):
    spec = make_spec(["SNR_25_T60_0.15", "SNR_10_T60_0.6"])
    durations = _write_figures(tmp_path, spec)
    _, html_path = page.write_page(tmp_path, spec)
    report = check_page(html_path)
    images = [p for p in page.linked_files(html_path.read_text()) if p.endswith(".png")]
    assert set(report["images"]) == set(images) and len(images) == 2 + 8
    assert all(width > 0 for width in report["images"].values()), report["images"]
    assert report["audio"].keys() == durations.keys() and len(durations) == 16
    for src, duration in report["audio"].items():
        assert duration == pytest.approx(durations[src], abs=1e-3), src


def test_check_page_reports_an_undecodable_image(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"not a png")
    (tmp_path / "index.html").write_text('<!DOCTYPE html><html><body><img src="broken.png"></body></html>')
    assert check_page(tmp_path / "index.html", timeout=10) == {"images": {"broken.png": 0}, "audio": {}}

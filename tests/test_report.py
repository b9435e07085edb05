"""The Snakemake report's texts (workflow/report/: the front page and every caption) render as reStructuredText
without a docutils warning or error. The report of a real run is checked in tests/test_workflow.py."""

import io
import re
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest
from docutils.core import publish_parts

from conftest import REPO

TEXTS = sorted((REPO / "workflow" / "report").glob("*.rst"))
# What Snakemake hands a caption's template (a job's wildcards, the config); one example job.
SNAKEMAKE = SimpleNamespace(wildcards=SimpleNamespace(model="loc_cnn", cond="SNR_25_T60_0.15", extreme="min"),
                            config={})


def docutils_messages(rst):
    """The warnings and errors docutils reports while rendering `rst` to HTML (as Snakemake does)."""
    stream = io.StringIO()
    publish_parts(rst, writer="html", settings_overrides={"warning_stream": stream, "report_level": 2})
    return stream.getvalue()


def test_a_bad_caption_would_be_caught():
    assert "Undefined substitution" in docutils_messages("anomaly when |error| exceeds the threshold")


@pytest.mark.parametrize("path", TEXTS, ids=[p.name for p in TEXTS])
def test_report_text_renders_cleanly(path):
    rst = jinja2.Template(path.read_text(), undefined=jinja2.StrictUndefined).render(snakemake=SNAKEMAKE)
    assert docutils_messages(rst) == ""


def test_every_report_text_is_used_and_the_front_page_is_set():
    used = "\n".join(p.read_text() for p in [REPO / "Snakefile", *(REPO / "workflow" / "rules").glob("*.smk")])
    referenced = {Path(m).name for m in re.findall(r'"((?:\.\./|workflow/)report/[^"]+\.rst)"', used)}
    assert referenced == {p.name for p in TEXTS}
    assert 'report: "workflow/report/workflow.rst"' in (REPO / "Snakefile").read_text()

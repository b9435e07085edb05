"""The results page: the seed page's sections and links in the seed's order, plus standalone HTML."""

import re
from pathlib import Path

import pytest

from sslrp import page

SEED = Path(__file__).resolve().parents[1].parent / "shared" / "seeds" / "000_5fb3b84df4a61c40.txt"
SEED_CONDITIONS = ["SNR_25_T60_0.15", "SNR_20_T60_0.3", "SNR_15_T60_0.4", "SNR_10_T60_0.6"]
MODELS = ["loc_cnn", "sample_cnn"]


def make_spec(conditions=SEED_CONDITIONS, models=MODELS):
    """A page spec with small tables, as the page step builds it from the results."""
    return page.PageSpec(
        conditions=list(conditions),
        models=list(models),
        localization_table="| Model | MAE [m] |\n|---|---|\n| LocCNN | 0.11 |\n| SampleCNN | 0.12 |",
        tdoa_table="| Condition | Anomalies [%] |\n|:---|---:|\n| T60 0.15 s | 3.5 |",
        t60_rows=[(c, float(c.split("_")[-1]), 0.2) for c in conditions],
        config_yaml="seed: 0\nconditions:\n  - {t60: 0.15, snr: 25}\n",
    )


def expected_links(conditions, models):
    """The seed's link order, written out independently of the page module."""
    links = [f"figures/manipulation__{m}_.png" for m in ("loc_cnn", "sample_cnn") if m in models]
    for c in conditions:
        for m in ("sample_cnn", "loc_cnn"):
            for e in ("min", "max") if m in models else ():
                links += [f"figures/ex_gcc_relevance_{m}_{c}_error_{e}.png",
                          f"figures/audio_microphone_{m}_{c}_error_{e}.wav",
                          f"figures/audio_relevance_{m}_{c}_error_{e}.wav"]
    return links


def headings(markdown):
    """(level, text) of every markdown heading, bulleted or not."""
    return [(len(m[1]), m[2]) for m in re.finditer(r"^(?:\* )?(#+) (.+)$", markdown, re.M)]


def test_markdown_links_follow_the_seed_order():
    links = page.linked_files(page.build_markdown(make_spec()))
    assert links == expected_links(SEED_CONDITIONS, MODELS)
    assert sum(p.endswith(".png") for p in links) == 2 + 16 and sum(p.endswith(".wav") for p in links) == 32


@pytest.mark.skipif(not SEED.is_file(), reason=f"seed page not found at {SEED}")
def test_markdown_links_equal_the_seed_pages_links():
    seed_text = SEED.read_text()
    assert page.linked_files(page.build_markdown(make_spec())) == page.linked_files(seed_text)
    ours = [h for h in headings(page.build_markdown(make_spec())) if h[0] >= 2]
    assert ours[: len(headings(seed_text))] == headings(seed_text)


def test_markdown_sections_in_order():
    markdown = page.build_markdown(make_spec())
    assert markdown.startswith(f"---\ntitle: {page.TITLE}\n---\n")
    level2 = [text for level, text in headings(markdown) if level == 2]
    assert level2 == [
        "Manipulation of relevant input features", "Feature Inspection",
        "T60 0.15 s SNR 25 dB", "T60 0.3 s SNR 20 dB", "T60 0.4 s SNR 15 dB", "T60 0.6 s SNR 10 dB",
        "Localization error", "Time difference of arrival (TDoA)", "Measured reverberation time",
        "Configuration",
    ]
    assert page.INTRO in markdown
    assert "```yaml\nseed: 0\n" in markdown and "| LocCNN | 0.11 |" in markdown
    assert "| T60 0.3 s, SNR 20 dB | 0.3 | 0.200 |" in markdown


def test_any_conditions_in_config_order_and_a_single_model():
    conditions = ["SNR_5_T60_0.9", "SNR_30_T60_0.1"]
    markdown = page.build_markdown(make_spec(conditions, ["sample_cnn"]))
    assert page.linked_files(markdown) == expected_links(conditions, ["sample_cnn"])
    assert markdown.index("T60 0.9 s SNR 5 dB") < markdown.index("T60 0.1 s SNR 30 dB")
    assert "LocCNN" not in [text for _, text in headings(markdown)]


def test_audio_is_tagged_as_wav():
    markdown = page.build_markdown(make_spec())
    assert markdown.count('type="audio/wav"') == 32 and "audio/mpeg" not in markdown


def test_unknown_model_is_rejected():
    with pytest.raises(ValueError, match="unknown models"):
        make_spec(models=["loc_cnn", "resnet"])


def test_html_is_standalone_with_the_same_links_and_html_tables():
    spec = make_spec()
    text = page.build_html(spec)
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert "http://" not in text and "https://" not in text and "<script" not in text and "<link" not in text
    assert page.linked_files(text) == page.linked_files(page.build_markdown(spec))
    assert text.count("<img ") == 18 and text.count("<audio controls") == 32
    assert text.count("<table>") == 3 and "<th>Anomalies [%]</th>" in text and "<td>0.11</td>" in text
    assert "seed: 0" in text and "{t60: 0.15, snr: 25}" in text


def test_markdown_table_to_html_rejects_non_tables():
    with pytest.raises(ValueError):
        page.markdown_table_to_html("just text")


def test_write_page_writes_both_files_only_when_links_exist(tmp_path):
    spec = make_spec(["SNR_25_T60_0.15"])
    with pytest.raises(FileNotFoundError):
        page.write_page(tmp_path, spec)
    assert not (tmp_path / "index.md").exists()
    for rel in expected_links(spec.conditions, spec.models):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    md_path, html_path = page.write_page(tmp_path, spec)
    assert md_path.read_text() == page.build_markdown(spec)
    assert html_path.read_text() == page.build_html(spec)

"""The results page: the seed page's sections and links in the seed's order, plus standalone HTML."""

import html
import re
from pathlib import Path

import pytest

from sslrp.report import page

SEED = Path(__file__).resolve().parents[1].parent / "shared" / "seeds" / "000_5fb3b84df4a61c40.txt"
SEED_CONDITIONS = ["SNR_25_T60_0.15", "SNR_20_T60_0.3", "SNR_15_T60_0.4", "SNR_10_T60_0.6"]
MODELS = ["loc_cnn", "sample_cnn"]


def summary(model, condition, mae, mae_x, baseline_mae=0.110, baseline_x=0.105):
    """An evaluation summary (evaluate.py's summary.json) with the given test and baseline MAEs."""
    return {"model": model, "condition": condition, "n_windows": 40, "mae": mae, "mae_xyz": [mae_x, 0.1, 0.1],
            "baseline_mae": baseline_mae, "baseline_mae_xyz": [baseline_x, 0.121, 0.104]}


def make_spec(conditions=SEED_CONDITIONS, models=MODELS, summaries=None):
    """A page spec with small tables, as the page step builds it from the results; by default every model
    localizes (test MAE 0.081 m, x 0.050 m against the baseline's 0.110 / 0.105 m)."""
    if summaries is None:
        summaries = [summary(m, c, 0.081, 0.050) for m in models for c in conditions]
    return page.PageSpec(
        conditions=list(conditions),
        models=list(models),
        localization_table="| Model | MAE [m] |\n|---|---|\n| LocCNN | 0.11 |\n| SampleCNN | 0.12 |",
        tdoa_table="| Condition | Anomalies [%] |\n|:---|---:|\n| T60 0.15 s | 3.5 |",
        t60_rows=[(c, float(c.split("_")[-1]), 0.2) for c in conditions],
        config_yaml="seed: 0\nconditions:\n  - {t60: 0.15, snr: 25}\n",
        summaries=summaries,
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


def test_a_model_of_your_own_follows_the_built_ins_under_its_name():
    conds = SEED_CONDITIONS[:1]
    spec = make_spec(conditions=conds, models=["my_net", "loc_cnn"])
    markdown = page.build_markdown(spec)
    links = page.linked_files(markdown)
    c = conds[0]
    own = [f"figures/ex_gcc_relevance_my_net_{c}_error_{e}.png" for e in ("min", "max")]
    assert links.index("figures/manipulation__loc_cnn_.png") < links.index("figures/manipulation__my_net_.png")
    assert links.index(f"figures/ex_gcc_relevance_loc_cnn_{c}_error_max.png") < links.index(own[0]) < links.index(
        own[1])
    assert "### my_net" in markdown and "#### my_net" in markdown
    with pytest.raises(ValueError, match="no evaluation summary"):
        make_spec(models=["loc_cnn", "my_net"], summaries=[summary("loc_cnn", c, 0.1, 0.1) for c in SEED_CONDITIONS])


def test_html_is_standalone_with_the_same_links_and_html_tables():
    spec = make_spec()
    text = page.build_html(spec)
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert "http://" not in text and "https://" not in text and "<script" not in text and "<link" not in text
    assert page.linked_files(text) == page.linked_files(page.build_markdown(spec))
    assert text.count("<img ") == 18 and text.count("<audio controls") == 32
    assert text.count("<ul>") == 1 and text.count("<li>") == 8
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


def _paragraph_after(markdown, heading):
    """The first paragraph after a markdown heading line (bulleted or not)."""
    return markdown.split(heading + "\n\n", 1)[1].split("\n\n", 1)[0]


def test_page_says_which_model_localizes_from_the_measured_numbers():
    cond = "SNR_25_T60_0.15"
    summaries = [summary("loc_cnn", cond, 0.081, 0.050), summary("sample_cnn", cond, 0.150, 0.120),
                 summary("srp_phat", cond, 0.050, 0.030)]
    markdown = page.build_markdown(make_spec([cond], summaries=summaries))
    feature = markdown.split("## Localization error")[0]
    assert _paragraph_after(feature, "#### LocCNN") == (
        "LocCNN localizes: test MAE 0.081 m vs 0.110 m for the mean position (0.74x), "
        "x 0.050 m vs 0.105 m (0.48x); SRP-PHAT 0.050 m.")
    assert _paragraph_after(feature, "#### SampleCNN") == (
        "SampleCNN does not beat the mean-position baseline: test MAE 0.150 m vs 0.110 m for the mean position "
        "(1.36x), x 0.120 m vs 0.105 m (1.14x); SRP-PHAT 0.050 m. These explanations describe a network that "
        "has not learned to localize.")
    assert ("Of the 2 trained models (model x condition), in the unseen test square 1 localizes, 0 localize only "
            "partly, 1 does not localize") in feature
    localization = markdown.split("## Localization error")[1].split("## Time difference")[0]
    assert "- T60 0.15 s, SNR 25 dB: LocCNN localizes: test MAE 0.081 m" in localization
    assert "- T60 0.15 s, SNR 25 dB: SampleCNN does not beat the mean-position baseline" in localization
    assert localization.index("LocCNN localizes") < localization.index("SampleCNN does not")


def test_verdict_without_srp_names_only_the_baseline():
    markdown = page.build_markdown(make_spec(["SNR_25_T60_0.15"], ["loc_cnn"]))
    assert "SRP-PHAT" not in markdown
    assert "Of the 1 trained models (model x condition), in the unseen test square 1 localizes, " in markdown
    assert "LocCNN localizes: test MAE 0.081 m" in markdown


def test_html_says_the_same_verdicts_as_markdown():
    cond = "SNR_10_T60_0.6"
    spec = make_spec([cond], summaries=[summary("loc_cnn", cond, 0.100, 0.090),
                                        summary("sample_cnn", cond, 0.120, 0.040)])
    markdown, text = page.build_markdown(spec), page.build_html(spec)
    for model in ("LocCNN", "SampleCNN"):
        sentence = _paragraph_after(markdown, f"#### {model}")
        assert sentence.startswith(f"{model} localizes only partly") and f"<p>{html.escape(sentence)}</p>" in text


def test_a_missing_summary_is_rejected():
    with pytest.raises(ValueError, match="no evaluation summary"):
        make_spec(["SNR_25_T60_0.15"], summaries=[summary("loc_cnn", "SNR_25_T60_0.15", 0.1, 0.05)])


def _sanity_result(spearman, trained_anomalies, randomized_anomalies, mic_anomalies):
    rows = [{"depth": 0, "layer": "none", "spearman": 1.0, "tdoa_anomaly_percent": trained_anomalies},
            {"depth": 1, "layer": "fc2", "spearman": spearman, "tdoa_anomaly_percent": randomized_anomalies}]
    return {"randomization": rows, "microphone_tdoa": {"anomaly_percent": mic_anomalies}}


def test_randomization_finding_is_read_from_the_numbers():
    from sslrp.report.page import randomization_finding

    passed = randomization_finding(_sanity_result(0.21, 17.2, 30.0, 5.0), 0.5)
    assert "falls to 0.21 (at most 0.5): the relevance depends on the learned weights" in passed
    assert ("30.0 % TDoA anomalies on the randomized model's relevance, 17.2 % on the trained model's and 5.0 % on "
            "the microphone signals") in passed
    assert passed.endswith("TDoA result depends on what the network learned.")
    failed = randomization_finding(_sanity_result(0.8, 17.2, 0.0, 5.0), 0.5)
    assert "still rank-correlates 0.80 with the trained model's, above 0.5" in failed
    assert failed.endswith("TDoA result does not depend on what the network learned.")

"""Attribution methods beyond LRP (sslrp.explain.attribution) and the manipulation step comparing them."""

import json

import numpy as np
import pytest
import torch

from sslrp import names
from sslrp.data import dataset
from sslrp.explain import attribution, lrp
from sslrp.localize import models

WINDOW = 768  # the smallest multiple of 3 ** 6 / 2 both models accept (SampleCNN needs >= 729)
FAST = {"smoothgrad": {"n_samples": 3, "noise_level": 0.1}, "integrated_gradients": {"steps": 3},
        "occlusion": {"window": 256}}


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(0)
    windows = (0.1 * rng.normal(size=(3, 16, WINDOW))).astype(np.float32)
    targets = (np.array([1.7, 5.5, 1.25]) + 0.1 * rng.normal(size=(3, 3))).astype(np.float32)
    return windows, targets


def _model(name, seed=0):
    torch.manual_seed(seed)
    return models.build(name, WINDOW).eval()


def _loc(name, model=None):
    """The model as the workflow passes it on: a Localizer of the built-in `name`."""
    return models.spec(name).wrap(_model(name) if model is None else model)


@pytest.mark.parametrize("method", ("relevance",) + names.ATTRIBUTIONS)
@pytest.mark.parametrize("name", names.MODELS)
def test_every_method_gives_a_finite_map_shaped_like_the_input(name, method, batch):
    windows, targets = batch
    out = attribution.attribute(method, _loc(name), windows, targets, batch_size=2, settings=FAST)
    assert out.shape == windows.shape and out.dtype == np.float32
    assert np.isfinite(out).all() and np.abs(out).sum() > 0


def test_gradient_is_a_magnitude_and_gradient_x_input_its_signed_product(batch):
    windows, targets = batch
    model = _model("loc_cnn")
    grad = attribution.attribute("gradient", _loc("loc_cnn", model), windows, targets)
    product = attribution.attribute("gradient_x_input", _loc("loc_cnn", model), windows, targets)
    assert (grad >= 0).all()
    np.testing.assert_allclose(np.abs(product), grad * np.abs(windows), rtol=1e-5, atol=1e-12)
    assert (product < 0).any() and (product > 0).any()


def test_one_step_integrated_gradients_is_gradient_times_input(batch):
    # With one step the path integral is the gradient at x times (x - 0).
    windows, targets = batch
    model = _model("sample_cnn")
    ig = attribution.attribute("integrated_gradients", _loc("sample_cnn", model), windows, targets,
                               settings={"integrated_gradients": {"steps": 1}})
    product = attribution.attribute("gradient_x_input", _loc("sample_cnn", model), windows, targets)
    np.testing.assert_allclose(ig, product, rtol=1e-5, atol=1e-10)


def test_occlusion_scores_each_microphone_tile_by_what_zeroing_it_leaves_of_target_dot_output(batch):
    windows, targets = batch
    model = _model("loc_cnn")
    occ = attribution.attribute("occlusion", _loc("loc_cnn", model), windows, targets, batch_size=2,
                                settings={"occlusion": {"window": 256}})
    for mic, start in ((0, 0), (5, 256), (15, 512)):
        occluded = windows.copy()
        occluded[:, mic, start:start + 256] = 0
        with torch.no_grad():
            score = (model(torch.as_tensor(occluded)).numpy() * targets).sum(axis=1)
        tile = occ[:, mic, start:start + 256]
        np.testing.assert_allclose(tile, np.broadcast_to(-score[:, None], tile.shape), rtol=1e-4, atol=1e-5)


def test_smoothgrad_is_seeded_and_leaves_torch_random_state_alone(batch):
    windows, targets = batch
    model = _model("loc_cnn")

    def smooth(seed):
        return attribution.attribute("smoothgrad", _loc("loc_cnn", model), windows, targets, seed=seed, settings=FAST)

    torch.manual_seed(123)
    state = torch.get_rng_state()
    first = smooth(1)
    assert torch.equal(torch.get_rng_state(), state)
    np.testing.assert_array_equal(first, smooth(1))
    assert not np.array_equal(first, smooth(2))
    noise_free = attribution.attribute("smoothgrad", _loc("loc_cnn", model), windows, targets,
                                       settings={"smoothgrad": {"n_samples": 1}})
    np.testing.assert_allclose(noise_free, attribution.attribute("gradient", _loc("loc_cnn", model), windows, targets),
                               rtol=1e-6)


def test_epsilon_plus_flat_leaves_the_model_as_it_was(batch):
    """The SampleCNN canonizers (BatchNorm merged into convs, Sum, one-sided gate) are undone afterwards."""
    windows, targets = batch
    model = _model("sample_cnn").train()
    x = torch.as_tensor(windows)
    model.eval()
    with torch.no_grad():
        before = model(x)
    model.train()
    rel = attribution.attribute("epsilon_plus_flat", _loc("sample_cnn", model), windows, targets)
    assert model.training
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x), before)
    assert not np.allclose(rel, lrp.relevance(_loc("sample_cnn", model), windows, targets))  # another composite


def test_unknown_method_is_refused(batch):
    windows, targets = batch
    with pytest.raises(ValueError, match="unknown attribution method"):
        attribution.attribute("saliency", _loc("loc_cnn"), windows, targets)


def test_manipulation_step_adds_a_curve_per_configured_method(tmp_path, tiny_dataset, tiny_config, step_script):
    window = tiny_config["signals"]["window"]
    checkpoint = tmp_path / "loc_cnn.pth"
    torch.manual_seed(0)
    model = models.build("loc_cnn", window).eval()
    torch.save(model.state_dict(), checkpoint)
    test = dataset.read_split(tiny_dataset, "test")
    targets = test.position[test.source].astype(np.float32)
    rel_path = tmp_path / "relevance.h5"
    dataset.write_relevance(rel_path, lrp.relevance(_loc("loc_cnn", model), test.windows, targets), targets, test, {})
    orderings = ["relevance", "energy", "random", "gradient_x_input", "integrated_gradients", "occlusion"]
    step = step_script("manipulation")

    def curve_for(orderings, name, imputation="zeros"):
        step.run(str(tiny_dataset), str(checkpoint), str(rel_path), str(tmp_path / name), "loc_cnn", "tiny",
                 window, 16, [0, 30, 60], orderings, 16, 7, "cpu", 2, attribution_settings=FAST,
                 imputation=imputation, log=str(tmp_path / "log"))
        return json.loads((tmp_path / name).read_text())

    curve = curve_for(orderings, "all.json")
    paper = curve_for(orderings[:3], "paper.json")
    assert all(paper["mae"][o] == curve["mae"][o] for o in orderings[:3])  # the extra methods change nothing
    assert set(curve["mae"]) == set(orderings)
    assert all(len(v) == 3 and np.isfinite(v).all() for v in curve["mae"].values())
    assert len({v[0] for v in curve["mae"].values()}) == 1  # P = 0 is the unperturbed model for all
    assert set(curve["attribution_seconds_per_window"]) == {"gradient_x_input", "integrated_gradients", "occlusion"}
    assert "AOPC=" in (tmp_path / "log").read_text() and "SRG=" in (tmp_path / "log").read_text()
    # least relevant first for every ordering but random, from the same unperturbed start
    assert curve["imputation"] == "zeros" and set(curve["lerf"]) == set(orderings) - {"random"}
    assert all(curve["lerf"][o][0] == curve["mae"][o][0] for o in curve["lerf"])
    mean = curve_for(orderings[:3], "mean.json", imputation="mean")
    assert mean["imputation"] == "mean" and mean["mae"]["relevance"][0] == paper["mae"]["relevance"][0]
    assert mean["mae"]["relevance"][1:] != paper["mae"]["relevance"][1:]

"""Attribution methods beyond LRP (sslrp.explain.attribution) and the manipulation step comparing them."""

import json

import numpy as np
import pytest
import torch
from torch import nn

from sslrp import names
from sslrp.data import dataset
from sslrp.explain import attribution, batched, lrp
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


def _gradient(model, x, targets):
    """d(target . f(x))/dx by plain autograd: the reference for the zennit attributors."""
    x = torch.as_tensor(x).clone().requires_grad_(True)
    (model(x) * torch.as_tensor(targets)).sum().backward()
    return x.grad.numpy()


def test_integrated_gradients_is_the_right_riemann_sum_of_gradients_along_the_path(batch):
    # steps = 4: x * mean of the gradients at x/4, 2x/4, 3x/4 and x (the path from the all-zero input).
    windows, targets = batch
    model = _model("loc_cnn")
    ig = attribution.attribute("integrated_gradients", _loc("loc_cnn", model), windows, targets, batch_size=2,
                               settings={"integrated_gradients": {"steps": 4}})
    expected = windows * sum(_gradient(model, k / 4 * windows, targets) for k in range(1, 5)) / 4
    np.testing.assert_allclose(ig, expected, rtol=1e-4, atol=1e-6 * np.abs(expected).max())
    assert not np.allclose(ig, windows * _gradient(model, windows, targets), rtol=1e-2)  # the path matters


def test_smoothgrad_is_the_magnitude_of_the_mean_gradient_over_noisy_copies(batch):
    """n_samples = 4 from seed 5: three copies with Gaussian noise of std 0.1 x (each window's max - min), drawn
    from torch's generator seeded with the seed (one batch: every window at once), and the noise-free input."""
    windows, targets = batch
    model = _model("loc_cnn")
    smooth = attribution.attribute("smoothgrad", _loc("loc_cnn", model), windows, targets, batch_size=3, seed=5,
                                   settings={"smoothgrad": {"n_samples": 4, "noise_level": 0.1}})
    x = torch.as_tensor(windows)
    std = 0.1 * (x.amax(dim=(1, 2), keepdim=True) - x.amin(dim=(1, 2), keepdim=True))
    with torch.random.fork_rng():
        torch.manual_seed(5)
        noisy = [x + torch.randn(x.shape) * std for _ in range(3)] + [x]
    expected = np.abs(sum(_gradient(model, copy, targets) for copy in noisy) / 4)
    np.testing.assert_allclose(smooth, expected, rtol=1e-4, atol=1e-6 * expected.max())
    assert not np.allclose(smooth, np.abs(_gradient(model, windows, targets)), rtol=1e-2)  # the noise matters


def test_epsilon_plus_flat_attributor_gives_flat_zplus_and_epsilon_values():
    """The project's epsilon_plus_flat attributor on a small net (a first convolution of 2 non-overlapping
    positions, a 1x1 convolution, a dense output; ReLUs between), against a hand computation: Epsilon on the
    dense layer, ZPlus (positive weights and bias) on the inner convolution, Flat on the first (each output's
    relevance spread evenly over its 6 inputs, whatever their values)."""
    torch.manual_seed(1)
    net = nn.Sequential(nn.Conv1d(2, 5, 3, stride=3), nn.ReLU(), nn.Conv1d(5, 4, 1), nn.ReLU(), nn.Flatten(),
                        nn.Linear(8, 3)).eval()
    windows = torch.randn(2, 2, 6).numpy()
    targets = np.array([[1.5, 5.0, 1.2], [0.5, -2.0, 3.0]], np.float32)
    localizer = models.ModelSpec("net", nn.Sequential, "net").wrap(net)  # a model of one's own
    rel = batched.attribute(net, lambda: attribution.attributor("epsilon_plus_flat", localizer), windows,
                            targets, batch_size=2)
    w1, b1, w2, b2, w3, b3 = (p.detach().double().numpy() for p in net.parameters())
    w1, w2, w_plus = w1.reshape(5, 6), w2[:, :, 0], np.maximum(w2[:, :, 0], 0)

    def stabilized(z):
        return z + 1e-6 * np.where(z >= 0, 1.0, -1.0)

    for n in range(2):
        x = windows[n].astype(float)
        patches = np.stack([x[:, 3 * t:3 * t + 3].ravel() for t in range(2)], axis=1)  # [6 inputs, 2 positions]
        a1 = np.maximum(w1 @ patches + b1[:, None], 0)  # [5, 2]
        a2 = np.maximum(w2 @ a1 + b2[:, None], 0)  # [4, 2], flattened channel-major
        r_a2 = (a2.ravel() * (w3.T @ (targets[n] / stabilized(w3 @ a2.ravel() + b3)))).reshape(4, 2)
        r_a1 = a1 * (w_plus.T @ (r_a2 / stabilized(w_plus @ a1 + np.maximum(b2, 0)[:, None])))
        share = r_a1.sum(axis=0) / stabilized(6.0)  # per position
        expected = np.broadcast_to(np.repeat(share, 3), (2, 6))  # position t covers samples 3t..3t+2 of both mics
        np.testing.assert_allclose(rel[n], expected, rtol=1e-4, atol=1e-6 * np.abs(expected).max())
        assert abs(share[0] - share[1]) > 1e-3 * np.abs(share).max()  # the two positions differ: not vacuous


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

"""Training-time scaling (sslrp.localize.scaling): folding it into LocCNN and SampleCNN gives the same predictions
as the scaled training view, and unfolding inverts folding."""

import numpy as np
import pytest
import torch

from sslrp import names
from sslrp.localize import inference, models
from sslrp.localize.scaling import Scaling, TrainingView

SCALING = Scaling(gain=37.5, mean=(1.7, 5.5, 1.25), std=(0.5, 0.6, 0.15))


@pytest.mark.parametrize("name", names.MODELS)
def test_folded_model_equals_training_view(name):
    torch.manual_seed(0)
    model = models.build(name, 729, n_mics=4).eval()
    x = torch.randn(3, 4, 729) / 40
    with torch.no_grad():
        expected = TrainingView(model, SCALING)(x)
        by_hand = torch.tensor(SCALING.mean) + torch.tensor(SCALING.std) * model(x * SCALING.gain)
        folded = SCALING.fold(model)(x)
    torch.testing.assert_close(expected, by_hand)
    torch.testing.assert_close(folded, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", names.MODELS)
def test_unfold_inverts_fold(name):
    torch.manual_seed(1)
    model = models.build(name, 729, n_mics=4)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    SCALING.unfold(SCALING.fold(model))
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=1e-5, atol=1e-6)


def test_scaling_for_training_from_data():
    gen = np.random.default_rng(0)
    windows = (0.02 * gen.standard_normal((50, 4, 64))).astype(np.float32)
    positions = np.column_stack([gen.uniform(0, 2, 30), gen.uniform(4, 6, 30), gen.uniform(1, 1.5, 30)])
    scaling = Scaling.for_training(windows, positions, input_gain=True, standardize_targets=True)
    assert scaling.gain == pytest.approx(1 / np.sqrt(np.mean(windows.astype(np.float64) ** 2)))
    np.testing.assert_allclose(scaling.mean, positions.mean(axis=0))
    np.testing.assert_allclose(scaling.std, positions.std(axis=0))
    standardized = scaling.standardize(torch.as_tensor(positions))
    np.testing.assert_allclose(standardized.mean(dim=0), 0, atol=1e-12)
    assert Scaling.for_training(windows, positions, False, False) == Scaling()
    with pytest.raises(ValueError, match="silent"):
        Scaling.for_training(np.zeros_like(windows), positions, True, False)


def test_bf16_autocast_predicts_close_to_fp32():
    torch.manual_seed(2)
    model = models.build("loc_cnn", 700, n_mics=4)
    x = np.random.default_rng(3).standard_normal((5, 4, 700)).astype(np.float32)
    fp32 = inference.predict(model, x)
    bf16 = inference.predict(model, x, precision="bf16")
    assert bf16.dtype == np.float32
    np.testing.assert_allclose(bf16, fp32, atol=0.05 * np.abs(fp32).max())
    with pytest.raises(ValueError, match="precision"):
        inference.predict(model, x, precision="fp16")

"""LocCNN and SampleCNN: shapes, parameter counts and the published state-dict names."""

import pytest
import torch

from sslrp import names
from sslrp.localize import models


@pytest.mark.parametrize("name", names.MODELS)
@pytest.mark.parametrize("window", [1280, 5120])
def test_models_map_windows_to_positions(name, window):
    model = models.build(name, window).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 16, window))
    assert out.shape == (2, 3)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name, count", [("loc_cnn", 2_126_355), ("sample_cnn", 673_475)])
def test_parameter_counts_match_the_paper_at_5120(name, count):
    model = models.build(name, 5120)
    assert sum(p.numel() for p in model.parameters()) == count


def test_window_sets_loc_cnn_flatten_size():
    assert models.build("loc_cnn", 5120).fc1.in_features == 128 * 29
    assert models.build("loc_cnn", 1280).fc1.in_features == 128 * 7  # 1280 // 7 // 5 // 5


def test_window_sets_sample_cnn_pooling_lengths():
    model = models.build("sample_cnn", 5120)
    se_lengths = [getattr(model, f"ReSE{i}").SEBlock.globalAvgPooling.kernel_size[0] for i in range(1, 6)]
    assert se_lengths == [1706, 568, 189, 63, 21]  # the published code's hard-coded values
    assert model.Avgpool1.kernel_size[0] == 7


LOC_CNN_KEYS = {
    "conv1.weight": (96, 16, 7),
    "conv5.bias": (128,),
    "fc1.weight": (500, 3712),
    "fc2.weight": (3, 500),
}
SAMPLE_CNN_KEYS = {
    "BasicBlock1.conv.weight": (64, 16, 3),
    "BasicBlock1.bn.running_mean": (64,),
    "ReSE2.BasicBlock.conv.weight": (128, 128, 3),
    "ReSE5.SEBlock.dense2.bias": (128,),
    "dense1.weight": (256, 128),
    "bn1.running_var": (256,),
    "output_dense.weight": (3, 256),
}


@pytest.mark.parametrize("name, keys", [("loc_cnn", LOC_CNN_KEYS), ("sample_cnn", SAMPLE_CNN_KEYS)])
def test_state_dict_uses_published_names(name, keys):
    state = models.build(name, 5120).state_dict()
    assert {key: tuple(state[key].shape) for key in keys} == keys


def test_rese_block_keys_are_the_published_ones():
    bn = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    expected = (
        ["BasicBlock.conv.weight", "BasicBlock.conv.bias"]
        + [f"BasicBlock.bn.{k}" for k in bn]
        + ["conv1.weight", "conv1.bias"]
        + [f"bn1.{k}" for k in bn]
        + ["SEBlock.dense1.weight", "SEBlock.dense1.bias", "SEBlock.dense2.weight", "SEBlock.dense2.bias"]
    )
    state = models.build("sample_cnn", 5120).state_dict()
    assert [k.removeprefix("ReSE1.") for k in state if k.startswith("ReSE1.")] == expected


def test_state_dict_round_trips_strictly_across_instances():
    source, target = models.build("sample_cnn", 1280), models.build("sample_cnn", 1280)
    target.load_state_dict(source.state_dict(), strict=True)
    x = torch.randn(2, 16, 1280)
    with torch.no_grad():
        assert torch.equal(source.eval()(x), target.eval()(x))


def test_unknown_model_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="loc_cnn, sample_cnn"):
        models.build("resnet", 5120)


@pytest.mark.parametrize("name, too_short", [("loc_cnn", 174), ("sample_cnn", 728)])
def test_too_short_window_is_rejected(name, too_short):
    with pytest.raises(ValueError, match="at least"):
        models.build(name, too_short)


@pytest.mark.parametrize("name, output", [("loc_cnn", "fc2"), ("sample_cnn", "output_dense")])
def test_last_linear_module_is_the_output_layer(name, output):
    # training.fit(init_bias_to_mean=True) sets the bias of the model's last nn.Linear.
    model = models.build(name, 1280)
    last = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
    assert last is getattr(model, output) and last.out_features == 3

"""Tests for sslrp.data.geometry: array, grid, split counts of the paper, seeded heights, shards, TDoA."""

import numpy as np
import pytest

from sslrp import config as configuration
from sslrp.data import geometry


def geometry_settings(**grid):
    return configuration.validate({"conditions": [{"t60": 0.3, "snr": 20}], "geometry": {"grid": grid}})[
        "geometry"
    ]


@pytest.fixture(scope="module")
def paper():
    return geometry_settings()


@pytest.fixture(scope="module")
def paper_sources(paper):
    return geometry.sources(paper, seed=2024)


def test_array_is_the_papers_linear_array(paper):
    mics = geometry.mic_positions(paper)
    assert mics.shape == (16, 3)
    assert mics[0, 0] == pytest.approx(0.575) and mics[-1, 0] == pytest.approx(2.825)
    np.testing.assert_allclose(np.diff(mics[:, 0]), 0.15)
    np.testing.assert_allclose(mics[:, 1], 7.0)
    np.testing.assert_allclose(mics[:, 2], 1.2)
    assert mics[:, 0].mean() == pytest.approx(1.7)


def test_array_matches_pyroomacoustics_linear_2d_array(paper):
    pra = pytest.importorskip("pyroomacoustics")
    reference = pra.linear_2D_array([1.7, 7.0], M=16, phi=0, d=0.15)  # [2, M], as the paper builds it
    np.testing.assert_allclose(geometry.mic_positions(paper)[:, :2], reference.T, atol=1e-12)


def test_grid_spans_the_papers_area(paper):
    xy = geometry.grid_xy(paper)
    assert xy.shape == (65 * 65, 2)
    x, y = np.unique(xy[:, 0]), np.unique(np.round(xy[:, 1], 12))
    assert len(x) == 65 and len(y) == 65
    assert x.min() == pytest.approx(0.825) and x.max() == pytest.approx(2.575)
    assert y.min() == pytest.approx(4.5) and y.max() == pytest.approx(6.5)
    np.testing.assert_allclose(np.diff(x), (2.575 - 0.825) / 64)


def test_paper_split_counts(paper_sources):
    assert len(paper_sources.test) == 285
    assert len(paper_sources.train) == 3152
    assert len(paper_sources.val) == 788


def test_test_set_is_exactly_the_open_square(paper, paper_sources):
    xy = paper_sources.positions[:, :2]
    inside = (xy[:, 0] > 1.45) & (xy[:, 0] < 1.95) & (xy[:, 1] > 5.25) & (xy[:, 1] < 5.75)
    np.testing.assert_array_equal(np.sort(paper_sources.test), np.flatnonzero(inside))
    test = xy[paper_sources.test]
    assert np.all((test[:, 0] > 1.45) & (test[:, 0] < 1.95))
    assert np.all((test[:, 1] > 5.25) & (test[:, 1] < 5.75))


def test_splits_partition_all_sources(paper_sources):
    everything = np.concatenate([paper_sources.train, paper_sources.val, paper_sources.test])
    np.testing.assert_array_equal(np.sort(everything), np.arange(65 * 65))
    names = paper_sources.split_of()
    for split in geometry.SPLITS:
        np.testing.assert_array_equal(np.flatnonzero(names == split), np.sort(getattr(paper_sources, split)))


def test_heights_are_uniform_in_range_and_seeded(paper, paper_sources):
    z = paper_sources.positions[:, 2]
    assert z.min() >= 1.0 and z.max() <= 1.5
    assert z.std() > 0.1  # uniform on [1, 1.5] has std 0.144; a constant would be 0
    assert abs(z.mean() - 1.25) < 0.01
    again = geometry.sources(paper, seed=2024)
    np.testing.assert_array_equal(again.positions, paper_sources.positions)
    np.testing.assert_array_equal(again.train, paper_sources.train)
    np.testing.assert_array_equal(again.val, paper_sources.val)
    other = geometry.sources(paper, seed=2025)
    assert not np.allclose(other.positions[:, 2], z)
    assert not np.array_equal(other.val, paper_sources.val)
    np.testing.assert_array_equal(other.positions[:, :2], paper_sources.positions[:, :2])


def test_a_sources_height_does_not_depend_on_the_grid_size():
    # Heights come from (seed, source index): the same index gets the same height on any grid.
    small = geometry.sources(geometry_settings(nx=5, ny=5), seed=3).positions[:, 2]
    large = geometry.sources(geometry_settings(nx=9, ny=9), seed=3).positions[:, 2]
    np.testing.assert_array_equal(small, large[: len(small)])


@pytest.mark.parametrize("n_sources, n_shards", [(4225, 1), (4225, 2), (4225, 32), (81, 7), (10, 10), (3, 5)])
def test_shards_partition_the_sources_exactly_once(n_sources, n_shards):
    parts = [geometry.shard_indices(n_sources, k, n_shards) for k in range(n_shards)]
    joined = np.concatenate(parts)
    np.testing.assert_array_equal(np.sort(joined), np.arange(n_sources))
    assert max(map(len, parts)) - min(map(len, parts)) <= 1  # balanced


@pytest.mark.parametrize("shard", [-1, 4])
def test_shard_outside_range_is_refused(shard):
    with pytest.raises(ValueError, match="shard"):
        geometry.shard_indices(100, shard, 4)


def test_direct_path_tdoa_against_a_hand_computation(paper):
    mics = geometry.mic_positions(paper)
    fs, c = 16000, 343.0
    # Mic 7 is at x = 1.625, mic 8 at 1.775 (y 7, z 1.2).
    # Broadside (x = 1.7): equal distances, no delay.
    assert geometry.direct_path_tdoa([1.7, 5.5, 1.2], mics, (7, 8), fs, c) == pytest.approx(0, abs=1e-12)
    # Source beside mic 7 on the array axis: mic 8 hears it 0.15 m later.
    far_left = [0.5, 7.0, 1.2]
    assert geometry.direct_path_tdoa(far_left, mics, (7, 8), fs, c) == pytest.approx(0.15 * fs / c)
    assert geometry.direct_path_tdoa(far_left, mics, (8, 7), fs, c) == pytest.approx(-0.15 * fs / c)
    # A grid position, by hand: source (0.825, 4.5, 1.0).
    d7 = np.sqrt((1.625 - 0.825) ** 2 + 2.5**2 + 0.2**2)
    d8 = np.sqrt((1.775 - 0.825) ** 2 + 2.5**2 + 0.2**2)
    expected = (d8 - d7) * fs / c
    assert expected > 0  # the source is left of the pair: mic 8 is later
    assert geometry.direct_path_tdoa([0.825, 4.5, 1.0], mics, (7, 8), fs, c) == pytest.approx(expected)
    # Batched positions give one delay each; mirrored about x = 1.7 flips the sign.
    both = geometry.direct_path_tdoa(np.array([[0.825, 4.5, 1.0], [2.575, 4.5, 1.0]]), mics, (7, 8), fs, c)
    np.testing.assert_allclose(both, [expected, -expected])
    # Never beyond the pair's maximum delay (spacing / c).
    grid = geometry.sources(paper, seed=0).positions
    assert np.abs(geometry.direct_path_tdoa(grid, mics, (7, 8), fs, c)).max() < 0.15 * fs / c

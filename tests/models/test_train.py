"""The training loop on small digits subsets: it learns, it is deterministic, and a
checkpointed run resumes exactly where an uninterrupted run would be."""

import json

import numpy as np
import pytest
from cnnc.models import data, network, train, zoo
from cnnc.models.binary import BinaryConv2D
from cnnc.models.layers import Dropout


@pytest.fixture(scope="module")
def subset():
    """600 training / 180 validation digits at 8x8 (the fixed split, cut down)."""
    d = data.load_digits(8)
    return data.Dataset("digits", d.x_train[:600], d.y_train[:600], d.x_val, d.y_val,
                        d.x_test, d.y_test)  # fmt: skip


def small_vgg(seed, dropout=0.0):
    return zoo.vgg_like(["conv_8", "pool", "conv_8", "FC_32"], 8, 10, dropout=dropout,
                        rng=np.random.default_rng(seed))  # fmt: skip


def config(**kw):
    base = dict(epochs=2, batch_size=32, lr=3e-3, shift=1, seed=5)
    return train.TrainConfig(**{**base, **kw})


def test_training_learns_above_chance(subset):
    net = small_vgg(0)
    history, pre = train.fit(net, subset, config(epochs=3, lr=1e-2), progress=False)
    assert history.train_loss[-1] < 0.75 * history.train_loss[0]
    assert history.train_acc[-1] > history.train_acc[0]
    # 10 classes: chance is 0.1; a working loop is far above it after 3 short epochs
    assert history.val_acc[-1] >= 0.6
    assert train.accuracy(net, pre(subset.x_test), subset.y_test) >= 0.6
    assert len(history.epoch_seconds) == 3 and min(history.epoch_seconds) > 0
    # cosine schedule: the rate falls every epoch from the initial one
    assert history.lr[0] == pytest.approx(1e-2) and history.lr[0] > history.lr[1] > history.lr[2]


def test_preprocess_uses_training_statistics(subset):
    _, pre = train.fit(small_vgg(0), subset, config(epochs=1), progress=False, max_steps=1)
    np.testing.assert_allclose(pre.mean, [subset.x_train.mean()], rtol=1e-5)
    np.testing.assert_allclose(pre.std, [subset.x_train.std()], rtol=1e-5)


def params_of(net):
    return {k: v.copy() for k, v in net.params.items()} | {
        "state/" + k: v.copy() for k, v in net.state.items()
    }


def test_same_seed_same_weights_other_seed_differs(subset):
    a, b, c = small_vgg(0), small_vgg(0), small_vgg(0)
    train.fit(a, subset, config(epochs=1), progress=False, max_steps=4)
    train.fit(b, subset, config(epochs=1), progress=False, max_steps=4)
    train.fit(c, subset, config(epochs=1, seed=6), progress=False, max_steps=4)
    pa, pb, pc = params_of(a), params_of(b), params_of(c)
    for key in pa:
        np.testing.assert_array_equal(pa[key], pb[key], err_msg=key)
    assert any(not np.array_equal(pa[k], pc[k]) for k in pa)


@pytest.mark.parametrize("optimizer", ["adam", "amsgrad", "momentum"])
@pytest.mark.parametrize("dropout", [0.0, 0.25], ids=["no-dropout", "dropout"])
def test_resume_continues_exactly(tmp_path, subset, optimizer, dropout):
    steps_per_epoch = -(-len(subset.y_train) // 32)
    cfg = config(epochs=2, optimizer=optimizer)
    straight = small_vgg(0, dropout)
    h_straight, _ = train.fit(straight, subset, cfg, checkpoint=tmp_path / "a.npz",
                              progress=False)  # fmt: skip
    # interrupted after the first epoch ...
    first = small_vgg(0, dropout)
    train.fit(first, subset, cfg, checkpoint=tmp_path / "b.npz", progress=False,
              max_steps=steps_per_epoch)  # fmt: skip
    # ... and resumed in a fresh process-like setting: other init, other dropout generator
    resumed = small_vgg(99, dropout)
    if dropout:
        assert any(isinstance(la, Dropout) for la in resumed.layers)
    h_resumed, _ = train.fit(resumed, subset, cfg, checkpoint=tmp_path / "b.npz", resume=True,
                             progress=False)  # fmt: skip
    expected, actual = params_of(straight), params_of(resumed)
    for key in expected:
        np.testing.assert_array_equal(actual[key], expected[key], err_msg=key)
    assert h_resumed.train_loss == h_straight.train_loss
    assert h_resumed.val_acc == h_straight.val_acc


def test_metrics_and_plot_files(tmp_path, subset):
    history, _ = train.fit(small_vgg(0), subset, config(epochs=2), progress=False, max_steps=3)
    train.write_metrics(tmp_path / "m.json", {"history": history.__dict__})
    assert json.loads((tmp_path / "m.json").read_text())["history"]["val_acc"] == history.val_acc
    train.plot_history(history, tmp_path / "curves.png", title="vgg")
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_xnornet_trains_and_keeps_latent_weights_clipped(subset):
    net = zoo.xnornet(8, 10, channels=(16, 16), pools=(True, False), stem_channels=8,
                      rng=np.random.default_rng(0))  # fmt: skip
    cfg = config(epochs=2, lr=1e-2, batch_size=16, lr_schedule="constant")
    history, pre = train.fit(net, subset, cfg, progress=False)
    latent = [la.params["w"] for _, la in network.named_layers(net) if isinstance(la, BinaryConv2D)]
    assert len(latent) == 2 and all(np.abs(w).max() <= 1 for w in latent)
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.val_acc[-1] >= 0.3  # 3x chance after two short epochs

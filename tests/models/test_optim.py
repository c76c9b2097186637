"""Optimisers against hand-computed steps, their state and checkpoint round trip,
learning-rate schedules, weight decay and the random search."""

import math

import numpy as np
import pytest
from cnnc.errors import CnncError
from cnnc.models import optim
from cnnc.models.binary import BinaryDense
from cnnc.models.layers import BatchNorm, Dense

G1, G2 = 0.5, -0.25  # the two gradients of the hand-computed cases; p starts at 1.0


def two_steps(opt, g1=G1, g2=G2):
    p = np.array([1.0])
    out = []
    for g in (g1, g2):
        opt.step([(p, np.array([g]))])
        out.append(float(p[0]))
    return out


@pytest.mark.parametrize(
    "name,kwargs,expected",
    [
        pytest.param("sgd", {"lr": 0.1}, [0.95, 0.975], id="sgd"),
        # v1 = -0.05; v2 = 0.9 * -0.05 + 0.025 = -0.02
        pytest.param("momentum", {"lr": 0.1, "momentum": 0.9}, [0.95, 0.93], id="momentum"),
        # PyTorch form: buf = mu buf + g, p -= lr (g + mu buf): buf 0.5 then 0.2
        pytest.param(
            "nesterov",
            {"lr": 0.1, "momentum": 0.9},
            [1 - 0.1 * (0.5 + 0.9 * 0.5), 1 - 0.1 * (0.5 + 0.45) - 0.1 * (-0.25 + 0.9 * 0.2)],
            id="nesterov",
        ),
        pytest.param(
            "adagrad",
            {"lr": 0.1, "eps": 0.0},
            [0.9, 0.9 + 0.1 * 0.25 / math.sqrt(0.25 + 0.0625)],
            id="adagrad",
        ),
        pytest.param(
            "rmsprop",
            {"lr": 0.01, "rho": 0.9, "eps": 0.0},
            [
                1 - 0.01 * 0.5 / math.sqrt(0.025),
                1 - 0.01 * 0.5 / math.sqrt(0.025) + 0.01 * 0.25 / math.sqrt(0.0225 + 0.00625),
            ],
            id="rmsprop",
        ),
    ],
)
def test_two_hand_computed_steps(name, kwargs, expected):
    assert two_steps(optim.make(name, **kwargs)) == pytest.approx(expected, rel=1e-12)


def test_adam_first_two_steps_by_hand():
    # step 1: m = 0.05, v = 0.00025, mhat = 0.5, vhat = 0.25 -> the step is exactly lr
    # step 2: m = 0.02, v = 0.00031225, mhat = 0.02 / 0.19, vhat = 0.00031225 / 0.001999
    p1 = 1.0 - 0.1 * 0.5 / (math.sqrt(0.25) + 1e-8)
    p2 = p1 - 0.1 * (0.02 / 0.19) / (math.sqrt(0.00031225 / (1 - 0.999**2)) + 1e-8)
    assert two_steps(optim.Adam(lr=0.1)) == pytest.approx([p1, p2], rel=1e-12)


@pytest.mark.parametrize("scale", [pytest.param(s, id=f"g{s:g}") for s in (1e-3, 1.0, 1e3)])
def test_adam_first_step_is_lr_whatever_the_gradient_scale(scale):
    p = np.array([0.0, 0.0])
    optim.Adam(lr=0.01).step([(p, np.array([scale, -scale]))])
    assert p == pytest.approx([-0.01, 0.01], rel=1e-5)


def test_amsgrad_keeps_the_largest_second_moment():
    p_ams, p_adam = np.array([1.0]), np.array([1.0])
    ams, adam = optim.AMSGrad(lr=0.1), optim.Adam(lr=0.1)
    grads = [1.0, 0.01, 0.01]
    for g in grads:
        ams.step([(p_ams, np.array([g]))])
        adam.step([(p_adam, np.array([g]))])
    s = ams.state["#0"]
    v = [0.001]  # raw second moments by hand: v_t = 0.999 v_{t-1} + 0.001 g_t^2
    v.append(0.999 * v[0] + 0.001 * 1e-4)
    v.append(0.999 * v[1] + 0.001 * 1e-4)
    assert v[2] < v[1] < v[0]
    assert s["v"][0] == pytest.approx(v[2], rel=1e-12)
    assert s["vmax"][0] == pytest.approx(v[0], rel=1e-12)  # max kept from step 1
    # with the larger denominator AMSGrad moves less than Adam after the gradient shrinks
    assert p_ams[0] > p_adam[0]
    m3 = 0.9 * (0.9 * 0.1 + 0.1 * 0.01) + 0.1 * 0.01
    m2 = 0.9 * 0.1 + 0.1 * 0.01
    expected = 1.0 - 0.1 * 1.0 / (1.0 + 1e-8)  # step 1: mhat = g, vhat = g^2, as for Adam
    for t, m in ((2, m2), (3, m3)):
        expected -= 0.1 * (m / (1 - 0.9**t)) / (math.sqrt(v[0] / (1 - 0.999**t)) + 1e-8)
    assert p_ams[0] == pytest.approx(expected, rel=1e-12)
    ams.step([(p_ams, np.array([5.0]))])
    assert s["vmax"][0] == pytest.approx(0.999 * v[2] + 0.001 * 25.0, rel=1e-12)


def test_coupled_weight_decay():
    p = np.array([1.0, -2.0])
    optim.SGD(lr=0.1, weight_decay=0.1).step([(p, np.array([0.5, 0.25]))])
    assert p == pytest.approx([1 - 0.1 * (0.5 + 0.1), -2 - 0.1 * (0.25 - 0.2)], rel=1e-12)


LRS = {
    "sgd": 0.1,
    "momentum": 0.05,
    "nesterov": 0.05,
    "adagrad": 0.5,
    "rmsprop": 0.01,
    "adam": 0.05,
    "amsgrad": 0.05,
}


@pytest.mark.parametrize("name", list(optim.OPTIMIZERS))
def test_every_optimiser_minimises_a_quadratic_in_place(name, rng):
    a = rng.uniform(0.5, 2.0, 17)
    target = rng.standard_normal(17)
    p = np.zeros(17)
    p_id = id(p)

    def loss():
        return 0.5 * float(np.sum(a * (p - target) ** 2))

    start = loss()
    opt = optim.make(name, lr=LRS[name])
    for _ in range(300):
        opt.step([(p, a * (p - target))])
    assert id(p) == p_id
    assert loss() < 1e-2 * start


def test_float32_params_stay_float32(rng):
    for name in optim.OPTIMIZERS:
        p = rng.standard_normal(7).astype(np.float32)
        optim.make(name, lr=0.1).step([(p, rng.standard_normal(7).astype(np.float32))])
        assert p.dtype == np.float32, name


def test_unknown_optimiser_is_a_cnnc_error():
    with pytest.raises(CnncError, match="unknown optimiser 'adamw'"):
        optim.make("adamw")


# ---------------------------------------------------------------------------
# named (name, layer, key) items: binary clipping, checkpointed state, weight decay


def named_items(layers):
    return [(f"{i}.{k}", layer, k) for i, layer in enumerate(layers) for k in layer.params]


def test_named_step_updates_layer_params_and_clips_binary_latents(rng):
    dense, binary = Dense(3, 2, rng=rng), BinaryDense(2, 2, rng=rng)
    binary.params["w"][...] = [[0.95, -0.5], [0.2, -0.99]]
    binary.grads["w"][...] = [[-1.0, 0.0], [0.0, 1.0]]  # pushes 0.95 -> 1.05, -0.99 -> -1.09
    dense.grads["w"][...] = 1.0
    before = dense.params["w"].copy()
    optim.SGD(lr=0.1).step(named_items([dense, binary]))
    np.testing.assert_allclose(dense.params["w"], before - 0.1, rtol=1e-6)
    np.testing.assert_allclose(binary.params["w"], [[1.0, -0.5], [0.2, -1.0]], rtol=1e-6)


def test_state_round_trip_resumes_exactly(rng):
    def fresh():
        r = np.random.default_rng(3)
        return [Dense(4, 3, rng=r), BatchNorm(3)]

    grads = [
        rng.standard_normal((4, 3)),
        rng.standard_normal(3),
        rng.standard_normal(3),
        rng.standard_normal(3),
    ]

    def set_grads(layers, k):
        for arr, (_, layer, key) in zip(grads, named_items(layers), strict=True):
            layer.grads[key][...] = arr * (k + 1)

    a, b = fresh(), fresh()
    opt_a = optim.Adam(lr=0.01)
    for k in range(2):
        set_grads(a, k)
        opt_a.step(named_items(a))
    saved = {key: v.copy() for key, v in opt_a.state_arrays().items()}
    assert "opt/0.w/m" in saved and "opt/1.gamma/v" in saved and int(saved["opt/0.w/t"]) == 2
    for (_, la, ka), (_, lb, kb) in zip(named_items(a), named_items(b), strict=True):
        lb.params[kb][...] = la.params[ka]
    set_grads(a, 2)
    opt_a.step(named_items(a))
    opt_b = optim.Adam(lr=0.01)
    opt_b.load_state({**saved, "param/0.w": np.zeros(1)})  # unrelated checkpoint keys ignored
    set_grads(b, 2)
    opt_b.step(named_items(b))
    for (name, la, ka), (_, lb, kb) in zip(named_items(a), named_items(b), strict=True):
        np.testing.assert_array_equal(lb.params[kb], la.params[ka], err_msg=name)


def test_add_weight_decay_only_on_real_kernels(rng):
    dense, bn, binary = Dense(3, 2, rng=rng), BatchNorm(2), BinaryDense(2, 2, rng=rng)
    layers = [dense, bn, binary]
    for layer in layers:
        for g in layer.grads.values():
            g[...] = 0
    penalty = optim.add_weight_decay(named_items(layers), 0.1)
    w = dense.params["w"].astype(np.float64)
    assert penalty == pytest.approx(0.05 * np.sum(w**2), rel=1e-6)
    np.testing.assert_allclose(dense.grads["w"], 0.1 * dense.params["w"], rtol=1e-6)
    for g in (dense.grads["b"], bn.grads["gamma"], bn.grads["beta"], binary.grads["w"]):
        np.testing.assert_array_equal(g, 0)


# ---------------------------------------------------------------------------
# schedules


def test_schedule_functions():
    assert optim.constant(0.3)(17) == 0.3
    assert optim.exponential(1.0, 0.5)(3) == pytest.approx(0.125)
    step = optim.step_decay(0.1, 0.1, 3)
    assert [step(e) for e in (0, 2, 3, 5, 6)] == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001])
    cos = optim.cosine(1.0, 10, lr_min=0.1)
    assert [cos(0), cos(5), cos(10), cos(12)] == pytest.approx([1.0, 0.55, 0.1, 0.1])
    warm = optim.warmup(optim.constant(1.0), 4)
    assert [warm(e) for e in (0, 1, 3, 7)] == pytest.approx([0.25, 0.5, 1.0, 1.0])


@pytest.mark.parametrize(
    "name,epoch,expected",
    [
        pytest.param("constant", 7, 0.5, id="constant"),
        pytest.param("cosine", 0, 0.5, id="cosine-start"),
        pytest.param("cosine", 4, 0.25, id="cosine-mid"),
        pytest.param("exponential", 8, 0.005, id="exp-end"),
        pytest.param("step", 2, 0.25, id="step-2"),
        pytest.param("step", 7, 0.5 / 8, id="step-7"),
    ],
)
def test_schedule_lr_by_name(name, epoch, expected):
    assert optim.schedule_lr(name, 0.5, epoch, 8) == pytest.approx(expected)


def test_schedule_composes_with_an_optimiser():
    opt = optim.make("momentum", lr=1.0)
    sched = optim.cosine(0.2, 4)
    p = np.array([0.0])
    for epoch in range(4):
        opt.lr = sched(epoch)
        opt.step([(p, np.array([1.0]))])
    assert opt.lr == pytest.approx(0.2 * 0.5 * (1 + math.cos(3 * math.pi / 4)))
    with pytest.raises(CnncError, match="unknown learning-rate schedule"):
        optim.schedule_lr("linear", 0.1, 0, 10)


# ---------------------------------------------------------------------------
# random search


def test_random_search_finds_the_best_trial_and_is_reproducible():
    calls = []

    def train_fn(lr, reg):
        calls.append((lr, reg))
        return -((math.log10(lr) + 3) ** 2) - (math.log10(reg) + 6) ** 2

    best, table = optim.random_search(
        train_fn, 40, (1e-6, 1e-1), (1e-8, 1e-4), np.random.default_rng(1), False
    )
    assert len(table) == 40 == len(calls)
    assert [row["trial"] for row in table] == list(range(40))
    assert best == max(table, key=lambda row: row["score"])
    assert all(1e-6 <= row["lr"] <= 1e-1 and 1e-8 <= row["reg"] <= 1e-4 for row in table)
    assert abs(math.log10(best["lr"]) + 3) < 1 and abs(math.log10(best["reg"]) + 6) < 1
    again, _ = optim.random_search(
        train_fn, 40, (1e-6, 1e-1), (1e-8, 1e-4), np.random.default_rng(1), False
    )
    assert again == best


def test_random_search_samples_log_uniformly():
    _, table = optim.random_search(
        lambda lr, reg: 0.0, 4000, (1e-6, 1e-2), (1e-8, 1e-4), np.random.default_rng(2), False
    )
    decades = np.floor(np.log10([row["lr"] for row in table])).astype(int)
    fractions = np.bincount(decades + 6, minlength=4)[:4] / len(table)
    assert np.all(np.abs(fractions - 0.25) < 0.03), fractions


def test_random_search_rejects_bad_ranges():
    with pytest.raises(CnncError, match="log-uniform range"):
        optim.random_search(lambda lr, reg: 0.0, 3, (0.0, 1e-2), (1e-8, 1e-4), None, False)

"""Generate tests/data/torch_trajectories.json: reference trajectories from torch.optim.

Run once, in a scratch environment that has torch (never a dependency of this project)::

    /path/to/torch-venv/bin/python scripts/make_torch_fixtures.py

For every case below, torch.optim (single-tensor implementation, ``foreach=False``) optimises one
``(n, 2)`` float64 parameter tensor on a surface written in torch, with gradients from autograd, for
``STEPS`` steps. torch's update is elementwise, so one ``(n, 2)`` tensor is exactly ``n`` independent
runs. The JSON records, per case, the optimizer's registered name here, every hyperparameter in force
(this project's names: torch's ``betas``/``etas``/``step_sizes`` split in two), the surface, and the
positions after each step. It also records torch's constructor defaults per optimizer, so a test can
check that ours equal torch's (``lr`` excepted).

tests/core/test_optimizers.py replays every case with this project's optimizers and surfaces.
"""

from __future__ import annotations

import inspect

from fixture_common import PRESETS, STARTS, SURFACES, require_torch, torch_classes, write_json

torch = require_torch()

STEPS = 40
TORCH_CLASS = torch_classes(torch)
# torch tuples split into two named hyperparameters here.
PAIRS = {"betas": ("beta1", "beta2"), "etas": ("etaminus", "etaplus"), "step_sizes": ("step_size_min", "step_size_max")}
NOT_HYPERPARAMETERS = {"self", "params", "foreach", "fused", "capturable", "differentiable"}

H, R, C = "himmelblau", "rosenbrock", "climb"
CASES: dict[str, list[tuple[str, dict]]] = {
    "sgd": [
        (H, {"lr": 0.01}),
        (H, {"lr": 0.01, "weight_decay": 0.05}),
        (H, {"lr": 0.005, "momentum": 0.5, "dampening": 0.3}),
        (H, {"lr": 0.005, "momentum": 0.8, "nesterov": True, "weight_decay": 0.01}),
        (R, {"lr": 2e-4}),
        (R, {"lr": 2e-4, "momentum": 0.9}),
        (C, {"lr": 0.005, "maximize": True}),
    ],
    "momentum": [
        (H, {"lr": 0.005}),
        (H, {"lr": 0.005, "dampening": 0.5, "weight_decay": 0.02}),
        (H, {"lr": 0.005, "momentum": 0.5, "nesterov": True}),
        (R, {"lr": 1e-4}),
        (C, {"lr": 0.002, "maximize": True}),
    ],
    "nesterov": [
        (H, {"lr": 0.005}),
        (H, {"lr": 0.005, "weight_decay": 0.02}),
        (H, {"lr": 0.005, "momentum": 0.6, "nesterov": False}),
        (R, {"lr": 1e-4}),
        (C, {"lr": 0.002, "maximize": True}),
    ],
    "adagrad": [
        (H, {"lr": 0.5}),
        (H, {"lr": 0.5, "lr_decay": 0.05, "weight_decay": 0.1}),
        (H, {"lr": 0.5, "initial_accumulator_value": 0.5, "eps": 1e-3}),
        (R, {"lr": 0.1}),
        (C, {"lr": 0.1, "maximize": True}),
    ],
    "rmsprop": [
        (H, {"lr": 0.05}),
        (H, {"lr": 0.05, "centered": True}),
        (H, {"lr": 0.02, "momentum": 0.5}),
        (H, {"lr": 0.02, "centered": True, "momentum": 0.8, "weight_decay": 0.1}),
        (H, {"lr": 0.05, "alpha": 0.3, "centered": True}),
        (H, {"lr": 0.05, "eps": 1e-3}),
        (R, {"lr": 0.01}),
        (C, {"lr": 0.02, "maximize": True}),
    ],
    "adam": [
        (H, {"lr": 0.1}),
        (H, {"lr": 0.1, "amsgrad": True}),
        (H, {"lr": 0.1, "weight_decay": 0.1}),
        (H, {"lr": 0.1, "weight_decay": 0.1, "decoupled_weight_decay": True}),
        (H, {"lr": 0.1, "beta1": 0.2, "beta2": 0.5}),
        (H, {"lr": 0.1, "beta1": 0.0, "eps": 0.1}),
        (R, {"lr": 0.05}),
        (R, {"lr": 0.05, "amsgrad": True}),
        (C, {"lr": 0.05, "maximize": True}),
    ],
    "adamw": [
        (H, {"lr": 0.1}),
        (H, {"lr": 0.1, "weight_decay": 0.0}),
        (H, {"lr": 0.1, "amsgrad": True, "weight_decay": 0.5}),
        (H, {"lr": 0.1, "beta1": 0.5, "beta2": 0.9, "eps": 1e-3}),
        (R, {"lr": 0.05}),
        (C, {"lr": 0.05, "maximize": True}),
    ],
    "nadam": [
        (H, {"lr": 0.1}),
        (H, {"lr": 0.1, "momentum_decay": 0.1}),
        (H, {"lr": 0.1, "weight_decay": 0.1}),
        (H, {"lr": 0.1, "weight_decay": 0.1, "decoupled_weight_decay": True}),
        (H, {"lr": 0.1, "beta1": 0.3, "beta2": 0.6, "eps": 1e-2}),
        (R, {"lr": 0.05}),
        (C, {"lr": 0.05, "maximize": True}),
    ],
    "radam": [
        # the first steps (rho_t <= 5) are plain momentum steps lr * mhat: lr must suit the raw gradient
        (H, {"lr": 0.003}),
        (H, {"lr": 0.003, "weight_decay": 0.1}),
        (H, {"lr": 0.003, "weight_decay": 0.1, "decoupled_weight_decay": True}),
        (H, {"lr": 0.003, "beta1": 0.6, "beta2": 0.9, "eps": 1e-2}),
        (R, {"lr": 5e-4}),
        (C, {"lr": 0.01, "maximize": True}),
    ],
    "adamax": [
        (H, {"lr": 0.1}),
        (H, {"lr": 0.1, "weight_decay": 0.1}),
        (H, {"lr": 0.1, "beta1": 0.3, "beta2": 0.5, "eps": 0.5}),
        (R, {"lr": 0.05}),
        (C, {"lr": 0.05, "maximize": True}),
    ],
    "adadelta": [
        (H, {"lr": 1.0}),
        (H, {"lr": 2.0, "rho": 0.5, "eps": 1e-3}),
        (H, {"lr": 1.0, "weight_decay": 0.1}),
        (R, {"lr": 1.0}),
        (C, {"lr": 5.0, "maximize": True}),
    ],
    "asgd": [
        (H, {"lr": 0.005}),
        (H, {"lr": 0.005, "lambd": 0.5, "alpha": 1.0, "t0": 10.0, "weight_decay": 0.05}),
        (R, {"lr": 2e-4}),
        (C, {"lr": 0.005, "maximize": True}),
    ],
    "rprop": [
        (H, {"lr": 0.1}),
        (H, {"lr": 0.1, "etaminus": 0.3, "etaplus": 1.5, "step_size_min": 0.01, "step_size_max": 0.5}),
        (R, {"lr": 0.01}),
        (C, {"lr": 0.05, "maximize": True}),
    ],
}


def torch_defaults(name: str) -> dict:
    """torch's constructor defaults in this project's names (tuples split, presets applied)."""
    out: dict = {}
    for key, prm in inspect.signature(TORCH_CLASS[name].__init__).parameters.items():
        if key in NOT_HYPERPARAMETERS or prm.default is inspect.Parameter.empty:
            continue
        if key in PAIRS:
            a, b = PAIRS[key]
            out[a], out[b] = float(prm.default[0]), float(prm.default[1])
        elif isinstance(prm.default, bool):
            out[key] = prm.default
        else:
            out[key] = float(prm.default)
    out.update(PRESETS.get(name, {}))
    return out


def to_torch_kwargs(hp: dict) -> dict:
    kw = dict(hp)
    for key, (a, b) in PAIRS.items():
        if a in kw:
            kw[key] = (kw.pop(a), kw.pop(b))
    return kw


def run_case(name: str, where: str, overrides: dict) -> dict:
    hp = torch_defaults(name)
    unknown = set(overrides) - set(hp)
    if unknown:
        raise SystemExit(f"{name}: unknown hyperparameters {unknown}")
    hp.update(overrides)
    surface = R if where == R else H
    starts = STARTS[where]
    p = torch.tensor(starts, dtype=torch.float64, requires_grad=True)
    opt = TORCH_CLASS[name]([p], foreach=False, **to_torch_kwargs(hp))
    positions = [[v for row in starts for v in row]]
    for _ in range(STEPS):
        opt.zero_grad()
        SURFACES[surface](p).backward()
        opt.step()
        row = p.detach().reshape(-1).tolist()
        if not all(abs(v) < 1e6 for v in row):
            raise SystemExit(f"{name} {overrides} on {surface} left the plot: {row}")
        positions.append(row)
    return {"optimizer": name, "surface": surface, "hp": hp, "starts": starts, "positions": positions}


def main() -> None:
    data = {
        "torch": torch.__version__,
        "steps": STEPS,
        "defaults": {name: torch_defaults(name) for name in TORCH_CLASS},
        "cases": [run_case(name, where, ov) for name, cases in CASES.items() for where, ov in cases],
    }
    out, size = write_json("torch_trajectories.json", data)
    print(f"wrote {out} ({size} bytes, {len(data['cases'])} cases)")


if __name__ == "__main__":
    main()

"""Generate tests/data/torch_schedules.json: learning rates and trajectories under torch's schedulers.

Run once, in a scratch environment that has torch (never a dependency of this project)::

    /path/to/torch-venv/bin/python scripts/make_schedule_fixtures.py

For every case below, a torch.optim optimizer (single-tensor, ``foreach=False``) on one ``(n, 2)``
float64 parameter tensor is driven with a torch.optim.lr_scheduler scheduler as a training loop does:
the scheduler is built after the optimizer, then per step ``optimizer.step()`` and
``scheduler.step()``. Before each optimizer step the group's ``lr`` (and ``momentum`` or
``betas[0]`` when the schedule cycles it) is recorded, and after it the positions.

Each case is written in this project's terms (schedule name and settings, optimizer name and
hyperparameters); :func:`torch_scheduler` translates them, including the sentinels documented in
``landscape_gui/core/schedules.py`` (``T_max = 0`` -> the number of steps, ``max_lr = 0`` -> the
optimizer's lr, ...). tests/core/test_schedules.py replays every case.
"""

from __future__ import annotations

from fixture_common import PRESETS, STARTS, SURFACES, require_torch, torch_classes, write_json

torch = require_torch()
from torch.optim import lr_scheduler as S  # noqa: E402  (after the check that torch is there)

STEPS = 60
CLASSES = torch_classes(torch)
DEFAULT_LR = {"sgd": 0.01, "momentum": 0.01, "nesterov": 0.01, "adam": 0.1, "adamw": 0.1, "nadam": 0.1,
              "rmsprop": 0.01, "adagrad": 0.1, "radam": 0.01}

H, R = "himmelblau", "rosenbrock"
# (schedule, settings, optimizer, optimizer hyperparameters, surface)
CASES = [
    ("step", {"step_size": 10, "gamma": 0.5}, "sgd", {"lr": 0.01}, H),
    ("step", {"step_size": 1, "gamma": 0.9}, "adam", {"lr": 0.2}, H),
    ("step", {}, "momentum", {"lr": 0.005}, H),
    ("multistep", {"milestones": [10, 25, 25, 40], "gamma": 0.5}, "sgd", {"lr": 0.01}, H),
    ("multistep", {"milestones": [5, 30]}, "adam", {"lr": 0.1}, R),
    ("exponential", {"gamma": 0.95}, "sgd", {"lr": 0.015}, H),
    ("exponential", {"gamma": 1.01}, "adamw", {"lr": 0.05}, H),
    ("exponential", {}, "rmsprop", {"lr": 0.05}, H),
    ("cosine", {}, "sgd", {"lr": 0.01}, H),
    ("cosine", {"T_max": 15, "eta_min": 0.01}, "adam", {"lr": 0.2}, H),
    ("cosine", {"T_max": 7}, "momentum", {"lr": 0.004}, H),
    ("linear", {"start_factor": 0.25, "end_factor": 1.0, "total_iters": 20}, "sgd", {"lr": 0.01}, H),
    ("linear", {"start_factor": 1.0, "end_factor": 0.1, "total_iters": 30}, "adam", {"lr": 0.1}, R),
    ("linear", {}, "nadam", {"lr": 0.1}, H),
    ("onecycle", {}, "sgd", {"lr": 0.01}, H),
    ("onecycle", {"max_lr": 0.2, "total_steps": 80, "pct_start": 0.25, "anneal_strategy": "linear",
                  "three_phase": True, "div_factor": 10.0, "final_div_factor": 100.0}, "adam", {"lr": 0.1}, H),
    ("onecycle", {"cycle_momentum": False, "max_lr": 0.5}, "adagrad", {"lr": 0.1}, H),
    ("onecycle", {"base_momentum": 0.5, "max_momentum": 0.7, "pct_start": 0.5}, "rmsprop", {"lr": 0.02}, H),
    ("cyclic", {"step_size_up": 7}, "sgd", {"lr": 0.002}, H),
    ("cyclic", {"step_size_up": 5, "step_size_down": 9, "mode": "triangular2", "base_lr": 0.02, "max_lr": 0.2},
     "adam", {"lr": 0.1}, H),
    ("cyclic", {"step_size_up": 6, "mode": "exp_range", "gamma": 0.97, "cycle_momentum": False, "base_lr": 0.01,
                "max_lr": 0.05}, "rmsprop", {"lr": 0.05}, H),
    ("cyclic", {"step_size_up": 4, "base_momentum": 0.6, "max_momentum": 0.95}, "nesterov", {"lr": 0.002}, H),
    ("warmup_cosine", {"warmup_steps": 10, "start_factor": 0.1}, "sgd", {"lr": 0.01}, H),
    ("warmup_cosine", {"warmup_steps": 5, "start_factor": 0.5, "T_max": 20, "eta_min": 0.001}, "adam",
     {"lr": 0.1}, H),
    ("warmup_cosine", {}, "radam", {"lr": 0.003}, H),
]

DEFAULTS = {  # this project's declared defaults (copied; the test checks them against the registry)
    "step": {"step_size": 100, "gamma": 0.1},
    "multistep": {"milestones": [250, 500, 750], "gamma": 0.1},
    "exponential": {"gamma": 0.995},
    "cosine": {"T_max": 0, "eta_min": 0.0},
    "linear": {"start_factor": 1.0 / 3, "end_factor": 1.0, "total_iters": 5},
    "onecycle": {"max_lr": 0.0, "total_steps": 0, "pct_start": 0.3, "anneal_strategy": "cos",
                 "cycle_momentum": True, "base_momentum": 0.85, "max_momentum": 0.95, "div_factor": 25.0,
                 "final_div_factor": 1e4, "three_phase": False},
    "cyclic": {"base_lr": 0.0, "max_lr": 0.0, "step_size_up": 100, "step_size_down": 0, "mode": "triangular",
               "gamma": 1.0, "cycle_momentum": True, "base_momentum": 0.8, "max_momentum": 0.9},
    "warmup_cosine": {"warmup_steps": 50, "start_factor": 0.1, "T_max": 0, "eta_min": 0.0},
}


def torch_optimizer(name: str, hp: dict, params: torch.Tensor) -> torch.optim.Optimizer:
    kw = {"lr": DEFAULT_LR[name], **PRESETS.get(name, {}), **hp}
    return CLASSES[name]([params], foreach=False, **kw)


def torch_scheduler(name: str, settings: dict, opt: torch.optim.Optimizer, steps: int):
    s = {**DEFAULTS[name], **settings}
    lr = opt.param_groups[0]["lr"]
    if name == "step":
        return S.StepLR(opt, step_size=s["step_size"], gamma=s["gamma"])
    if name == "multistep":
        return S.MultiStepLR(opt, milestones=s["milestones"], gamma=s["gamma"])
    if name == "exponential":
        return S.ExponentialLR(opt, gamma=s["gamma"])
    if name == "cosine":
        return S.CosineAnnealingLR(opt, T_max=s["T_max"] or steps, eta_min=s["eta_min"])
    if name == "linear":
        return S.LinearLR(opt, start_factor=s["start_factor"], end_factor=s["end_factor"],
                          total_iters=s["total_iters"])
    if name == "onecycle":
        return S.OneCycleLR(opt, max_lr=s["max_lr"] or lr, total_steps=s["total_steps"] or steps,
                            pct_start=s["pct_start"], anneal_strategy=s["anneal_strategy"],
                            cycle_momentum=s["cycle_momentum"], base_momentum=s["base_momentum"],
                            max_momentum=s["max_momentum"], div_factor=s["div_factor"],
                            final_div_factor=s["final_div_factor"], three_phase=s["three_phase"])
    if name == "cyclic":
        base = s["base_lr"] or lr
        return S.CyclicLR(opt, base_lr=base, max_lr=s["max_lr"] or 4.0 * base, step_size_up=s["step_size_up"],
                          step_size_down=s["step_size_down"] or None, mode=s["mode"], gamma=s["gamma"],
                          cycle_momentum=s["cycle_momentum"], base_momentum=s["base_momentum"],
                          max_momentum=s["max_momentum"])
    if name == "warmup_cosine":
        warm = s["warmup_steps"]
        first = S.LinearLR(opt, start_factor=s["start_factor"], end_factor=1.0, total_iters=warm)
        second = S.CosineAnnealingLR(opt, T_max=s["T_max"] or max(steps - warm, 1), eta_min=s["eta_min"])
        return S.SequentialLR(opt, [first, second], milestones=[warm])
    raise KeyError(name)


def momentum_value(group: dict) -> float | None:
    if "betas" in group:
        return float(group["betas"][0])
    if "momentum" in group:
        return float(group["momentum"])
    return None


def run_case(schedule: str, settings: dict, optimizer: str, hp: dict, surface: str) -> dict:
    p = torch.tensor(STARTS[surface], dtype=torch.float64, requires_grad=True)
    opt = torch_optimizer(optimizer, hp, p)
    sched = torch_scheduler(schedule, settings, opt, STEPS)
    lrs, moms, positions = [], [], []
    for _ in range(STEPS):
        group = opt.param_groups[0]
        lrs.append(float(group["lr"]))
        moms.append(momentum_value(group))
        opt.zero_grad()
        SURFACES[surface](p).backward()
        opt.step()
        sched.step()
        positions.append(p.detach().clone().tolist())
    return {"schedule": schedule, "settings": settings, "optimizer": optimizer, "hp": hp, "surface": surface,
            "starts": STARTS[surface], "lrs": lrs, "momentums": moms, "positions": positions}


def main() -> None:
    data = {"torch": torch.__version__, "steps": STEPS, "defaults": DEFAULTS,
            "cases": [run_case(*c) for c in CASES]}
    out, _ = write_json("torch_schedules.json", data)
    print(f"wrote {len(CASES)} cases to {out}")


if __name__ == "__main__":
    main()

"""Every built-in optimizer with flag sets that reach each branch of its rule: the cases on which the
compiled path and the single-run lane are held bit for bit to the batched engine."""

from __future__ import annotations

CASES: list[tuple[str, dict]] = [
    ("sgd", {"lr": 0.01}),
    ("momentum", {"lr": 0.01, "dampening": 0.3, "weight_decay": 0.01}),
    ("nesterov", {"lr": 0.005}),
    ("sgd", {"lr": 0.01, "maximize": True}),
    ("adagrad", {"lr": 0.5, "lr_decay": 0.01, "initial_accumulator_value": 0.1}),
    ("rmsprop", {"lr": 0.02}),
    ("rmsprop", {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.01}),
    ("adam", {"lr": 0.05}),
    ("adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.01}),
    ("adam", {"lr": 0.05, "decoupled_weight_decay": True, "weight_decay": 0.1}),
    ("adamw", {"lr": 0.05}),
    ("nadam", {"lr": 0.05}),
    ("nadam", {"lr": 0.05, "decoupled_weight_decay": True, "weight_decay": 0.1}),
    ("radam", {"lr": 0.05}),
    ("adamax", {"lr": 0.1, "weight_decay": 0.01}),
    ("adadelta", {"lr": 5.0}),
    ("asgd", {"lr": 0.005, "t0": 50}),
    ("rprop", {"lr": 0.05}),
    ("qhm", {"lr": 0.01}),
    ("qhadam", {"lr": 0.05, "nu2": 0.9}),
]

"""Registered neural-network surfaces: at least one per Keras loss, named ``nn_<data>_<model>_<loss>``.

Imported by :mod:`landscape_gui.core.surfaces` on first registry use. Registration only stores a
spec string and a lazy factory: nothing is generated or trained at import time. Each factory builds
the surface from its spec (:func:`landscape_gui.core.nn.slices.nn_surface_from_spec`) and gives it
the registered name, so the CSV ``surface`` column stores the short name.
"""

from __future__ import annotations

from typing import Callable

from landscape_gui.core.surfaces import Surface, register_surface

CATALOGUE: dict[str, tuple[str, str]] = {
    "nn_sine_tanh_mse": (
        "nn:dataset=sine;model=tanh_unit;loss=mean_squared_error",
        "mean_squared_error of v·tanh(w·t) fitted to a noisy sine: two symmetric minima",
    ),
    "nn_sine_tanh_mae": (
        "nn:dataset=sine;model=tanh_unit;loss=mean_absolute_error",
        "mean_absolute_error of v·tanh(w·t) on a noisy sine: piecewise-linear creases",
    ),
    "nn_line_affine_mse": (
        "nn:dataset=line;model=affine;loss=mean_squared_error",
        "mean_squared_error of a straight line w·t + b: a convex bowl (least squares)",
    ),
    "nn_line_affine_msle": (
        "nn:dataset=line;model=affine;loss=mean_squared_logarithmic_error",
        "mean_squared_logarithmic_error of a straight line w·t + b with positive predictions",
    ),
    "nn_line_affine_mape": (
        "nn:dataset=line;model=affine;loss=mean_absolute_percentage_error",
        "mean_absolute_percentage_error (%) of a straight line w·t + b",
    ),
    "nn_moons_logistic_bce": (
        "nn:dataset=moons;model=linear;loss=binary_crossentropy",
        "binary_crossentropy of logistic regression sigmoid(w1·x1 + w2·x2) on two moons",
    ),
    "nn_moons_linear_hinge": (
        "nn:dataset=moons;model=linear;loss=hinge",
        "hinge loss of a linear score w1·x1 + w2·x2 on two moons (a linear SVM without penalty)",
    ),
    "nn_moons_linear_squared_hinge": (
        "nn:dataset=moons;model=linear;loss=squared_hinge",
        "squared_hinge loss of a linear score w1·x1 + w2·x2 on two moons",
    ),
    "nn_blobs_rotation_cce": (
        "nn:dataset=blobs;model=rotation;loss=categorical_crossentropy",
        "categorical_crossentropy of a softmax whose class directions scale and rotate with (w1, w2)",
    ),
    "nn_blobs_rotation_scce": (
        "nn:dataset=blobs;model=rotation;loss=sparse_categorical_crossentropy",
        "sparse_categorical_crossentropy (integer labels) of the rotating softmax on three blobs",
    ),
    "nn_blobs_rotation_kld": (
        "nn:dataset=blobs;model=rotation;loss=kl_divergence",
        "kl_divergence from one-hot labels to the rotating softmax on three blobs",
    ),
    "nn_moons_mlp_bce": (
        "nn:dataset=moons;model=mlp;hidden=16,16;loss=binary_crossentropy;centre=trained",
        "binary_crossentropy on a 2-D slice of a trained 2-16-16-1 tanh MLP on two moons (Li et al. 2018)",
    ),
    "nn_xor_mlp_bce_initial": (
        "nn:dataset=xor;model=mlp;hidden=16,16;loss=binary_crossentropy;centre=initial",
        "binary_crossentropy on a 2-D slice of an untrained 2-16-16-1 tanh MLP on XOR",
    ),
    "nn_sine_mlp_mse": (
        "nn:dataset=sine;model=mlp;hidden=16,16;loss=mean_squared_error;centre=trained",
        "mean_squared_error on a 2-D slice of a trained 1-16-16-1 tanh MLP fitted to a noisy sine",
    ),
}
"""Registered name -> (spec, one-line description)."""


def _factory(name: str, spec: str, description: str) -> Callable[[], Surface]:
    def build() -> Surface:
        from landscape_gui.core.nn.slices import nn_surface_from_spec

        surface = nn_surface_from_spec(spec)
        surface.name = name
        surface.description = description
        return surface

    return build


for _name, (_spec, _description) in CATALOGUE.items():
    register_surface(_name, _description, _factory(_name, _spec, _description))

"""Automatic hyperparameter search for the character model with KerasTuner.

``char_model_search_space`` is the hypermodel: given KerasTuner's ``hp`` object it declares the
search space (units, layers, dropout, learning rate) and returns a compiled model.
``trials_table`` turns a finished search into a table sorted by validation loss.
"""

from __future__ import annotations

import keras

from utils.data import Vocabulary
from utils.models import CharModelConfig, build_char_model
from utils.training import compile_char_model

SEARCH_SPACE = {  # name -> the values KerasTuner may choose (ranges are inclusive)
    "units": [64, 128, 256, 512],
    "num_layers": (1, 2),
    "dropout": (0.0, 0.3),
    "learning_rate": (1e-3, 1e-2),
}


def char_model_search_space(hp, vocabulary: Vocabulary, total_steps: int) -> keras.Model:
    """Build and compile one candidate: the search space is declared by the ``hp.*`` calls.

    Args:
        hp: KerasTuner's ``HyperParameters`` for this trial.
        vocabulary: the corpus's vocabulary.
        total_steps: optimiser steps of a full trial (for the learning-rate schedule).
    """
    config = CharModelConfig(
        embedding_dim=64,
        units=hp.Choice("units", SEARCH_SPACE["units"]),
        num_layers=hp.Int("num_layers", *SEARCH_SPACE["num_layers"]),
        dropout=hp.Float("dropout", *SEARCH_SPACE["dropout"], step=0.1),
        cell="lstm",
    )
    model = build_char_model(vocabulary, config)
    learning_rate = hp.Float("learning_rate", *SEARCH_SPACE["learning_rate"], sampling="log")
    return compile_char_model(model, learning_rate, total_steps)


def trials_table(tuner) -> list[dict]:
    """One row per trial that reported a score: its hyperparameters, epochs and validation loss, best first.

    Hyperband's own bookkeeping values (``tuner/bracket``, ``tuner/round``, ...) are left out, except
    the number of epochs the trial trained for and the trial it continues (promoted from), if any.
    """
    rows = []
    for trial in tuner.oracle.trials.values():
        if trial.score is None:  # a trial that failed or was stopped before it reported
            continue
        values = trial.hyperparameters.values
        row = {name: value for name, value in values.items() if not name.startswith("tuner/")}
        if "tuner/epochs" in values:
            row["epochs"] = values["tuner/epochs"]
        row["continues"] = values.get("tuner/trial_id") or ""  # Hyperband promoted that trial into this one
        rows.append({**row, "validation nats/char": trial.score, "trial": trial.trial_id})
    return sorted(rows, key=lambda row: row["validation nats/char"])

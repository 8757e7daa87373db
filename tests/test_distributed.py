"""Scaling helpers: multi-worker training on localhost, cuDNN eligibility, mixed precision, tuning."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from utils import data, distributed, models, performance, training, tuning

TEXT = "ROMEO:\nBut soft, what light through yonder window breaks?\n" * 40
VOCAB = data.Vocabulary.from_text(TEXT)


def test_two_worker_processes_end_with_identical_weights(tmp_path):
    initial, weights = distributed.launch_local_workers(tmp_path, num_workers=2, steps=3, timeout_s=240,
                                                        with_initial=True)
    assert len(weights) == 2 and len(weights[0]) > 0
    assert distributed.weights_identical(weights)
    assert distributed.weights_identical(initial), "both workers started from the same weights"
    assert not distributed.weights_identical([initial[0], weights[0]]), "and training changed them"
    broken = [w.copy() for w in weights[1]]
    broken[0][0, 0] += 1e-6
    assert not distributed.weights_identical([weights[0], broken])


def test_a_failing_worker_is_reported_with_its_output(tmp_path, monkeypatch):
    monkeypatch.setattr(distributed, "tf_config", lambda ports, index: "{not json")
    with pytest.raises(RuntimeError, match="worker 0 exited"):
        distributed.launch_local_workers(tmp_path, num_workers=2, steps=1, timeout_s=120)


def test_tf_config_names_the_cluster_and_the_task():
    config = json.loads(distributed.tf_config([2001, 2002], 1))
    assert config == {"cluster": {"worker": ["localhost:2001", "localhost:2002"]}, "task": {"type": "worker", "index": 1}}
    with pytest.raises(ValueError, match=r"index must be in \[0, 1\]"):
        distributed.tf_config([2001, 2002], 2)
    ports = distributed.free_ports(3)
    assert len(set(ports)) == 3 and all(p > 0 for p in ports)
    with pytest.raises(ValueError, match="num_workers"):
        distributed.launch_local_workers("unused", num_workers=0)


def test_the_worker_refuses_to_start_without_tf_config(tmp_path):
    run = subprocess.run([sys.executable, "-m", "utils.distributed", "--out", str(tmp_path)], capture_output=True,
                         text=True, env={"PATH": "/usr/bin:/bin"}, cwd=str(distributed.Path(__file__).parents[1]))
    assert run.returncode != 0 and "TF_CONFIG is not set" in run.stderr


def test_split_cpu_refuses_a_different_count_once_tensorflow_runs():
    tf.constant(1.0) + 1  # the runtime is initialised by now
    count = len(tf.config.list_logical_devices("CPU"))
    assert len(distributed.split_cpu(count)) == count  # same count again: harmless
    with pytest.raises(RuntimeError, match=f"count={count + 1}.*restart the kernel"):
        distributed.split_cpu(count + 1)


@pytest.mark.parametrize("layer, expected", [
    (keras.layers.LSTM(8), []),
    (keras.layers.LSTM(8, dropout=0.3), []),
    (keras.layers.LSTM(8, recurrent_dropout=0.1), ["recurrent_dropout=0.1 (needs 0)"]),
    (keras.layers.LSTM(8, activation="relu"), ["activation=relu (needs tanh)"]),
    (keras.layers.LSTM(8, recurrent_activation="hard_sigmoid"), ["recurrent_activation=hard_sigmoid (needs sigmoid)"]),
    (keras.layers.LSTM(8, unroll=True, use_bias=False), ["use_bias=False (needs True)", "unroll=True (needs False)"]),
    (keras.layers.LSTM(8, use_cudnn=False), ["use_cudnn=False"]),
    (keras.layers.GRU(8), []),
    (keras.layers.GRU(8, reset_after=False), ["reset_after=False (needs True)"]),
])
def test_cudnn_blockers(layer, expected):
    assert performance.cudnn_blockers(layer) == expected


def test_cudnn_blockers_agree_with_keras_own_rule():
    import importlib

    keras_tf_rnn = importlib.import_module("keras.src.backend.tensorflow.rnn")  # Keras's private rule: the reference

    for layer in [keras.layers.LSTM(8), keras.layers.LSTM(8, activation="relu"), keras.layers.LSTM(8, unroll=True),
                  keras.layers.LSTM(8, recurrent_activation="hard_sigmoid"), keras.layers.LSTM(8, use_bias=False)]:
        cell = layer.cell
        keras_says = keras_tf_rnn._do_lstm_arguments_support_cudnn(cell.activation, cell.recurrent_activation,
                                                                    layer.unroll, cell.use_bias)
        assert keras_says == (not performance.cudnn_blockers(layer))
    for layer in [keras.layers.GRU(8), keras.layers.GRU(8, reset_after=False)]:
        cell = layer.cell
        keras_says = keras_tf_rnn._do_gru_arguments_support_cudnn(cell.activation, cell.recurrent_activation,
                                                                   layer.unroll, cell.use_bias, cell.reset_after)
        assert keras_says == (not performance.cudnn_blockers(layer))
    with pytest.raises(ValueError, match="layer must be a keras.layers.LSTM or GRU"):
        performance.cudnn_blockers(keras.layers.SimpleRNN(4))


def test_the_course_models_keep_float32_logits_under_mixed_precision():
    try:
        keras.config.set_dtype_policy("mixed_float16")
        model = models.build_char_model(VOCAB, models.CharModelConfig(embedding_dim=8, units=16))
        transformer = models.build_transformer_model(VOCAB, context=8, dim=16, num_heads=2, num_layers=1)
        ids = np.zeros((1, 4), "int32")
        assert model.recurrent_layers[0].compute_dtype == "float16"
        assert keras.backend.standardize_dtype(model(ids).dtype) == "float32"
        assert keras.backend.standardize_dtype(transformer(ids).dtype) == "float32"
        training.compile_char_model(model, 1e-3, 10)
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    finally:
        keras.config.set_dtype_policy("float32")


def test_build_compiled_creates_mirrored_variables_under_a_strategy():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    model = training.build_compiled(lambda: models.build_char_model(VOCAB, models.CharModelConfig(embedding_dim=8, units=16)),
                                    1e-3, 10, strategy=strategy)
    assert model.distribute_strategy is strategy
    assert isinstance(model.trainable_variables[0].value, tf.distribute.DistributedValues) or \
        "Mirrored" in type(model.trainable_variables[0].value).__name__


def test_step_profile_and_throughput_measure_something():
    model = training.build_compiled(lambda: models.build_char_model(VOCAB, models.CharModelConfig(embedding_dim=8, units=16)),
                                    1e-3, 100)
    dataset = data.window_dataset(VOCAB.encode(TEXT), 20, 8)
    profile = performance.step_profile(model, dataset, repeats=2)
    assert list(profile) == ["read a batch", "forward", "forward + backward", "whole training step"]
    assert all(value > 0 for value in profile.values())
    assert performance.training_throughput(model, dataset, steps=2) > 0
    with pytest.raises(ValueError, match="steps must be a positive int"):
        performance.training_throughput(model, dataset, steps=0)


def test_a_tiny_keras_tuner_search(tmp_path):
    keras_tuner = pytest.importorskip("keras_tuner")
    dataset = data.window_dataset(VOCAB.encode(TEXT), 20, 8)
    tuner = keras_tuner.RandomSearch(lambda hp: tuning.char_model_search_space(hp, VOCAB, 3), objective="val_loss",
                                     max_trials=2, seed=0, directory=str(tmp_path), project_name="t")
    tuner.search(dataset.repeat(), steps_per_epoch=2, epochs=1, validation_data=dataset.take(1), verbose=0, shuffle=False)
    table = tuning.trials_table(tuner)
    assert len(table) == 2 and table[0]["validation nats/char"] <= table[1]["validation nats/char"]
    assert set(table[0]) >= {"units", "num_layers", "dropout", "learning_rate", "validation nats/char"}
    assert table[0]["units"] in tuning.SEARCH_SPACE["units"]


def test_a_tiny_hyperband_search_reports_epochs_not_bookkeeping(tmp_path):
    keras_tuner = pytest.importorskip("keras_tuner")
    dataset = data.window_dataset(VOCAB.encode(TEXT), 20, 8)
    tuner = keras_tuner.Hyperband(lambda hp: tuning.char_model_search_space(hp, VOCAB, 6), objective="val_loss",
                                  max_epochs=3, factor=3, seed=0, directory=str(tmp_path), project_name="h")
    tuner.search(dataset.repeat(), steps_per_epoch=2, validation_data=dataset.take(1), verbose=0, shuffle=False)
    table = tuning.trials_table(tuner)
    assert len(table) >= 3 and {row["epochs"] for row in table} == {1, 3}
    assert not any(name.startswith("tuner/") for row in table for name in row)


def test_cpu_flags_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16\n\nprocessor\t: 1\n", encoding="utf-8")
    flags = performance.cpu_flags(cpuinfo)
    assert {"avx2", "avx512_bf16"} <= flags and "amx_bf16" not in flags
    assert performance.cpu_flags(tmp_path / "missing") is None
    (tmp_path / "other").write_text("nothing here\n", encoding="utf-8")
    assert performance.cpu_flags(tmp_path / "other") is None

"""Carried-state training (utils.carried_state): stream batches, state carried exactly, reset at epochs and
around validation, and the carried evaluation equal to reading each stream in one call."""

import keras
import numpy as np
import pytest

from utils import carried_state, data, generation, models, training

TEXT = "ROMEO:\nBut soft, what light through yonder window breaks?\nIt is the east.\n" * 12
VOCAB = data.Vocabulary.from_text(TEXT)
IDS = VOCAB.encode(TEXT)


def _model(num_layers=1, cell="lstm"):
    keras.utils.set_random_seed(2)
    model = models.build_char_model(VOCAB, models.CharModelConfig(embedding_dim=8, units=16, num_layers=num_layers,
                                                                  cell=cell))
    model(np.zeros((1, 2), "int32"))
    return model


def test_stream_batches_continue_each_row():
    ids = np.arange(103)
    batches = list(carried_state.stream_dataset(ids, seq_len=5, batch_size=4))
    stream_chars, windows = carried_state.stream_layout(103, 5, 4)
    assert (stream_chars, windows, len(batches)) == (25, 4, 4)
    for k, (x, y) in enumerate(batches):
        assert x.shape == y.shape == (4, 5)
        for b in range(4):
            start = b * 25 + k * 5
            np.testing.assert_array_equal(x[b], ids[start:start + 5])
            np.testing.assert_array_equal(y[b], ids[start + 1:start + 6])


def test_stream_layout_refuses_too_short_a_text():
    with pytest.raises(ValueError, match=r"leave 5 characters per stream, fewer than seq_len \+ 1 = 6"):
        carried_state.stream_layout(20, 5, 4)
    with pytest.raises(ValueError, match="seq_len must be an int >= 1"):
        carried_state.stream_dataset(np.arange(10), 0, 2)


@pytest.mark.parametrize("cell, num_layers", [("lstm", 2), ("gru", 1)])
def test_the_state_is_carried_from_one_batch_to_the_next(cell, num_layers):
    model = _model(num_layers, cell)
    wrapper = carried_state.CarriedStateModel(model, batch_size=3)
    first, second = [x.numpy() for x, _ in carried_state.stream_dataset(IDS, 10, 3).take(2)]
    wrapper(first)
    _, after_first = model(first, return_state=True)
    np.testing.assert_allclose(np.asarray(wrapper(second)), np.asarray(model(second, states=after_first)), atol=1e-5)
    joined = np.concatenate([first, second], axis=1)  # the two windows read as one: the same predictions
    np.testing.assert_allclose(np.asarray(model(second, states=after_first)), np.asarray(model(joined))[:, 10:],
                               atol=1e-5)
    wrapper.reset_carried_state()
    assert all(not state.any() for state in wrapper.carried_state())


def test_carried_evaluation_equals_reading_each_stream_whole():
    model = _model()
    loss = carried_state.carried_state_loss(model, IDS, seq_len=7, batch_size=4)
    stream_chars, windows = carried_state.stream_layout(len(IDS), 7, 4)
    used = windows * 7
    streams = IDS[:stream_chars * 4].reshape(4, stream_chars)
    logits = model(streams[:, :used])
    whole = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(streams[:, 1:used + 1], logits)
    assert loss == pytest.approx(float(whole), rel=1e-5)


def test_fit_with_carried_state_learns_and_validation_leaves_the_training_state_alone():
    model = _model()
    wrapper = carried_state.CarriedStateModel(model, batch_size=4)
    training.compile_char_model(wrapper, 1e-2, total_steps=200)
    train_ids, val_ids = data.train_val_split(IDS)
    reset = carried_state.ResetCarriedState()

    class Probe(keras.callbacks.Callback):  # the state the training streams had before and after validation
        seen = []

        def on_test_begin(self, logs=None):
            self.seen.append(("before", self.model.carried_state()))

        def on_epoch_end(self, epoch, logs=None):
            self.seen.append(("after", self.model.carried_state()))

    history = wrapper.fit(carried_state.stream_dataset(train_ids, 10, 4),
                          validation_data=carried_state.stream_dataset(val_ids, 10, 4), epochs=4, verbose=0,
                          callbacks=[Probe(), reset])  # Probe first: it sees the state before the reset
    assert history.history["loss"][-1] < history.history["loss"][0]
    before, after = Probe.seen[0][1], Probe.seen[1][1]
    assert any(state.any() for state in before), "training carried a state"
    for ours, theirs in zip(before, after, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    # the wrapped model shares the trained weights and generates as any CharLanguageModel
    assert wrapper.language_model is model
    assert len(generation.TextGenerator(model).generate("ROMEO", 20, greedy=True)[0]) == 20


def test_a_batch_of_another_size_is_a_clear_error():
    wrapper = carried_state.CarriedStateModel(_model(), batch_size=4)
    with pytest.raises(ValueError, match=r"ids has 2 rows; this CarriedStateModel carries the state of batch_size=4"):
        wrapper(np.zeros((2, 5), "int32"))

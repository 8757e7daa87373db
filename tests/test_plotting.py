import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from utils import plotting  # noqa: E402


def test_draw_unrolled_rnn_draws_one_node_per_step_and_role():
    ax = plotting.draw_unrolled_rnn(steps=3)
    labels = [t.get_text() for t in ax.texts]
    for t in (1, 2, 3):
        assert f"$x_{t}$" in labels and f"$h_{t}$" in labels and f"$y_{t}$" in labels
    assert labels.count("$W_{hh}$") == 3
    plt.close("all")


def test_draw_unrolled_rnn_rejects_bad_steps():
    with pytest.raises(ValueError, match="steps"):
        plotting.draw_unrolled_rnn(steps=0)


def test_plot_loss_curves_labels_axes_and_baselines():
    _, ax = plt.subplots()
    out = plotting.plot_loss_curves({"train": [3, 2, 1]}, baselines={"unigram": 2.5}, ax=ax)
    assert out is ax and ax.get_ylabel() == "loss (nats/char)"
    assert len(ax.lines) == 2
    with pytest.raises(ValueError, match="curves"):
        plotting.plot_loss_curves({})
    plt.close("all")


def test_show_source_renders_a_python_block():
    from utils.display import show_source
    from utils.numpy_rnn import sigmoid

    block = show_source(sigmoid).data
    assert block.startswith("```python\ndef sigmoid(") and block.endswith("```")

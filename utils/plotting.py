"""Plot helpers: each takes ``ax=None`` and returns the axes it drew on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def _axes(ax, figsize=(7, 4)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def draw_unrolled_rnn(steps: int = 4, ax=None):
    """Draw an RNN unrolled over ``steps`` time steps: inputs x_t, states h_t, outputs y_t.

    The same three weight matrices (W_xh, W_hh, W_hy) label every step: they are shared.
    """
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    ax = _axes(ax, figsize=(2.2 * steps + 1.5, 3.6))
    box = {"boxstyle": "round,pad=0.35", "linewidth": 1.2}
    arrow = {"arrowstyle": "->", "linewidth": 1.2, "color": "0.25"}

    def node(x, y, text, color):
        ax.text(x, y, text, ha="center", va="center", fontsize=12, bbox={**box, "facecolor": color})

    node(-0.4, 1.0, "$h_0$", "white")
    for t in range(1, steps + 1):
        x = 2.0 * t
        node(x, 0.0, f"$x_{t}$", "#d8e8f8")
        node(x, 1.0, f"$h_{t}$", "#fde3c8")
        node(x, 2.0, f"$y_{t}$", "#d9f0d3")
        ax.annotate("", (x, 0.75), (x, 0.25), arrowprops=arrow)
        ax.annotate("", (x, 1.75), (x, 1.25), arrowprops=arrow)
        ax.text(x + 0.08, 0.5, "$W_{xh}$", fontsize=9, va="center")
        ax.text(x + 0.08, 1.5, "$W_{hy}$", fontsize=9, va="center")
        start = -0.1 if t == 1 else x - 1.7
        ax.annotate("", (x - 0.3, 1.0), (start, 1.0), arrowprops=arrow)
        ax.text((start + x - 0.3) / 2, 1.08, "$W_{hh}$", fontsize=9, ha="center")
    ax.set_xlim(-1.0, 2.0 * steps + 0.8)
    ax.set_ylim(-0.5, 2.5)
    ax.set_axis_off()
    ax.set_title(f"An RNN unrolled over {steps} steps: one set of weights, applied at every step")
    return ax


def plot_loss_curves(curves: Mapping[str, Sequence[float]], *, x_label: str = "training step",
                     y_label: str = "loss (nats/char)", baselines: Mapping[str, float] | None = None,
                     x_values: Mapping[str, Sequence[float]] | None = None, log_y: bool = False, ax=None):
    """Overlay named loss curves, with optional horizontal baselines (e.g. the unigram entropy).

    Args:
        curves: name -> loss values.
        x_label, y_label: axis labels (state the units).
        baselines: name -> constant level drawn as a dashed line.
        x_values: name -> x coordinates for that curve (default 0, 1, 2, ...).
        log_y: log-scale y axis.
    """
    if not curves:
        raise ValueError("curves is empty; pass at least one named sequence")
    ax = _axes(ax)
    for name, values in curves.items():
        xs = x_values[name] if x_values and name in x_values else range(len(values))
        ax.plot(list(xs), list(values), label=name)
    for name, level in (baselines or {}).items():
        ax.axhline(level, linestyle="--", linewidth=1, color="0.4")
        ax.annotate(name, (ax.get_xlim()[1], level), ha="right", va="bottom", fontsize=9, color="0.3")
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.grid(alpha=0.3)
    ax.legend()
    return ax

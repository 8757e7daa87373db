"""Training on several devices or processes with ``tf.distribute``, on one laptop.

* ``split_cpu`` turns the CPU into several logical devices, so ``MirroredStrategy`` can be shown
  and tested without GPUs (the same code then runs on several GPUs).
* ``launch_local_workers`` starts a real ``MultiWorkerMirroredStrategy`` job: several Python
  processes on localhost ports, each told its place in the cluster by the ``TF_CONFIG`` variable,
  exactly as on a cluster of machines. Each worker trains the course's character model on the
  built-in story corpus for a few steps and saves its final weights, so the caller can check that
  the all-reduce kept every worker's copy of the model identical.

Run one worker by hand with ``python -m utils.distributed --help``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np

from utils.checks import check_int


def split_cpu(count: int) -> list[str]:
    """Split the first physical CPU into ``count`` logical devices; returns their names.

    Must run before TensorFlow executes its first operation (put it at the top of the notebook);
    calling it again with the same count is harmless.

    Raises:
        RuntimeError: TensorFlow's devices were already set up differently (restart the kernel).
    """
    import tensorflow as tf

    check_int(count, "count")
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError as err:
        existing = tf.config.list_logical_devices("CPU")
        if len(existing) != count:
            raise RuntimeError(f"cannot split the CPU into count={count} devices: TensorFlow already runs with "
                               f"{len(existing)}; call split_cpu before any TensorFlow operation (restart the kernel)"
                               ) from err
    return [device.name for device in tf.config.list_logical_devices("CPU")]


def free_ports(count: int) -> list[int]:
    """``count`` TCP ports on localhost that were free a moment ago (the OS picks them)."""
    check_int(count, "count")
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("localhost", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def tf_config(ports: list[int], index: int) -> str:
    """The ``TF_CONFIG`` JSON for worker ``index`` of a cluster of workers on localhost ``ports``."""
    if not 0 <= index < len(ports):
        raise ValueError(f"index must be in [0, {len(ports) - 1}], got {index!r}")
    return json.dumps({"cluster": {"worker": [f"localhost:{port}" for port in ports]},
                       "task": {"type": "worker", "index": index}})


def launch_local_workers(out_dir: str | os.PathLike, *, num_workers: int = 2, steps: int = 4,
                         global_batch_size: int = 16, seq_len: int = 64, timeout_s: float = 300,
                         with_initial: bool = False):
    """Run a ``MultiWorkerMirroredStrategy`` training job in ``num_workers`` local processes.

    Returns each worker's final weights (one list of arrays per worker, in worker order); with
    ``with_initial``, a pair ``(initial, final)``: also the weights each worker started from, so that
    a check of "the weights changed" cannot pass because the workers started apart.

    Raises:
        RuntimeError: a worker failed or timed out (its last output lines are in the message).
    """
    check_int(num_workers, "num_workers")
    check_int(steps, "steps")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ports = free_ports(num_workers)
    repo = Path(__file__).resolve().parents[1]
    processes = []
    for index in range(num_workers):
        env = {**os.environ, "TF_CONFIG": tf_config(ports, index), "CUDA_VISIBLE_DEVICES": "",
               "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(repo) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        command = [sys.executable, "-m", "utils.distributed", "--out", str(out_dir), "--steps", str(steps),
                   "--global-batch-size", str(global_batch_size), "--seq-len", str(seq_len)]
        processes.append(subprocess.Popen(command, env=env, cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                          text=True))
    failures = []
    for index, process in enumerate(processes):
        try:
            output, _ = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            for other in processes:
                other.kill()
            output, _ = process.communicate()
            failures.append(f"worker {index} timed out after {timeout_s} s:\n" + "\n".join(output.splitlines()[-15:]))
            continue
        if process.returncode != 0:
            failures.append(f"worker {index} exited with {process.returncode}:\n" + "\n".join(output.splitlines()[-15:]))
    if failures:
        raise RuntimeError("multi-worker training failed\n" + "\n".join(failures))
    def load(suffix: str) -> list[list[np.ndarray]]:
        weights = []
        for index in range(num_workers):
            with np.load(out_dir / f"worker_{index}{suffix}.npz") as saved:
                weights.append([saved[f"arr_{i}"] for i in range(len(saved.files))])
        return weights

    return (load("_initial"), load("")) if with_initial else load("")


def weights_identical(weights_per_worker: list[list[np.ndarray]]) -> bool:
    """True if every worker holds exactly the same arrays (bit for bit)."""
    first = weights_per_worker[0]
    return all(len(w) == len(first) and all(np.array_equal(a, b) for a, b in zip(w, first, strict=True))
               for w in weights_per_worker[1:])


def _worker(args: argparse.Namespace) -> None:
    """One worker: the cluster and this worker's place in it come from ``TF_CONFIG``.

    An explicit training loop (``strategy.run``) rather than ``model.fit``: Keras 3's ``fit`` does not
    support ``MultiWorkerMirroredStrategy`` (keras-team/keras#20585), and the loop shows what ``fit``
    does for a single-machine strategy anyway.
    """
    from utils.env import import_tensorflow_quietly

    tf = import_tensorflow_quietly()
    import keras

    from utils import data, models, stories

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    text, _ = stories.story_corpus(50_000, seed=0)  # every worker builds the same corpus: no file to share
    vocabulary = data.Vocabulary.from_text(text)
    dataset = data.window_dataset(vocabulary.encode(text), args.seq_len, args.global_batch_size, seed=0)
    options = tf.data.Options()  # each worker reads its own share of the global batches
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    batches = iter(strategy.experimental_distribute_dataset(dataset.with_options(options).repeat()))
    with strategy.scope():  # variables created here are mirrored on every worker
        keras.utils.set_random_seed(0)
        model = models.build_char_model(vocabulary, models.CharModelConfig(embedding_dim=16, units=32))
        optimizer = keras.optimizers.Adam(1e-2)
        optimizer.build(model.trainable_variables)
    np.savez(Path(args.out) / f"worker_{index}_initial.npz", *model.get_weights())
    per_window_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)

    def replica_step(ids, targets):  # runs on every replica with its share of the global batch
        with tf.GradientTape() as tape:
            losses = tf.reduce_mean(per_window_loss(targets, model(ids, training=True)), axis=-1)
            loss = tf.nn.compute_average_loss(losses, global_batch_size=args.global_batch_size)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))  # all-reduces (sums) the gradients
        return loss

    @tf.function
    def train_step():
        return strategy.reduce("SUM", strategy.run(replica_step, args=next(batches)), axis=None)

    for _ in range(args.steps):
        loss = train_step()
    np.savez(Path(args.out) / f"worker_{index}.npz", *model.get_weights())
    print(f"worker {index} of {strategy.num_replicas_in_sync}: loss {float(loss):.4f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="One MultiWorkerMirroredStrategy worker (reads TF_CONFIG).")
    parser.add_argument("--out", required=True, help="folder for worker_<index>.npz (the final weights)")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--global-batch-size", type=int, default=16)
    parser.add_argument("--seq-len", type=int, default=64)
    args = parser.parse_args(argv)
    if "TF_CONFIG" not in os.environ:
        parser.error("TF_CONFIG is not set: start workers with utils.distributed.launch_local_workers")
    _worker(args)


if __name__ == "__main__":
    main()

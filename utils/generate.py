"""Command-line sampler for a saved character model.

    python -m utils.generate --model PATH (--prompt TEXT | --prompt-file FILE) --length N --temperature T \
        [--top-k K | --top-p P] [--greedy] [--streams S] [--seed S]

Prints the prompt followed by the generated text (with --prompt-file, a UTF-8 file of any length,
only the generated text). Bad arguments exit with status 2 and a message naming the argument; the
model file and the prompt file are only read, never changed.
"""

from __future__ import annotations

import argparse
import re
import sys

MAX_VOCABULARY = 2**31 - 1  # top-k's bound before the model (and its vocabulary) is read
OPTION_NAMES = {"length": "--length", "temperature": "--temperature", "seed": "--seed", "num_streams": "--streams",
                "top_k": "--top-k", "top_p": "--top-p"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m utils.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a .keras file saved from a CharLanguageModel")
    prompt = parser.add_mutually_exclusive_group(required=True)
    prompt.add_argument("--prompt", help="text to continue; its characters must be in the vocabulary")
    prompt.add_argument("--prompt-file", help="a UTF-8 text file to continue (read once, by utils.priming)")
    parser.add_argument("--length", type=int, default=500, help="characters to generate (0 to 1,000,000)")
    parser.add_argument("--temperature", type=float, default=0.8, help="0.001 to 1000; lower is more conservative")
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--top-k", type=int, default=None, help="sample among the K most likely characters")
    choice.add_argument("--top-p", type=float, default=None, help="nucleus sampling: smallest set with mass >= P")
    parser.add_argument("--greedy", action="store_true", help="always take the most likely character")
    parser.add_argument("--streams", type=int, default=1, help="independent samples to generate at once (1 to 10,000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed, 0 to 2**31-1 (same seed, same text)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from utils.env import import_tensorflow_quietly

    import_tensorflow_quietly()
    from utils.generation import TextGenerator, check_sampling_args
    from utils.models import load_char_model

    def checked(vocab_size: int) -> None:
        check_sampling_args(vocab_size, length=args.length, temperature=args.temperature, top_k=args.top_k,
                            top_p=args.top_p, num_streams=args.streams, seed=args.seed)

    try:
        if args.prompt_file is not None:
            from utils.data import read_text_file

            args.prompt = read_text_file(args.prompt_file, "--prompt-file")
        checked(MAX_VOCABULARY)  # every bound that does not depend on the model, before the model is read
        model = load_char_model(args.model)
        checked(model.vocabulary.size)  # and top-k's upper bound, which does
        texts = TextGenerator(model).generate(
            args.prompt, args.length, temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
            greedy=args.greedy, seed=args.seed, num_streams=args.streams)
    except (ValueError, FileNotFoundError) as err:
        parser.error(re.sub(r"\b(length|temperature|seed|num_streams|top_k|top_p)\b",
                            lambda m: OPTION_NAMES[m.group(1)], str(err)).replace("model path=", "--model "))
    for text in texts:
        print(text if args.prompt_file is not None else args.prompt + text)
        if len(texts) > 1:
            print("-" * 40)
    return 0


if __name__ == "__main__":
    sys.exit(main())

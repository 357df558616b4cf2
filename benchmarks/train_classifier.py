"""Train ganzoo's evaluation classifier; a thin wrapper so the script sits beside the other benchmarks.

    python benchmarks/train_classifier.py                 # rewrites plugins/datasets/data/mnist-10k-classifier.safetensors
    python benchmarks/train_classifier.py --dataset fashion-mnist --out fmnist-classifier.safetensors

Same as `python -m ganzoo.evaluation.train_classifier`; see that module for the options.
"""

from ganzoo.evaluation.train_classifier import main

if __name__ == "__main__":
    main()

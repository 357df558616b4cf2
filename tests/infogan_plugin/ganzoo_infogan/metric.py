"""code-purity: how well InfoGAN's categorical code alone tells the digit."""

from __future__ import annotations

from collections.abc import Mapping

from ganzoo.evaluation.metric import Evaluation, Metric


class CodePurity(Metric):
    """Code purity: each value of the categorical code is matched to the digit the data's classifier sees most
    often in its samples; the share of samples whose digit is their code's match (InfoGAN's unsupervised
    classification, Chen et al. 2016, section 5.1: 95% on MNIST). 0.1 for a code the digits ignore."""

    def __init__(self) -> None:
        super().__init__()

    def __call__(self, ev: Evaluation) -> Mapping[str, object]:
        probs, codes = ev.probs(), ev.labels
        if probs is None or codes is None:
            ev.note("code-purity: no classifier of this data, or no codes")
            return {}
        seen = probs.argmax(1)
        hits = sum(int(seen[codes == c].bincount().max()) for c in codes.unique())
        return {"code_purity": hits / len(codes)}

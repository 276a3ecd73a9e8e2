"""The parameter budget in plain words: how many numbers the network fits, where they sit, and how
that compares with the training set and with networks people know.

A note, not an alarm: more parameters than training samples is ordinary for neural networks
(weight sharing, early stopping and augmentation keep them in check); whether a model overfits
shows in the gap between training and validation loss, not in this count.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from nnstudio.core.formatting import fmt_count
from nnstudio.core.model.infer import Inference

# networks to compare with: (parameters, what)
REFERENCES = ((2, "a straight-line fit"),
              (2_369, "the lecture's galaxy-mass network (Dense 64 and 32 on three inputs)"),
              (60_000, "LeNet-5, the 1998 digit reader"),
              (25_600_000, "ResNet-50, a standard image classifier"),
              (124_000_000, "GPT-2 small"))


@dataclass
class LayerShare:
    name: str
    class_name: str
    params: int
    share: float            # of all parameters


@dataclass
class ParameterBudget:
    total: int
    trainable: int
    n_train: int | None
    layers: list[LayerShare] = field(default_factory=list)

    @property
    def per_sample(self) -> float | None:
        return self.trainable / self.n_train if self.n_train else None

    @property
    def headline(self) -> str:
        mb = self.total * 4 / 1e6
        size = f"{mb:.1f} MB" if mb >= 0.1 else f"{self.total * 4 / 1e3:.0f} kB"
        return (f"{fmt_count(self.total)} parameters ({fmt_count(self.trainable)} trained), "
                f"{size} as 32-bit numbers")

    @property
    def scale(self) -> str:
        """Where the count sits among networks people know."""
        below = [r for r in REFERENCES if r[0] <= self.total]
        above = [r for r in REFERENCES if r[0] > self.total]
        parts = []
        if below:
            parts.append(f"more than {below[-1][1]} ({fmt_count(below[-1][0])})")
        if above:
            parts.append(f"fewer than {above[0][1]} ({fmt_count(above[0][0])})")
        return "For scale: " + " and ".join(parts) + "."

    @property
    def per_sample_text(self) -> str:
        if self.per_sample is None:
            return "Parameters per training sample: known once the data are prepared."
        ps = self.per_sample
        ratio = f"{ps:,.1f}" if ps < 10 else fmt_count(round(ps))
        head = f"{ratio} trained parameters per training sample ({fmt_count(self.n_train)} samples)."
        if ps > 1:
            return (head + " More parameters than samples is ordinary for neural networks: weight sharing, "
                    "early stopping and augmentation keep them in check. Whether this model overfits shows in "
                    "the Train step, as a validation loss that stops falling while the training loss goes on.")
        return (head + " Fewer parameters than samples: the data constrain every weight well; if the "
                "validation loss stays high, the model may be too small to describe the data.")

    @property
    def largest(self) -> str:
        if not self.layers or self.total == 0:
            return ""
        top = max(self.layers, key=lambda s: s.params)
        if top.share < 0.5:
            return "The parameters are spread over the layers."
        text = f"Most of them ({top.share:.0%}) sit in one layer, {top.name} ({top.class_name})."
        if top.class_name == "Dense" and any(s.class_name == "Flatten" for s in self.layers):
            text += (" A Dense layer after Flatten connects to every pixel of every feature map; a "
                     "GlobalAveragePooling2D layer before it would need far fewer.")
        return text


def parameter_budget(inference: Inference, n_train: int | None = None) -> ParameterBudget:
    """The budget of an inferred model; ``n_train`` the number of training samples (if known)."""
    total = inference.total_params
    layers = [LayerShare(i.name, i.class_name, i.params, i.params / total if total else 0.0)
              for i in inference.layers]
    return ParameterBudget(total, inference.trainable_params, n_train, layers)


__all__ = ["REFERENCES", "LayerShare", "ParameterBudget", "parameter_budget"]

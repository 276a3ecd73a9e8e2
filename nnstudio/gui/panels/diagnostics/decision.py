"""The project's decision rule as the Diagnostics threshold controls read and write it."""
from __future__ import annotations

ARGMAX = -1                 # positive-class combo entry: no threshold, most probable class


def project_decision(project, k: int) -> tuple[int, float]:
    """The project's decision rule as (positive entry, threshold) for ``k`` classes; the default
    (class 1 at 0.5, or the most probable of K > 2) when it has none that fits."""
    rule = project.decision
    if rule.threshold is not None and rule.positive is not None and rule.positive < k:
        return int(rule.positive), float(rule.threshold)
    return (ARGMAX if k > 2 else 1), 0.5


def store_decision(project, positive: int, threshold: float, split: str) -> None:
    """The person moved the threshold or picked a class: the project keeps it (every view, the
    report and predictions read it), with the split it was chosen on."""
    from nnstudio.core.project import DecisionRule

    rule = (DecisionRule() if positive == ARGMAX else
            DecisionRule(positive=int(positive), threshold=round(threshold, 6), split=split))
    if rule != project.decision:
        project.decision = rule
        project.mark_changed("decision")


def test_split_warning(rule) -> str | None:
    """A warning when the threshold was chosen while looking at the test split."""
    if rule.threshold is not None and rule.split == "test":
        return (f"The threshold {rule.threshold:.3f} was chosen while looking at the test split, so the test "
                "figures at it are optimistic. Choose it on the validation split (Evaluate on ▸ Validation) "
                "and keep test for the honest figures.")
    return None

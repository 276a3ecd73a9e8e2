"""The Data step says how uneven the classes are and, past 3:1, offers to weigh them."""
from tests.gui.test_data_panel import open_and_wait


def write_uneven(path, n_common, n_rare):
    lines = ["a,b,label"]
    for i in range(n_common + n_rare):
        lines.append(f"{i},{(i * 7) % 11},{'rare' if i < n_rare else 'common'}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_4_to_1_split_is_offered_class_weights_that_reach_the_training_settings(make_window, qtbot, tmp_path):
    w = make_window()
    panel = open_and_wait(qtbot, w, write_uneven(tmp_path / "uneven.csv", 160, 40))
    advice = panel.balance_advice
    assert w.session.project.training.class_weight == "auto"
    assert advice.isVisibleTo(panel) and advice.advice.level == "propose"
    train = panel.balance_table
    common, rare = int(train.item(0, 0).text().split()[0]), int(train.item(1, 0).text().split()[0])
    assert f"({common / rare:.1f}:1)" in advice.label.text() and "rare" in advice.label.text()
    assert advice.weigh_button.isVisibleTo(panel)
    advice.weigh_button.click()
    assert w.session.project.training.class_weight == "balanced"
    assert advice.advice.level == "weighed" and not advice.weigh_button.isVisibleTo(panel)
    # the Train step's combo shows the same choice
    w.show_panel("train")
    qtbot.waitUntil(lambda: w.panels["train"].weight_combo.currentData() == "balanced", timeout=10_000)


def test_past_5_to_1_weights_are_on_by_default_and_even_classes_get_no_offer(make_window, qtbot, tmp_path):
    w = make_window()
    panel = open_and_wait(qtbot, w, write_uneven(tmp_path / "rare.csv", 180, 20))
    assert panel.balance_advice.advice.level == "weighed"
    assert "weighed by default" in panel.balance_advice.label.text()
    assert not panel.balance_advice.weigh_button.isVisibleTo(panel)
    panel = open_and_wait(qtbot, w, write_uneven(tmp_path / "even.csv", 100, 90))
    assert panel.balance_advice.advice.level == "even"
    assert not panel.balance_advice.weigh_button.isVisibleTo(panel)


def test_other_data_resets_a_threshold_chosen_on_the_old_samples(make_window, qtbot, tmp_path):
    from nnstudio.core.project import DecisionRule

    w = make_window()
    panel = open_and_wait(qtbot, w, write_uneven(tmp_path / "first.csv", 100, 90))
    w.session.project.decision = DecisionRule(positive=1, threshold=0.2, split="test")
    panel.apply()                                   # the same data again: the threshold stays
    qtbot.waitUntil(lambda: panel.messages.is_shown("applied") and not panel.job.running, timeout=60_000)
    assert w.session.project.decision.threshold == 0.2
    panel = open_and_wait(qtbot, w, write_uneven(tmp_path / "second.csv", 120, 60))
    assert not w.session.project.decision.uses_threshold and w.session.project.decision.split is None
    assert "threshold was chosen on the previous data" in panel.messages.text("applied")

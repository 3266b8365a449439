"""The optimizer panel and the schedule panel share one chooser (combo box, description, generated
form, refusal line, Defaults button): what each shows and does, driven through the real widgets."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from landscape_gui.core.optimizers import get_optimizer
from landscape_gui.core.schedules import get_schedule


def _choose(combo, data):
    i = combo.findData(data)
    assert i >= 0, data
    combo.setCurrentIndex(i)


def test_optimizer_defaults_button_brings_back_the_declared_values(window):
    ctl, panel = window.ctl, window.optimizer_panel
    _choose(panel.combo, "momentum")
    declared = get_optimizer("momentum").resolve()
    panel.form.fields["lr"].setValue(0.004)
    panel.form.fields["momentum"].setValue(0.5)
    assert ctl.hyperparameters("momentum")["lr"] == 0.004
    panel.form.fields["nesterov"].setChecked(True)
    panel.form.fields["momentum"].setValue(0.0)  # Nesterov without momentum: refused inline
    assert panel.error.isVisibleTo(window)
    assert panel.defaults_button.isVisibleTo(window)
    panel.defaults_button.click()
    assert ctl.hyperparameters("momentum") == declared
    assert panel.form.fields["lr"].value() == declared["lr"]
    assert panel.form.fields["momentum"].value() == declared["momentum"]
    assert panel.form.sliders["lr"].value() == panel.form.sliders["lr"].to_position(declared["lr"])
    assert not panel.error.isVisibleTo(window)


def test_optimizer_chooser_describes_the_choice_and_names_its_fields(window):
    panel = window.optimizer_panel
    _choose(panel.combo, "adam")
    adam = get_optimizer("adam")
    assert window.ctl.optimizer == "adam"
    assert panel.description.text() == adam.description
    assert panel.description.toolTip() == adam.reference
    assert list(panel.form.fields) == [h.name for h in adam.hyperparameters]
    assert window.findChild(QWidget, "hp_lr") is panel.form.fields["lr"]
    assert window.findChild(QWidget, "slider_lr") is panel.form.sliders["lr"]
    assert panel.form.sliders["lr"].toolTip().endswith("the runs follow")


def test_schedule_defaults_button_and_the_constant_choice(window):
    ctl, panel = window.ctl, window.lessons.schedule_panel
    assert ctl.schedule_name is None
    assert panel.form is None and not panel.defaults_button.isVisibleTo(window)
    assert panel.description.text() == "The learning rate stays at the optimizer's lr."

    _choose(panel.combo, "step")
    step = get_schedule("step")
    assert panel.description.text() == step.description
    assert panel.defaults_button.isVisibleTo(window)
    assert window.findChild(QWidget, "schedule_step_size") is panel.form.fields["step_size"]
    assert window.findChild(QWidget, "schedule_slider_gamma") is panel.form.sliders["gamma"]
    panel.form.fields["step_size"].setValue(20)
    panel.form.fields["gamma"].setValue(0.5)
    assert ctl.schedule_settings("step")["step_size"] == 20
    panel.defaults_button.click()
    assert ctl.schedule_settings("step") == step.resolve()
    assert panel.form.fields["step_size"].value() == step.resolve()["step_size"]
    assert panel.form.fields["gamma"].value() == step.resolve()["gamma"]

    _choose(panel.combo, None)
    assert ctl.schedule_name is None and panel.form is None
    assert not panel.defaults_button.isVisibleTo(window)
    assert panel.description.text() == "The learning rate stays at the optimizer's lr."
    assert panel.description.toolTip() == ""  # no reference left over from the schedule shown before


def test_a_refused_schedule_setting_is_shown_under_the_form_and_changes_nothing(window):
    ctl, panel = window.ctl, window.lessons.schedule_panel
    _choose(panel.combo, "multistep")
    before = ctl.schedule_settings("multistep")
    field = panel.form.fields["milestones"]
    field.setText("0,90")  # a milestone must be at least step 1
    field.editingFinished.emit()
    assert panel.error.isVisibleTo(window)
    assert "milestones" in panel.error.text()
    assert ctl.schedule_settings("multistep") == before
    field.setText("40,90")
    field.editingFinished.emit()
    assert not panel.error.isVisibleTo(window)
    assert ctl.schedule_settings("multistep")["milestones"] == (40, 90)

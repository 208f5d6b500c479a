"""The conversation's reasoning controls, in a panel the header's Reasoning button opens: a thinking budget
(presets and "no limit"), "Think before answering" (only where the model's template has the switch), what happens
to earlier thoughts ("drop" frees the context; "keep" only where the template renders them), and the context meter
(what the system prompt, documents, earlier thoughts and answers take of the context, with a warning and what
would be dropped before it overflows).

The choices are stored in the conversation's settings (engine.chat.storage.REASONING_SETTINGS); the engine applies
them to every reply of that conversation (engine.chat.conversation.conversation_config)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QFrame, QLabel, QProgressBar, QVBoxLayout, QWidget

from desktop.jobs import call, run_background, run_inference
from desktop.workers import BackgroundJobs, InferenceThread
from engine.chat.context_meter import WARN_AT, ContextMeter, conversation_meter
from engine.chat.storage import ConversationStore
from engine.runtime.generate import GenerationConfig
from engine.runtime.host import ChatKey
from engine.runtime.template import ChatTemplate

BUDGETS = (None, 512, 1024, 2048, 4096, 8192, 16384)  # None: no limit


@dataclass(frozen=True)
class TemplateAbilities:
    """What the model's chat template can do with thinking."""

    can_disable: bool  # Qwen3's enable_thinking; R1 distills must think
    can_keep: bool  # renders earlier thoughts (R1's template strips them: only "drop")
    default_history: str


def template_abilities(model_dir: Path) -> TemplateAbilities:
    """Read the model's chat template (no session is opened)."""
    template = ChatTemplate.from_model_dir(model_dir)
    return TemplateAbilities(template.supports_disable_thinking(), template.keeps_thoughts(),
                             template.default_history_thoughts())


class ReasoningPanel(QFrame):
    """The controls of one conversation. ``changed`` carries the stored reasoning settings after a change."""

    changed = Signal(dict)

    def __init__(self, store: ConversationStore, jobs: BackgroundJobs, inference: InferenceThread,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store, self.jobs, self.inference = store, jobs, inference
        self.conversation_id: str | None = None
        self.abilities: TemplateAbilities | None = None
        self.meter_value: ContextMeter | None = None
        self.budget = QComboBox()
        self.budget.setAccessibleName(self.tr("Thinking budget"))
        self.budget.setToolTip(self.tr("The most tokens the model may think; then it closes the thought and answers"))
        for value in BUDGETS:
            self.budget.addItem(self.tr("No limit") if value is None else self.tr("{0} tokens").format(f"{value:,}"),
                                value)
        self.budget.activated.connect(lambda _: self._store("thinking_budget", self.budget.currentData()))
        self.think = QCheckBox(self.tr("Think before answering"))
        self.think.setAccessibleName(self.tr("Think before answering"))
        self.think.setChecked(True)
        self.think.toggled.connect(lambda on: self._store("enable_thinking", bool(on)))
        self.think.hide()  # shown when the model's template has the switch
        self.history = QComboBox()
        self.history.setAccessibleName(self.tr("Earlier thoughts"))
        self.history.addItem(self.tr("Drop them (frees the context)"), "drop")
        self.history.addItem(self.tr("Keep them in the conversation"), "keep")
        self.history.activated.connect(lambda _: self._store("history_thoughts", self.history.currentData()))
        self.meter = QLabel()
        self.meter.setObjectName("dimLabel")
        self.meter.setWordWrap(True)
        self.meter.setAccessibleName(self.tr("Context meter"))
        self.meter_bar = QProgressBar()
        self.meter_bar.setAccessibleName(self.tr("Context used"))
        self.meter_bar.setTextVisible(False)
        self.warning = QLabel()
        self.warning.setObjectName("warningLabel")
        self.warning.setWordWrap(True)
        self.warning.hide()
        form = QFormLayout()
        form.addRow(self.tr("Thinking budget"), self.budget)
        form.addRow("", self.think)
        form.addRow(self.tr("Earlier thoughts"), self.history)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.meter_bar)
        layout.addWidget(self.meter)
        layout.addWidget(self.warning)
        self.setMinimumWidth(360)

    # the conversation's settings ---------------------------------------------------------------------------------

    def show_conversation(self, conversation_id: str | None) -> None:
        """Show the controls of a conversation (defaults for none)."""
        self.conversation_id = conversation_id
        settings = self.store.get(conversation_id).reasoning_settings() if conversation_id else {}
        self.budget.setCurrentIndex(max(0, self.budget.findData(settings.get("thinking_budget"))))
        self.think.blockSignals(True)
        self.think.setChecked(bool(settings.get("enable_thinking", True)))
        self.think.blockSignals(False)
        default = self.abilities.default_history if self.abilities else "drop"
        self.history.setCurrentIndex(max(0, self.history.findData(settings.get("history_thoughts", default))))

    def _store(self, key: str, value: Any) -> None:
        if self.conversation_id is None:
            return
        conv = self.store.get(self.conversation_id)
        settings = dict(conv.settings)
        if value is None and key == "thinking_budget":
            settings[key] = None  # stored as "no limit", not "the default"
        else:
            settings[key] = value
        self.store.update(conv.id, settings=settings)
        self.changed.emit(self.store.get(conv.id).reasoning_settings())

    # the model -----------------------------------------------------------------------------------------------------

    def set_model(self, model_dir: Path | None) -> None:
        """Ask what the model's template allows (in the background); remote models show the budget only."""
        self.abilities = None
        self.think.hide()
        keep = self.history.model().item(1)  # type: ignore[attr-defined]
        if model_dir is None:
            return
        keep.setEnabled(True)
        run_background(self.jobs, self, call(template_abilities, model_dir), self._on_abilities,
                       self.meter.setText)

    def _on_abilities(self, abilities: TemplateAbilities) -> None:
        self.abilities = abilities
        self.think.setVisible(abilities.can_disable)
        keep = self.history.model().item(1)  # type: ignore[attr-defined]
        keep.setEnabled(abilities.can_keep)
        keep.setToolTip("" if abilities.can_keep else
                        self.tr("This model's template removes earlier thoughts itself"))
        self.show_conversation(self.conversation_id)

    # the meter -----------------------------------------------------------------------------------------------------

    def measure(self, key: ChatKey, config: GenerationConfig, draft: str = "",
                done: Callable[[ContextMeter], None] | None = None) -> None:
        """Measure the conversation's next prompt on the inference thread (the model is loaded there if needed)."""
        if self.conversation_id is None:
            return
        conv_id, host, store = self.conversation_id, self.inference.host, self.store

        def work() -> ContextMeter:
            return conversation_meter(store, conv_id, host.chat(key), config, draft=draft)

        def shown(meter: ContextMeter) -> None:
            self.show_meter(meter)
            if done is not None:
                done(meter)

        run_inference(self.inference, self, call(work), shown, self.meter.setText)

    def show_meter(self, m: ContextMeter) -> None:
        """Show what each part takes of the context, and warn before it overflows."""
        self.meter_value = m
        self.meter_bar.setRange(0, max(1, m.context_size))
        self.meter_bar.setValue(min(m.used, m.context_size))
        self.meter.setText(self.tr("System prompt {0} · documents {1} · earlier thoughts {2} · answers {3} · "
                                   "questions {4} — {5} of {6} tokens, {7} kept for the reply").format(
            m.system_tokens, m.documents_tokens, m.thought_tokens, m.answer_tokens, m.question_tokens,
            f"{m.used:,}", f"{m.context_size:,}", f"{m.reserve:,}"))
        full = (m.total + m.reserve) / max(1, m.context_size)
        if m.dropped:
            self.warning.setText(self.tr("The context is full: the {0} oldest messages ({1} tokens) are left out of "
                                         "the next reply.").format(len(m.dropped), f"{m.dropped_tokens:,}"))
        elif full >= WARN_AT:
            self.warning.setText(self.tr("The context is {0}% full: soon the oldest messages will be left out. "
                                         "Dropping earlier thoughts frees {1} tokens.").format(
                round(100 * full), f"{m.thought_tokens:,}"))
        self.warning.setVisible(bool(m.dropped) or full >= WARN_AT)

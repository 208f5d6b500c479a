"""The documents bar under a conversation: which collection it answers from, adding files, indexing progress with
pause and resume, and the list of files with the reason for each failure."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.documents.indexer import DocumentIndexer
from desktop.jobs import run_background
from desktop.offline import offline_note
from desktop.theme import current_tokens
from engine.documents.embedders import embedder_folder, find_embedder, get_embedder
from engine.documents.extract import SUPPORTED
from engine.documents.pipeline import IndexProgress, IndexStage
from engine.system.cancel import CancelToken
from engine.system.errors import PonderError
from engine.system.progress import Progress, Stage, run_with_progress

STAGE_WEIGHT = {IndexStage.EXTRACT: 0.1, IndexStage.SEARCHABLE: 0.2, IndexStage.EMBED: 0.2, IndexStage.INDEXED: 1.0,
                IndexStage.SKIPPED: 1.0, IndexStage.FAILED: 1.0}


def embedder_ready() -> bool:
    """An embedding model is installed (documents can be indexed and searched)."""
    try:
        embedder_folder()
    except PonderError:
        return False
    return True


class FilesDialog(QDialog):
    """The files of a collection: indexed (with their chunk count), waiting, or failed with the reason."""

    def __init__(self, indexer: DocumentIndexer, collection: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.indexer, self.collection = indexer, collection
        self.setWindowTitle(self.tr("Documents in “{0}”").format(collection))
        self.resize(720, 420)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels([self.tr("File"), self.tr("Status"), self.tr("Details")])
        self.tree.setRootIsDecorated(False)
        self.remove_button = QPushButton(self.tr("Remove from the collection"))
        self.remove_button.clicked.connect(self._remove)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignRight)
        self.refresh()

    def refresh(self) -> None:
        """Reload the list from the index."""
        self.tree.clear()
        labels = {"indexed": self.tr("indexed"), "failed": self.tr("failed"), "pending": self.tr("waiting")}
        for f in self.indexer.index.files(self.collection):
            detail = f.error if f.status == "failed" else (self.tr("{0} passages").format(f.chunks)
                                                            if f.status == "indexed" else "")
            item = QTreeWidgetItem([Path(f.path).name, labels.get(f.status, f.status), detail])
            item.setToolTip(0, f.path)
            item.setToolTip(2, detail)
            item.setData(0, Qt.ItemDataRole.UserRole, f.path)
            self.tree.addTopLevelItem(item)
        self.tree.resizeColumnToContents(0)

    def _remove(self) -> None:
        item = self.tree.currentItem()
        if item is not None:
            self.indexer.index.remove_file(self.collection, item.data(0, Qt.ItemDataRole.UserRole))
            self.refresh()


class DocumentsBar(QWidget):
    """Shows and changes the conversation's documents; ``collection_chosen`` carries "" for none."""

    collection_chosen = Signal(str)
    add_requested = Signal(list)  # paths chosen with the file dialog

    def __init__(self, indexer: DocumentIndexer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.indexer = indexer
        self.collection = ""
        self.files_dialog: FilesDialog | None = None
        self.chooser = QComboBox()
        self.chooser.setToolTip(self.tr("The documents this conversation answers from"))
        self.chooser.activated.connect(self._on_choose)
        self.chooser.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.chooser.setMinimumContentsLength(12)
        self.add_button = QPushButton(self.tr("Add documents…"))
        self.add_button.setToolTip(self.tr("Or drop files and folders on the chat: PDF, Word, text, Markdown, HTML"))
        self.add_button.clicked.connect(self._pick_files)
        self.chooser.setAccessibleName(self.tr("Documents"))
        self.add_button.setAccessibleName(self.tr("Add documents"))
        self.state = QLabel()
        self.state.setObjectName("dimLabel")
        self.state.setAccessibleName(self.tr("Indexing state"))
        self.state.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.state.setMinimumWidth(60)
        self.state.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.bar = QProgressBar()  # compact: a thin line under the state, as in LM Studio's downloads
        self.bar.setAccessibleName(self.tr("Indexing progress"))
        self.bar.setRange(0, 1000)
        self.bar.setFixedWidth(120)
        self.bar.setTextVisible(False)
        self.pause_button = QPushButton(self.tr("Pause"))
        self.pause_button.clicked.connect(self._pause_or_resume)
        self.files_button = QPushButton(self.tr("Files…"))
        self.files_button.clicked.connect(self.show_files)
        self.get_button = QPushButton(self._get_label())
        self.get_button.setAccessibleName(self.tr("Get the embedding model"))
        self.get_button.clicked.connect(self.get_embedder)
        self.pause_button.setAccessibleName(self.tr("Pause or resume indexing"))
        self.files_button.setAccessibleName(self.tr("Files of this collection"))
        self._getting: CancelToken | None = None
        label = QLabel(self.tr("Documents:"))
        label.setObjectName("dimLabel")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(label)
        row.addWidget(self.chooser)
        row.addWidget(self.add_button)
        row.addWidget(self.files_button)
        row.addWidget(self.state, 1)
        row.addWidget(self.bar)
        row.addWidget(self.pause_button)
        layout = QVBoxLayout(self)  # the offer of the embedding model gets its own line: it never cuts the row
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(row)
        layout.addWidget(self.get_button, 0, Qt.AlignmentFlag.AlignLeft)
        indexer.progress.connect(self._on_progress)
        indexer.changed.connect(self.refresh)
        self.refresh()

    def set_collection(self, collection: str) -> None:
        """Show ``collection`` ("" for none) as the conversation's documents."""
        self.collection = collection
        self.refresh()

    def refresh(self) -> None:
        """Update the chooser, the counts and the buttons from the index and the indexer."""
        self.chooser.blockSignals(True)
        self.chooser.clear()
        self.chooser.addItem(self.tr("None"), "")
        for name in self.indexer.index.collections():
            self.chooser.addItem(name, name)
        self.chooser.setCurrentIndex(max(0, self.chooser.findData(self.collection)))
        self.chooser.blockSignals(False)
        working = self.indexer.running
        waiting = self.indexer.has_work()
        self.get_button.setVisible(self._getting is not None or not embedder_ready())
        if self._getting is not None:
            return
        offline = offline_note()
        self.get_button.setEnabled(not offline)
        self.get_button.setToolTip(offline or find_embedder().description)
        self.bar.setVisible(working)
        self.pause_button.setVisible(working or waiting)
        self.pause_button.setText(self.tr("Resume") if self.indexer.paused or not working else self.tr("Pause"))
        self.files_button.setEnabled(bool(self.collection))
        if self.indexer.error:
            self.state.setText(self.indexer.error)
            self.state.setStyleSheet(f"color: {current_tokens(self.palette()).error}")
        elif not working:
            self.state.setStyleSheet("")
            self.state.setText(self._summary() + (" · " + self.tr("paused") if waiting else ""))
        if self.files_dialog is not None and self.files_dialog.isVisible():
            self.files_dialog.refresh()

    def _summary(self) -> str:
        if not self.collection:
            return ""
        files = self.indexer.index.files(self.collection)
        indexed = sum(f.status == "indexed" for f in files)
        failed = sum(f.status == "failed" for f in files)
        waiting = sum(f.status == "pending" for f in files)
        parts = [self.tr("{0} indexed").format(indexed)]
        if waiting:
            parts.append(self.tr("{0} waiting").format(waiting))
        if failed:
            parts.append(self.tr("{0} failed (see Files…)").format(failed))
        return ", ".join(parts)

    def _on_progress(self, p: IndexProgress) -> None:
        embedding = p.stage in (IndexStage.EMBED, IndexStage.SEARCHABLE) and p.total
        within = 0.2 + 0.8 * p.done / p.total if embedding else STAGE_WEIGHT.get(p.stage, 0.0)
        if p.stage == IndexStage.OCR and p.total:  # reading scans is most of such a file's time
            within = 0.1 * p.done / p.total
        self.bar.setValue(int(1000 * (p.file_index - 1 + within) / max(1, p.files)))
        name = Path(p.path).name
        if p.stage == IndexStage.FAILED:
            text = self.tr("{0} failed: {1}").format(name, p.message)
        elif p.stage == IndexStage.SEARCHABLE:  # keyword search finds it now; its vectors are coming
            text = self.tr("{0} of {1}: {2} — searchable; improving").format(p.file_index, p.files, name)
        elif p.stage == IndexStage.OCR:
            text = self.tr("Indexing {0} of {1}: {2} — reading scanned page {3} of {4} (OCR)").format(
                p.file_index, p.files, name, min(p.done + 1, p.total), p.total)
        elif p.stage == IndexStage.EMBED:
            text = self.tr("Indexing {0} of {1}: {2} — {3}%").format(p.file_index, p.files, name,
                                                                   int(100 * p.done / max(1, p.total)))
        else:
            text = self.tr("Indexing {0} of {1}: {2}").format(p.file_index, p.files, name)
        self.state.setStyleSheet("")
        self.state.setText(text)
        dialog = self.files_dialog
        if p.stage in (IndexStage.INDEXED, IndexStage.FAILED) and dialog is not None and dialog.isVisible():
            dialog.refresh()

    def _on_choose(self, i: int) -> None:
        self.collection = self.chooser.itemData(i) or ""
        self.collection_chosen.emit(self.collection)
        self.refresh()

    def _pause_or_resume(self) -> None:
        if self.indexer.running and not self.indexer.paused:
            self.indexer.pause()
        else:
            self.indexer.resume()

    def _pick_files(self) -> None:
        patterns = " ".join(f"*{ext}" for ext in sorted(SUPPORTED))  # every format extraction reads
        names, _ = QFileDialog.getOpenFileNames(self, self.tr("Add documents"), "",
                                                self.tr("Documents ({0});;All files (*)").format(patterns))
        if names:
            self.add_requested.emit([Path(n) for n in names])

    def _get_label(self) -> str:
        default = find_embedder()
        return self.tr("Get the embedding model ({0}, {1} MB)").format(default.name,
                                                                      round(default.download_bytes / 1e6))

    def get_embedder(self) -> None:
        """Download and prepare the default embedding model (the bar shows progress; press again to cancel);
        indexing resumes when it is ready."""
        if self._getting is not None:
            self._getting.cancel()  # the download stops; what was fetched is kept for next time
            self._get_failed(self.tr("Stopped; press again to continue the download."))
            return
        token = CancelToken()
        self._getting = token
        self.get_button.setText(self.tr("Cancel"))
        self.bar.show()
        run_background(self.indexer.jobs, self, lambda: run_with_progress(get_embedder, cancel=token),
                       self._got_embedder, self._get_failed, self._get_progress)

    def _get_progress(self, reports: list[Progress]) -> None:
        p = reports[-1]
        if p.total:
            self.bar.setValue(int(1000 * p.done / p.total))
        if p.stage == Stage.DOWNLOAD:
            text = self.tr("Downloading the embedding model: {0} of {1} MB").format(round(p.done / 1e6),
                                                                                   round(p.total / 1e6))
        else:
            text = self.tr("Preparing the embedding model…")
        self.state.setText(text)

    def _got_embedder(self, _folder: object) -> None:
        self._getting = None
        self.indexer.resume()  # what waited for the model is indexed now
        self.refresh()

    def _get_failed(self, message: str) -> None:
        self._getting = None
        self.get_button.setText(self._get_label())
        self.refresh()
        self.state.setText(message)
        self.state.setStyleSheet(f"color: {current_tokens(self.palette()).error}")

    def show_files(self) -> None:
        """Open the list of files (status and failure reasons)."""
        if not self.collection:
            return
        self.files_dialog = FilesDialog(self.indexer, self.collection, self)
        self.files_dialog.show()

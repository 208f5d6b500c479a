"""What a conversation needs from a model: the local :class:`engine.runtime.generate.ChatModel` and the remote
:class:`engine.serve.remote_chat.RemoteChatModel` both have this shape, so the chat layer never imports the serve
layer."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from engine.runtime.generate import Controls, Event, GenerationConfig
from engine.runtime.sampling import SamplingParams
from engine.runtime.template import Message


class ChatBackend(Protocol):
    """A model a conversation can stream a reply from, local or remote."""

    def stream_chat(self, messages: Sequence[Message], config: GenerationConfig | None = None,
                    controls: Controls | None = None) -> Iterator[Event]:
        """The reply's events, ending with one :class:`engine.runtime.generate.Finished`."""
        ...

    def default_sampling(self, seed: int | None = None) -> SamplingParams:
        """The sampling to use when the person set none."""
        ...

"""Incremental detokenization that never shows half a character.

A multi-byte UTF-8 character (Chinese, emoji) may be split across tokens; decoding the tokens so far then ends
in U+FFFD. Text is released only when the decode of the pending tokens is stable, so the concatenation of all the
pieces equals the decode of all the tokens.
"""

from __future__ import annotations

from tokenizers import Tokenizer

_REPLACEMENT = "\ufffd"


class StreamDetokenizer:
    """Feed token ids one at a time; get back the new text each one completes (often "", never broken)."""

    def __init__(self, tokenizer: Tokenizer, skip_special_tokens: bool = False) -> None:
        self._tok = tokenizer
        self._skip = skip_special_tokens
        self._ids: list[int] = []
        self._prefix = 0  # tokens before this index are already released as text
        self._read = 0  # ... and tokens from _prefix to _read form the context for the next piece

    def _decode(self, ids: list[int]) -> str:
        return self._tok.decode(ids, skip_special_tokens=self._skip)

    def push(self, token: int) -> str:
        """Add one token; return the text that is now complete."""
        self._ids.append(token)
        before = self._decode(self._ids[self._prefix:self._read])
        after = self._decode(self._ids[self._prefix:])
        if len(after) > len(before) and not after.endswith(_REPLACEMENT):
            new = after[len(before):]
            self._prefix, self._read = self._read, len(self._ids)
            return new
        return ""

    def flush(self) -> str:
        """The text still held back at the end (may contain U+FFFD if generation stopped mid-character)."""
        before = self._decode(self._ids[self._prefix:self._read])
        after = self._decode(self._ids[self._prefix:])
        self._prefix = self._read = len(self._ids)
        return after[len(before):]

"""Streamed text equals the full decode for any text, and never shows a half character."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer

from engine.runtime.detok import StreamDetokenizer
from tests.fixtures.checkpoints import build_tokenizer

_tok: Tokenizer | None = None


def tokenizer(tmp: Path) -> Tokenizer:
    global _tok
    if _tok is None:
        _tok = build_tokenizer(tmp)
    return _tok


TEXT = st.text(alphabet=st.one_of(st.characters(codec="utf-8", exclude_categories=("Cs",)),
                                  st.sampled_from("你好世界思考🙂🚀✨éÅ\n ")), max_size=60)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXT)
def test_streamed_text_equals_full_decode(text: str, tmp_path_factory: object) -> None:
    tok = tokenizer(tmp_path_factory.mktemp("tok"))  # type: ignore[attr-defined]
    ids = tok.encode(text, add_special_tokens=False).ids
    stream = StreamDetokenizer(tok)
    pieces = [stream.push(i) for i in ids] + [stream.flush()]
    assert "".join(pieces) == tok.decode(ids, skip_special_tokens=False)
    if "\ufffd" not in text:
        assert all("\ufffd" not in p for p in pieces)

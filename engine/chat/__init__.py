"""Conversations: prompt templates, the reasoning/answer split, and (later) storage."""

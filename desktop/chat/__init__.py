"""The chat screen: conversations sidebar, transcript, input."""

"""Documents in the window: background indexing, the documents bar and the source view."""

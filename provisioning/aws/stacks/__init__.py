"""One module per stack type; each has `build(ctx) -> Stack`."""

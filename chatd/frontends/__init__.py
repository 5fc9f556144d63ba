"""Front ends: one module per wire format, each a thin adapter onto chatd.core."""

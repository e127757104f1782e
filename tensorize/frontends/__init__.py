"""Front ends: other compilers' IRs in and out of `.tz` (MLIR through xDSL)."""

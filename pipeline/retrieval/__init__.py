"""The question bank and everything that matches speech against it."""

DEFAULT_ROLE = "ml-engineer"  # the role used when none is named (a folder of the bank root)

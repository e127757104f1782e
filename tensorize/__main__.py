"""``python -m tensorize``: the command line."""

from tensorize.cli import entry

entry()

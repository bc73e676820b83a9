"""``python -m memwarden``."""

from memwarden.cli import main

main()

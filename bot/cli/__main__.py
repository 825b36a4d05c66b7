"""`python -m bot.cli`: the djbios command line, for environments without the console script."""

from bot.cli import main

main()

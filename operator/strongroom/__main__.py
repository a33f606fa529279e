"""`python -m strongroom` is the `strongroom` command."""

from strongroom.cli.main import main

main()

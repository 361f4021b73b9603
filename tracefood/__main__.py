"""`python -m tracefood` runs the same CLI as the `tracefood` console script."""

from tracefood.cli import main

main()

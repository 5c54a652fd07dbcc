"""``python -m modelcards``: the command line, as the ``modelcards`` script runs it."""

from modelcards.cli import main

if __name__ == "__main__":  # imported (e.g. by a test walking the package), it runs nothing
    main(prog_name="modelcards")

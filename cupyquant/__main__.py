"""``python -m cupyquant``: the same as the ``cupyquant`` command."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())

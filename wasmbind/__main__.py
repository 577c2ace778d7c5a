"""``python -m wasmbind`` and the ``wasmbind`` console script."""

import sys


def main() -> None:
    """Console-script entry point: run the CLI and exit with its status."""
    from wasmbind.cli import main as cli_main
    sys.exit(cli_main())


if __name__ == "__main__":
    main()

"""The ``trainerday`` command line (the ``cli`` extra: ``pip install 'trainerday[cli]'``)."""

from __future__ import annotations


def main() -> None:
    try:
        from trainerday._cli._app import app
    except ImportError as missing:  # the SDK installed without its cli extra
        raise SystemExit(
            f"error: the command line needs the cli extra ({missing.name} is missing): "
            "pip install 'trainerday[cli]'"
        ) from None
    app(prog_name="trainerday")

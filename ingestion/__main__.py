"""``python -m ingestion serve …``: see ``ingestion.config`` for the flags."""

from __future__ import annotations

from ingestion.config import build_parser, settings_from_args
from ingestion.server import serve


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        serve(settings_from_args(args))


if __name__ == "__main__":
    main()

"""Allow ``python -m rltui``."""

from rltui.cli import main

raise SystemExit(main())

"""Where mesoclaw keeps its files: the database and config.toml. Standard library only, so the app can
find its database before anything else is loaded (settings.py re-exports these)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "mesoclaw"
DB_NAME = "mesoclaw.db"
CONFIG_NAME = "config.toml"


@dataclass(frozen=True)
class Paths:
    data_dir: Path
    config_dir: Path
    db_path: Path
    config_path: Path


def resolve_paths(db: str | os.PathLike[str] | None = None, environ: Mapping[str, str] = os.environ) -> Paths:
    """MESOCLAW_HOME holds both the database and config.toml; --db overrides the database alone."""
    home = environ.get("MESOCLAW_HOME")
    if home:
        data_dir = config_dir = Path(home).expanduser()
    else:
        import platformdirs

        data_dir = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
        config_dir = Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
    db_path = Path(db).expanduser() if db else data_dir / DB_NAME
    return Paths(data_dir, config_dir, db_path, config_dir / CONFIG_NAME)


def shown(path: Path) -> str:
    """A path as it is shown to its user: under their home folder, as ~/…"""
    try:
        return "~/" + str(path.relative_to(Path.home())) if path.is_absolute() else str(path)
    except (ValueError, RuntimeError):  # not under the home folder, or no home
        return str(path)

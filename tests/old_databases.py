"""Databases as an older mesoclaw wrote them, for the migration tests: one file of that release's
schema (tests/fixtures/mesoclaw-schema-vN.sql) and, apart, the rows each test starts from."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def v4_script(rows: str) -> str:
    """SQL that makes a schema 4 database holding the rows of fixtures/mesoclaw-v4-<rows>.sql."""
    schema = (FIXTURES / "mesoclaw-schema-v4.sql").read_text()
    return schema + (FIXTURES / f"mesoclaw-v4-{rows}.sql").read_text()

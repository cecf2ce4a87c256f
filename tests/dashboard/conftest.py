"""Fixtures of the dashboard tests (defined in dash_helpers, which the tests import by its unique name)."""

from dash_helpers import dashboard_of, runs_dir  # noqa: F401 - fixtures

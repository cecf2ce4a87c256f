"""The search's settings: ``keisei.config.SearchConfig`` (the ``[search]`` section), the one settings type of
every searcher. Re-exported here so the search library reads as self-contained."""

from keisei.config import SearchConfig

__all__ = ["SearchConfig"]

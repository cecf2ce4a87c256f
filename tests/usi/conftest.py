import sys
from pathlib import Path

# tests/engines.py and tests/fake_engines/ are shared helpers: make ``import engines`` work.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import os

os.environ.setdefault("KEISEI_TEST", "1")

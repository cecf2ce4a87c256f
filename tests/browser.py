"""Test helper for the dashboard's browser tests: Debian's Chromium driven headless by Selenium.

``require_browser()`` returns (chromium, chromedriver) or skips the test with the reason; under CI (env var
CI set) a missing browser fails the test instead (.ci/run installs chromium and chromium-driver).
``KEISEI_CHROMIUM`` / ``KEISEI_CHROMEDRIVER`` name the binaries (set empty: run as on a machine without them).
"""

from __future__ import annotations

import os
import shutil

import pytest

CHROME_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1280,1000")


def _find(env: str, name: str) -> str | None:
    if env in os.environ:
        return os.environ[env] or None
    return shutil.which(name)


def require_browser() -> tuple[str, str]:
    chromium = _find("KEISEI_CHROMIUM", "chromium")
    driver = _find("KEISEI_CHROMEDRIVER", "chromedriver")
    missing = [n for n, p in (("chromium", chromium), ("chromedriver", driver)) if p is None]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package")
    if missing:
        message = f"browser tests need {', '.join(missing)} (Debian: apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (CI is set: browser tests must run)")
        pytest.skip(message)
    return chromium, driver


def start_browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver = require_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=options)

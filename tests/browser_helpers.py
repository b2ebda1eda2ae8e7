"""What the browser tests share: Debian's chromium through Playwright, and the studio served in a thread.

No browser is downloaded here: the tests drive the system's chromium (``apt-get install chromium``,
installed by ``scripts/setup.sh --test``) with Playwright's ``executable_path``.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


@contextlib.contextmanager
def chromium_page(width_px: int = 1280, height_px: int = 900) -> Iterator:
    """A fresh page in headless chromium, closed on exit; skips the test when chromium or Playwright is missing."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield browser.new_context(viewport={"width": width_px, "height": height_px}).new_page()
        finally:
            browser.close()


@contextlib.contextmanager
def serve(app) -> Iterator[str]:
    """``app`` on uvicorn in a thread on a free loopback port, for the block; yields its base URL
    and stops the server on the way out."""
    import uvicorn

    from movekit.studio import bind

    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)

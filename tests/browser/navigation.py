"""Waiting for the next page after a click or a key press that navigates.

A click does not wait for the navigation it starts. Selenium's `staleness_of(old <html>)` asks
the browser about a node of the old document, and Chromium sometimes answers mid-navigation
with "Node with given id does not belong to the document" (an unknown error, not a stale
element): the flake seen in CI. Instead, the old page's window gets a mark before the action;
the next page is there when the window no longer carries it (a new document, a new window
object) and has finished loading. Errors while the browser is between documents are retried.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from selenium.common.exceptions import WebDriverException
from selenium.webdriver.support.wait import WebDriverWait

_marks = itertools.count(1)

_NEW_PAGE_LOADED = """
return window.__caseworkPage !== arguments[0] && document.readyState === "complete";
"""


def navigate(browser: Any, action: Callable[[], Any], timeout: float = 15) -> None:
    """Run `action` (a click, Enter…) and wait until the page it opens has loaded."""
    mark = f"page-{next(_marks)}"
    browser.execute_script("window.__caseworkPage = arguments[0];", mark)
    action()
    WebDriverWait(browser, timeout, ignored_exceptions=(WebDriverException,)).until(
        lambda driver: driver.execute_script(_NEW_PAGE_LOADED, mark)
    )

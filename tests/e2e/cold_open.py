"""Count how often the board fails to open: fresh browser contexts, each load made once.

    .venv/bin/python -m tests.e2e.cold_open [--count 30] [--ha URL]

Without ``--ha`` it starts its own simulator and Home Assistant (as the browser test does);
with ``--ha`` it uses a running instance (scripts/develop, demo login). It logs in once
(*Keep me logged in*), then opens ``/front-desk/lines`` in ``--count`` fresh browser
contexts carrying the login's storage over (cold: each with an empty HTTP cache) and
``--count`` times in new pages of one context (warm), and prints each failure and the
counts. Exit status 1 when any load failed.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
import sys

from .harness import CARDS, CHROMIUM, CHROMIUM_ARGS, VIEWPORT, cold_opens, log_in, running_instance, warm_opens


@asynccontextmanager
async def _instance(ha_url: str | None) -> AsyncIterator[str]:
    if ha_url:
        yield ha_url
        return
    async with running_instance() as instance:
        yield instance.ha_url


async def measure(ha_url: str | None, count: int) -> tuple[list[str | None], list[str | None]]:
    """Return the outcomes of ``count`` cold and ``count`` warm loads of the board."""
    from playwright.async_api import async_playwright

    async with _instance(ha_url) as url, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport=VIEWPORT)
            page = await context.new_page()
            await log_in(page, url)
            await page.locator(CARDS).or_(page.get_by_text("Error loading")).first.wait_for(timeout=60_000)
            state = await context.storage_state()
            await context.close()
            board = f"{url}/front-desk/lines"
            cold = await cold_opens(browser, state, board, count, stop_at_first=False)
            warm = await warm_opens(browser, state, board, count)
        finally:
            await browser.close()
    return cold, warm


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--ha", help="a running Home Assistant (default: start one)")
    args = parser.parse_args()
    cold, warm = asyncio.run(measure(args.ha, args.count))
    for kind, outcomes in (("cold", cold), ("warm", warm)):
        for index, outcome in enumerate(outcomes, start=1):
            if outcome is not None:
                print(f"{kind} load {index}: {outcome}")
    failed_cold = sum(outcome is not None for outcome in cold)
    failed_warm = sum(outcome is not None for outcome in warm)
    print(f"cold opens (fresh contexts): {failed_cold}/{len(cold)} failed")
    print(f"warm opens (one context, new pages): {failed_warm}/{len(warm)} failed")
    sys.exit(1 if failed_cold or failed_warm else 0)


if __name__ == "__main__":
    main()

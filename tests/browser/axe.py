"""axe-core (npm, dev only) injected into a page: its findings as lines for a test's message."""

import json

from playwright.sync_api import Page

from tests.conftest import ROOT

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.2 A and AA included: axe leaves its 2.2 rules (target-size among them) off by default.
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa", "best-practice"]


def violations(page: Page, *, impacts: tuple[str, ...] = ()) -> list[str]:
    """axe-core's violations on the page (only those of impacts, when given), one line each."""
    # Evaluated through the DevTools protocol, not added as an inline <script>: the pages'
    # Content-Security-Policy refuses inline script, and a test must not weaken it.
    page.evaluate("() => {" + AXE.read_text() + "\n}")
    found = page.evaluate(
        "async (tags) => JSON.stringify((await axe.run(document, "
        "{runOnly: {type: 'tag', values: tags}})).violations)",
        RULES,
    )
    return [
        f"{violation['id']} ({violation['impact']}): "
        + "; ".join(node["target"][0] for node in violation["nodes"][:5])
        for violation in json.loads(found)
        if not impacts or violation["impact"] in impacts
    ]

"""The web console in a real browser: Playwright driving Debian's Chromium.

A person's path: sign in with a key, chat, see a belief appear, open the trace of a
reply, delete an episode after confirming and see it gone, download the export; and an
operator's dashboard with its status colours and charts.  Screenshots go to
build/screenshots/ (kept as CI artifacts).

Playwright never downloads a browser here: it launches /usr/bin/chromium (Debian's
``chromium`` package).  Without it the tests skip locally, and fail under CI=true.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .test_server_support import LiveServer, start_server

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(__file__).resolve().parents[1] / "build" / "screenshots"

if not CHROMIUM.exists():
    if os.environ.get("CI") == "true":
        pytest.fail(
            f"{CHROMIUM} is missing: CI must install Debian's chromium (apt-get install -y chromium)",
            pytrace=False,
        )
    pytest.skip(
        f"{CHROMIUM} is missing (apt-get install -y chromium); browser tests skipped",
        allow_module_level=True,
    )

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(tmp_path_factory.mktemp("browser") / "memwarden.db")
    op = server.client("op")
    for text in ("I like jazz.", "Remind me to check the backups.", "I work at the observatory."):
        episode = op.post("/v1/turns", json={"text": text}).json()["episode_id"]
        op.get(f"/v1/episodes/{episode}/trace")  # governance latency for the charts
    op.get("/v1/memory/export").raise_for_status()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield page
    context.close()
    assert not [e for e in errors if "401" not in e], errors


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, live: LiveServer, user: str, then: str = "/chat") -> None:
    page.goto(f"{live.url}/")
    page.get_by_label("API key").fill(live.keys[user])
    page.get_by_label("API key").press("Enter")  # the keyboard submits the form
    expect(page).to_have_url(f"{live.url}{then}")
    expect(page.locator("#whoami")).to_contain_text(f"Signed in as {user}")


def test_a_person_signs_in_chats_traces_deletes_and_exports(
    page: Page, live: LiveServer, tmp_path: Path
) -> None:
    sign_in(page, live, "ana")
    shot(page, "01-chat-empty")

    # Chat, and see the belief appear.
    box = page.get_by_label("Your message")
    box.fill("My name is Ana and I live in Porto.")
    box.press("Enter")
    reply = page.locator("#chat-log li.agent").last
    expect(reply).to_contain_text("Porto")
    expect(page.locator("#belief-panel")).to_contain_text("lives in Porto")
    box.fill("I moved to Berlin last month.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#chat-log li.agent")).to_have_count(2)
    expect(page.locator("#belief-panel")).to_contain_text("Berlin")
    box.fill("Remind me to renew my passport.")
    box.press("Enter")
    expect(page.locator("#task-panel")).to_contain_text("Renew my passport")
    shot(page, "02-chat-belief")

    # Open the trace of the reply: recalled memories, risk scores, action, rewrites.
    page.locator("#chat-log li.agent").nth(1).get_by_role("button", name="Why this reply?").click()
    dialog = page.get_by_role("dialog", name=re.compile("Why this reply"))
    expect(dialog).to_be_visible()
    for heading in ("Recalled memories", "Risk scores", "Rewrites", "Drafts"):
        expect(dialog.get_by_role("heading", name=heading)).to_be_visible()
    expect(dialog).to_contain_text("Porto")  # the belief it recalled
    expect(dialog).to_contain_text("NONE")
    shot(page, "03-trace")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    # Browse memory: episodes, beliefs with history, tasks.
    page.get_by_role("link", name="Memory").click()
    expect(page).to_have_url(f"{live.url}/memory")
    rows = page.locator("#episode-table tbody tr")
    expect(rows).to_have_count(3)
    task = page.locator("#task-table tbody tr").first
    expect(task).to_contain_text("Renew my passport")
    task.get_by_role("button", name=re.compile("Events of task")).click()
    expect(page.locator("#task-events")).to_contain_text("created")
    belief = page.locator("#belief-list li").first
    expect(belief).to_contain_text("Berlin")
    belief.get_by_text("History (2)").click()
    expect(belief).to_contain_text("Porto → Berlin")
    page.get_by_label("Search episodes").fill("moved")
    page.get_by_label("Search episodes").press("Enter")
    expect(rows).to_have_count(1)
    shot(page, "04-memory")

    # Delete that episode after confirming, and see it gone.
    episode_id = rows.first.get_attribute("data-episode")
    rows.first.get_by_role("button", name=f"Delete episode {episode_id}").click()
    confirm = page.get_by_role("dialog", name="Delete?")
    expect(confirm).to_contain_text(f"Delete episode {episode_id} for good?")
    shot(page, "05-confirm-delete")
    confirm.get_by_role("button", name="Delete").click()
    expect(page.locator("#status")).to_have_text(f"Episode {episode_id} deleted.")
    expect(page.locator(f'#episode-table tr[data-episode="{episode_id}"]')).to_have_count(0)
    assert live.client("ana").get(f"/v1/episodes/{episode_id}/trace").status_code == 404
    page.reload()
    expect(page.locator("#episode-table tbody tr")).to_have_count(2)

    # Export as a download.
    with page.expect_download() as info:
        page.get_by_role("button", name="Download my memory (JSON)").click()
    target = tmp_path / "export.json"
    info.value.save_as(target)
    document = json.loads(target.read_text("utf-8"))
    assert document["user_id"] == "ana" and document["counts"]["episodes"] == 2
    assert info.value.suggested_filename.startswith("memwarden-export-ana")
    expect(page.locator("#status")).to_contain_text("Export downloaded")


def test_the_operator_dashboard_renders_status_and_charts(page: Page, live: LiveServer) -> None:
    sign_in(page, live, "op")
    page.get_by_role("link", name="Operator").click()
    expect(page).to_have_url(f"{live.url}/ops")
    table = page.locator("#health-table tbody tr")
    expect(table).to_have_count(14)
    expect(
        page.locator('#health-table tr[data-metric="trace_latency_p95_ms"] .level')
    ).to_have_text(re.compile("OK|INFO|WARNING|CRITICAL"))
    for chart in ("#chart-gate", "#chart-episodes", "#chart-latency"):
        svg = page.locator(f"{chart} svg[role=img]")
        expect(svg).to_be_visible()
        assert svg.locator("path").count() >= 1 or svg.locator("circle").count() >= 1
    expect(page.locator("#chart-episodes svg desc")).to_contain_text("points")
    colours = page.eval_on_selector_all(
        "#health-table .level",
        "els => els.map(e => [e.textContent, getComputedStyle(e).backgroundColor])",
    )
    by_status: dict[str, set[Any]] = {}
    for status, colour in colours:
        by_status.setdefault(status, set()).add(colour)
    assert all(len(c) == 1 for c in by_status.values())  # one colour per status
    assert len({next(iter(c)) for c in by_status.values()}) == len(by_status)
    shot(page, "06-ops-dashboard")
    page.get_by_role("button", name="Back up now").click()
    expect(page.locator("#status")).to_contain_text("Backup written")


def test_sign_in_refuses_a_bad_key_and_non_admins_see_no_dashboard(
    page: Page, live: LiveServer
) -> None:
    page.goto(f"{live.url}/chat")
    expect(page).to_have_url(re.compile(r"/\?next=%2Fchat$"))  # not signed in: sent to sign in
    page.get_by_label("API key").fill("mwk_000000000000_" + "A" * 43)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid")
    expect(page.get_by_label("API key")).to_have_attribute("aria-invalid", "true")
    shot(page, "07-signin-refused")
    sign_in(page, live, "bob")
    expect(page.get_by_role("link", name="Operator")).to_be_hidden()


def test_console_is_accessible_by_keyboard_and_labels(page: Page, live: LiveServer) -> None:
    sign_in(page, live, "ana")
    page.goto(f"{live.url}/memory")
    expect(page.locator("body[data-ready=true]")).to_have_count(1)
    unlabeled = page.eval_on_selector_all(
        "input, textarea, select, button",
        """els => els.filter(e => e.offsetParent !== null).filter(e => {
            if (e.labels && e.labels.length) return false;
            return !(e.getAttribute('aria-label') || e.textContent.trim());
        }).map(e => e.outerHTML)""",
    )
    assert unlabeled == []
    page.keyboard.press("Tab")
    expect(page.locator(".skip")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.closest('main') !== null")
    assert focused

"""The service's page and /docs in a real headless Chromium (the Debian package), driven by Selenium.

A real service process seeds a real stand: a run started from the page reaches "succeeded" on
screen, a cancelled one shows "cancelled" and resumes, a wrong token shows the service's error,
and the page loads with nothing in the browser's console. Screenshots are kept as artefacts
(``artifacts/`` at the project's root, ignored by git). Without Chromium, chromedriver or Selenium
the tests skip on a developer's machine and FAIL under ``CI=true`` (``.ci/run`` installs them).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from seeding.service import ServiceProcess
from seeding.stand import StandProcess

PROJECT = Path(__file__).resolve().parents[2]
ARTIFACTS = PROJECT / "artifacts"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
SMALL = "users:\n  count: 4\n  credit_card_accounts: {count: 1, top_up_operations: 1}\n"
SLOW = "users:\n  count: 300\n  debit_card_accounts: {count: 1, top_up_operations: 2}\n"
WAIT = 60.0  # seconds: generous, the machine may be busy


def _missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return f"{path} is missing (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    missing = _missing()
    if missing is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the browser tests must run in CI: {missing}")
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,900",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=DriverService(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


def _console_errors(driver: Any) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def _wait(driver: Any, condition: Any, what: str, within: float = WAIT) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, within, poll_frequency=0.1).until(condition)
    except Exception as exc:
        _screenshot(driver, "failed-" + what.replace(" ", "-"))
        raise AssertionError(f"{what}: not within {within} s; console: {_console_errors(driver)}") from exc


def _screenshot(driver: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def _ready(driver: Any) -> None:
    _wait(driver, lambda d: d.execute_script("return document.body.dataset.ready") == "yes", "the page is ready")


def _state_of(driver: Any, scenario: str) -> str | None:
    """The state shown in the newest run row of ``scenario``."""
    return driver.execute_script(
        """for (const row of document.querySelectorAll('#runs tbody tr')) {
             if (row.children[1].textContent === arguments[0]) return row.querySelector('.state').textContent;
           } return null;""",
        scenario,
    )


def _start_from_page(driver: Any, plan: str, users: int) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(By.ID, "plan-select")).select_by_value(plan)
    field = driver.find_element(By.ID, "users-input")
    field.clear()
    field.send_keys(str(users))
    driver.find_element(By.ID, "start-button").click()


def _row_button(driver: Any, scenario: str, css: str) -> Any:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    try:
        for row in driver.find_elements(By.CSS_SELECTOR, "#runs tbody tr"):
            if row.find_elements(By.CSS_SELECTOR, "td")[1].text == scenario:
                found = row.find_elements(By.CSS_SELECTOR, css)
                return found[0] if found else None
    except StaleElementReferenceException:  # redrawn meanwhile: look again
        return None
    return None


def _click(driver: Any, scenario: str, css: str) -> None:
    """Click the button of ``scenario``'s row, looking again if the row is redrawn under the click."""
    from selenium.common.exceptions import StaleElementReferenceException

    def clicked(d: Any) -> bool:
        button = _row_button(d, scenario, css)
        if button is None:
            return False
        try:
            button.click()
        except StaleElementReferenceException:
            return False
        return True

    _wait(driver, clicked, f"{css} of {scenario} clicked")


def _text(driver: Any, css: str) -> str:
    return driver.execute_script("return document.querySelector(arguments[0]).innerText", css)


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    plans, dumps = tmp_path / "plans", tmp_path / "dumps"
    plans.mkdir()
    (plans / "small.yaml").write_text(SMALL)
    (plans / "slow.yaml").write_text(SLOW)
    (plans / "broken.yaml").write_text("users: [\n")
    return plans, dumps


def test_a_run_started_from_the_page_succeeds_and_one_cancelled_resumes(
    browser: Any, project: tuple[Path, Path], tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    plans, dumps = project
    with StandProcess(latency_ms=15) as stand:
        host, port = stand.grpc_target.rsplit(":", 1)  # the service's own gateway: its settings
        env = {"SEEDING_TRANSPORT": "grpc", "GATEWAY_GRPC_CLIENT_HOST": host, "GATEWAY_GRPC_CLIENT_PORT": port}
        with ServiceProcess(dumps_dir=dumps, plans_dir=plans, env=env) as service:
            browser.get(service.url + "/")
            _ready(browser)
            assert _console_errors(browser) == []
            assert browser.title == "seeding service"
            assert browser.find_element(By.ID, "token-form").is_displayed() is False
            options = [o.get_attribute("value") for o in browser.find_elements(By.CSS_SELECTOR, "#plan-select option")]
            assert options == ["slow", "small"]  # the broken plan is named apart
            assert "Unreadable plans: broken" in browser.find_element(By.ID, "plans-note").text

            # a run of 6 users (the plan says 4) from the page, followed live to "succeeded"
            _start_from_page(browser, "small", 6)
            _wait(browser, lambda d: _state_of(d, "small") == "succeeded", "small succeeded")
            row = _text(browser, "#runs tbody tr[data-state='succeeded']")
            assert "18 / 18 (100%)" in row  # 6 users × (user, account, top-up)
            assert str(dumps / "small_seeds.json") in row
            _wait(browser, lambda d: "6 of 6" in _text(d, "#dumps"), "the dump listed with its hand-outs")
            assert _text(browser, "#dump-small td:nth-child(2)") == "6"
            assert f"grpc at {stand.grpc_target}" in _text(browser, "#dump-small")
            pools = "/v1/dumps/{scenario}/pool" in httpx.get(service.url + "/openapi.json").json()["paths"]
            pool_cell = _text(browser, "#dump-small td.pool")
            assert ("left" in pool_cell and "leased" in pool_cell) if pools else pool_cell == "—"

            # a slow run, cancelled from the page while it runs, then resumed to the end
            _start_from_page(browser, "slow", 300)
            _wait(browser, lambda d: _state_of(d, "slow") == "running", "slow running")
            _click(browser, "slow", "button.cancel")
            _wait(browser, lambda d: _state_of(d, "slow") == "cancelled", "slow cancelled")
            _screenshot(browser, "service-page-cancelled")
            _click(browser, "slow", "button.resume")
            _wait(browser, lambda d: _state_of(d, "slow") == "succeeded", "slow resumed to succeeded", within=120)
            assert _console_errors(browser) == []
            shot = _screenshot(browser, "service-page")
            shutil.copy(shot, tmp_path / "service-page.png")
            assert shot.stat().st_size > 10_000


def test_a_refused_run_shows_the_services_error(browser: Any, project: tuple[Path, Path]) -> None:
    from selenium.webdriver.common.by import By

    plans, dumps = project
    with ServiceProcess(dumps_dir=dumps, plans_dir=plans) as service:
        browser.get(service.url + "/")
        _ready(browser)
        _start_from_page(browser, "small", 0)  # the form refuses 0 (min=1): nothing sent
        assert browser.find_element(By.ID, "message").is_displayed() is False
        # nothing listens on port 1: the run is accepted, then fails on screen with the reason
        httpx.post(service.url + "/v1/runs", json={"plan": "small", "target": "127.0.0.1:1", "transport": "grpc"})
        _wait(browser, lambda d: _state_of(d, "small") == "failed", "small failed")
        assert "cannot reach the gateway over grpc at 127.0.0.1:1" in _text(browser, "#runs")
        assert _row_button(browser, "small", "button.resume") is not None


def test_the_token_is_asked_once_and_a_wrong_one_shows_the_error(browser: Any, project: tuple[Path, Path]) -> None:
    from selenium.webdriver.common.by import By

    plans, dumps = project
    with ServiceProcess(dumps_dir=dumps, plans_dir=plans, token="s3cret") as service:
        browser.get(service.url + "/")
        form = browser.find_element(By.ID, "token-form")
        _wait(browser, lambda d: form.is_displayed(), "the token form")
        assert _console_errors(browser) == []  # asked before any call: no 401 in the console
        field = browser.find_element(By.ID, "token-input")
        field.send_keys("wrong")
        form.find_element(By.TAG_NAME, "button").click()
        error = browser.find_element(By.ID, "token-error")
        _wait(browser, lambda d: error.is_displayed(), "the token error")
        assert error.text == "GET /openapi.json: wrong bearer token"
        assert browser.execute_script("return document.body.dataset.ready") is None
        _screenshot(browser, "service-page-wrong-token")

        field.clear()
        field.send_keys("s3cret")
        form.find_element(By.TAG_NAME, "button").click()
        _ready(browser)
        assert not form.is_displayed()
        browser.refresh()  # asked once: the tab keeps it
        _ready(browser)
        assert not browser.find_element(By.ID, "token-form").is_displayed()
        assert browser.execute_script("return sessionStorage.getItem('seeding.token')") == "s3cret"


def test_docs_renders_the_api_and_sends_requests(browser: Any, project: tuple[Path, Path]) -> None:
    from selenium.webdriver.common.by import By

    plans, dumps = project
    with ServiceProcess(dumps_dir=dumps, plans_dir=plans) as service:
        spec = httpx.get(service.url + "/openapi.json").json()
        operations = sum(1 for item in spec["paths"].values() for method in item if method != "parameters")
        browser.get(service.url + "/docs")
        _ready(browser)
        assert _console_errors(browser) == []
        rendered = browser.find_elements(By.CSS_SELECTOR, "details.operation")
        assert len(rendered) == operations
        plans_op = next(d for d in rendered if d.find_element(By.TAG_NAME, "code").text == "/v1/plans")
        plans_op.find_element(By.TAG_NAME, "summary").click()
        plans_op.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        answer = plans_op.find_element(By.TAG_NAME, "pre")
        _wait(browser, lambda d: '"name": "small"' in answer.text, "the answer of GET /v1/plans")
        run_op = next(
            d
            for d in rendered
            if d.find_element(By.TAG_NAME, "code").text == "/v1/runs/{id}" and "GET" in d.text.split()[0]
        )
        run_op.find_element(By.TAG_NAME, "summary").click()
        run_op.find_element(By.NAME, "id").send_keys("0123456789abcdef")
        run_op.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        missing = run_op.find_element(By.TAG_NAME, "pre")
        _wait(browser, lambda d: "404: no run '0123456789abcdef'" in missing.text, "the 404 shown")
        _screenshot(browser, "service-docs")


@pytest.mark.parametrize(
    ("path", "status"),
    [("/ui/nope.js", 404), ("/ui/../_app.py", 404), ("/ui/", 404), ("/docs/", 404), ("/index.html", 404)],
)
async def test_only_the_pages_and_their_assets_are_served(
    tmp_path: Path, path: str, status: int, project: tuple[Path, Path]
) -> None:
    plans, dumps = project
    with ServiceProcess(dumps_dir=dumps, plans_dir=plans, token="t") as service:
        async with httpx.AsyncClient(base_url=service.url) as http:
            for open_path in ("/", "/docs", "/ui/api.js", "/ui/page.js", "/ui/docs.js", "/ui/page.css"):
                answer = await http.get(open_path)  # no token: they hold no data
                assert answer.status_code == 200, open_path
                assert answer.headers["Content-Security-Policy"].startswith("default-src 'self'")
                assert "http://" not in answer.text and "https://" not in answer.text  # nothing from the internet
            refused = await http.get(path, headers={"Authorization": "Bearer t"})
            assert refused.status_code == status and "error" in refused.json()
            assert (await http.get("/v1/plans")).status_code == 401  # the data still needs the token

"""The dashboard of `drover serve` in a real headless Chromium (Selenium): log in with a token,
watch a run's progress advance without reloading, trigger a run with a button, read a dead
task's stderr, and check the screenshots are pictures, not blank pages."""

import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

CLI = os.environ.get("DROVER_CLI")
ADMIN = "admin-token-0123456789abcdef"
REQUIRED = os.environ.get("DROVER_REQUIRE_SERVICES") == "1"

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as ChromeService
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    if REQUIRED:
        raise
    pytest.skip("python3-selenium is not installed", allow_module_level=True)

SLOW = """
name = "slow"
[[executors]]
kind = "local"
slots = 2
[[tasks]]
id = "day-{date}"
foreach.date = { from = "2018-01-01", to = "2018-01-24", step = "1d" }
command = ["sh", "-c", "sleep 0.4; echo '{\\"date\\":\\"{date}\\"}'"]
"""

FAIL = """
name = "fail"
[[tasks]]
id = "ok"
command = ["echo", '{"fine": true}']
[[tasks]]
id = "bad"
command = ["sh", "-c", "echo 'fetching page 7' >&2; echo 'something broke: HTTP 503' >&2; exit 3"]
"""

NIGHTLY = """
name = "nightly"
schedule = "0 3 * * *"
timezone = "UTC"
[[tasks]]
id = "report"
command = ["echo", '{"report": 1}']
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def not_blank(png_path):
    from PIL import Image
    with Image.open(png_path) as im:
        colors = im.convert("RGB").getcolors(maxcolors=1 << 20)
    # A blank page is one or two colours; the dashboard has text, bars and table lines.
    return colors is not None and len(colors) > 20


@pytest.fixture
def served(tmp_path):
    if not CLI:
        pytest.skip("DROVER_CLI is not set")
    if not shutil.which("chromium") or not shutil.which("chromedriver"):
        if REQUIRED:
            pytest.fail("chromium and chromium-driver are missing (Debian; scripts/deps/service.txt)")
        pytest.skip("chromium is not installed")
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    (jobs / "slow.toml").write_text(SLOW)
    (jobs / "fail.toml").write_text(FAIL)
    (jobs / "nightly.toml").write_text(NIGHTLY)
    (jobs / "broken.toml").write_text('name = "broken"\n[[tasks]]\nid = "x"\ncommand = "not a list"\n')
    (tmp_path / "tokens").write_text(f"admin {ADMIN}\n")
    port = free_port()
    log = open(tmp_path / "serve.log", "w")
    proc = subprocess.Popen([CLI, "serve", "--jobs", str(jobs), "--state", str(tmp_path / "state"),
                             "--listen", f"127.0.0.1:{port}", "--tokens", str(tmp_path / "tokens")],
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", tmp_path
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    log.close()


@pytest.fixture
def browser(tmp_path):
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
              "--no-first-run", "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--window-size=1280,900", f"--user-data-dir={tmp_path / 'chromium'}"]:
        opts.add_argument(a)
    # In a sanitizer build the interpreter runs with the sanitizer runtime preloaded
    # (DROVER_SANITIZE_ENV); the browser is no part of drover: it gets a clean environment.
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS", "TSAN_OPTIONS")}
    service = ChromeService(executable_path="/usr/bin/chromedriver", env=env)
    driver = webdriver.Chrome(service=service, options=opts)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def done_count(driver, key):
    text = driver.find_element(By.CSS_SELECTOR, f'#jobs tr[data-key="{key}"] .bar-text').text
    return int(text.split("/")[0])


def test_dashboard(served, browser, tmp_path):
    url, tmp = served
    shots = tmp / "shots"
    shots.mkdir()
    # The jobs table is rebuilt at every event: an element found may be replaced before it is read.
    wait = WebDriverWait(browser, 30, poll_frequency=0.1, ignored_exceptions=[StaleElementReferenceException])
    browser.get(url + "/")
    # Not logged in: the login form.
    wait.until(lambda d: d.find_element(By.ID, "login").is_displayed())
    browser.find_element(By.ID, "token").send_keys("wrong-token-0123456789")
    browser.find_element(By.ID, "login-button").click()
    wait.until(lambda d: "unknown token" in d.find_element(By.ID, "login-error").text)
    browser.find_element(By.ID, "token").clear()
    browser.find_element(By.ID, "token").send_keys(ADMIN)
    browser.find_element(By.ID, "login-button").click()
    wait.until(lambda d: d.find_element(By.ID, "app").is_displayed())
    wait.until(lambda d: d.find_element(By.ID, "live").text.startswith("live"))
    wait.until(lambda d: [r.get_attribute("data-key") for r in d.find_elements(By.CSS_SELECTOR, "#jobs tbody tr")]
               == ["broken", "fail", "nightly", "slow"])
    wait.until(lambda d: "does not load" in d.find_element(By.CSS_SELECTOR, '#jobs tr[data-key="broken"]').text)
    wait.until(lambda d: "0 3 * * *" in d.find_element(By.CSS_SELECTOR, '#jobs tr[data-key="nightly"]').text)
    # The session is a cookie the page's script cannot read.
    assert browser.execute_script("return document.cookie") == ""

    # Trigger with the button; progress advances with no reload.
    marker = browser.execute_script("window.__same_page = 42; return 1")
    assert marker == 1
    wait.until(lambda d: d.find_element(By.ID, "trigger-slow").click() or True)
    wait.until(lambda d: done_count(d, "slow") >= 2)
    first = wait.until(lambda d: done_count(d, "slow"))
    wait.until(lambda d: done_count(d, "slow") >= first + 3)
    assert browser.execute_script("return window.__same_page") == 42  # the same page, updated live
    # Mark the last day succeeded before it runs: it never runs, and is listed so.
    last = '#tasks tr[data-task="day-2018-01-24"]'
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, last + " button.succeed").is_enabled())
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, last + " button.succeed").click() or True)
    wait.until(lambda d: "marked succeeded" in d.find_element(By.CSS_SELECTOR, last).text)
    # The job's panel opened with the trigger: its tasks table fills as the run goes.
    wait.until(lambda d: d.find_element(By.ID, "job-panel").is_displayed())
    browser.save_screenshot(str(shots / "jobs.png"))
    wait.until(lambda d: "succeeded" in d.find_element(By.CSS_SELECTOR, '#jobs tr[data-key="slow"]').text)

    # A dead task's stderr.
    wait.until(lambda d: d.find_element(By.ID, "trigger-fail").click() or True)
    wait.until(lambda d: "failed" in d.find_element(By.CSS_SELECTOR, '#jobs tr[data-key="fail"]').text)
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, '#jobs tr[data-key="fail"] a').click() or True)
    wait.until(lambda d: "exit_code" in d.find_element(By.CSS_SELECTOR, '#tasks tr[data-task="bad"]').text)
    wait.until(lambda d: "dead" in d.find_element(By.CSS_SELECTOR, '#tasks tr[data-task="bad"]').text)
    # The tasks table is rebuilt every 2 s too: click the link in whichever table is there.
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, '#tasks tr[data-task="bad"] a').click() or True)
    wait.until(lambda d: "something broke: HTTP 503" in d.find_element(By.CSS_SELECTOR, "#attempts pre.stderr").text)
    # The newest run's timeline: a bar per attempt, red for the failed one, green for the other.
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, '#timeline rect.bad[data-task="bad"]'))
    assert browser.find_element(By.CSS_SELECTOR, '#timeline rect.ok[data-task="ok"]')
    # No run goes: nothing to mark succeeded; no fleet executor: no hosts table.
    assert not browser.find_element(By.CSS_SELECTOR, '#tasks tr[data-task="bad"] button.succeed').is_enabled()
    assert not browser.find_element(By.ID, "hosts-box").is_displayed()
    browser.save_screenshot(str(shots / "job.png"))

    for name in ("jobs.png", "job.png"):
        assert not_blank(shots / name), name
    keep = os.environ.get("DROVER_DASHBOARD_SHOTS")
    if keep:
        for name in ("jobs.png", "job.png"):
            shutil.copy(shots / name, os.path.join(keep, "dashboard-" + name))

"""Drives Crier's dashboard in headless Chromium, as an organiser would.

Usage: python3 dashboard_flow.py BASE_URL
Run by BrowserFlowTests (swift test) against a `crier serve` with the console gateway and a fresh
database. Fails on any JavaScript console error, on any form control without a label, and when a
page does not show what the step expects. Screenshots of a failure go to $CRIER_SCREENSHOTS (never
into the repository).
"""

import os
import sys
import tempfile

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

BASE = sys.argv[1].rstrip("/")
ADMIN = ("admin@example.com", "correct horse 1")
SECOND = ("second@example.com", "battery staple 2")
XSS_TITLE = '<script>alert("x")</script> Roof fund'


def browser():
    options = Options()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(argument)
    options.binary_location = os.environ.get("CHROME_BINARY", "/usr/bin/chromium")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(service=service, options=options)


class Flow:
    def __init__(self, driver):
        self.driver = driver
        # The live preview re-renders its part of the page: an element found a moment ago may be gone.
        self.wait = WebDriverWait(driver, 15, ignored_exceptions=(StaleElementReferenceException,))

    # Checks made on every page.

    def console_errors(self, allowed=()):
        errors = [entry for entry in self.driver.get_log("browser") if entry["level"] == "SEVERE"]
        return [e for e in errors if not any(fragment in e["message"] for fragment in allowed)]

    def check_page(self, allowed_errors=()):
        errors = self.console_errors(allowed_errors)
        assert not errors, f"console errors on {self.driver.current_url}: {errors}"
        unlabelled = self.driver.execute_script(
            """
            return Array.from(document.querySelectorAll('input, select, textarea'))
              .filter(e => e.type !== 'hidden')
              .filter(e => !(e.id && document.querySelector('label[for="' + e.id + '"]')) && !e.closest('label')
                           && !e.getAttribute('aria-label'))
              .map(e => e.outerHTML);
            """
        )
        assert not unlabelled, f"controls without a label on {self.driver.current_url}: {unlabelled}"

    def go(self, path):
        self.driver.get(BASE + path)
        self.check_page()

    def fill(self, name, value):
        element = self.driver.find_element(By.NAME, name)
        element.clear()
        element.send_keys(value)

    def set_value(self, element_id, value):
        """Date and time inputs take keys in the browser's locale; set them as a script would."""
        self.driver.execute_script(
            "const e = document.getElementById(arguments[0]); e.value = arguments[1];"
            "e.dispatchEvent(new Event('input', {bubbles: true}));",
            element_id, value)

    def submit(self, button_css):
        self.navigate_by(self.driver.find_element(By.CSS_SELECTOR, button_css))

    def navigate_by(self, element):
        """Clicks a link or submit button and waits for the page it loads: the old page's readyState
        is already "complete", so waiting on it alone can read the old page. The old document is
        marked; the new one is not."""
        self.driver.execute_script("document.documentElement.dataset.leaving = 'yes'")
        element.click()

        def new_page_ready(driver):
            try:
                return driver.execute_script(
                    "return document.readyState === 'complete' && !document.documentElement.dataset.leaving")
            except WebDriverException:  # the page is being replaced
                return False

        self.wait.until(new_page_ready)

    def text(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css).text

    def path(self):
        return self.driver.current_url[len(BASE):]

    # Steps.

    def first_run_setup(self):
        self.go("/")
        assert self.path() == "/setup", self.path()
        self.fill("email", ADMIN[0])
        self.fill("password", ADMIN[1])
        self.submit("form[action='/setup'] button[type=submit]")
        self.check_page()
        assert self.path() == "/sessions", self.path()
        assert "not sent to WhatsApp" in self.text(".banner")

    def log_out(self):
        self.submit("form[action='/logout'] button")
        self.check_page()
        assert self.path().startswith("/login"), self.path()
        assert "signed out" in self.text(".notice")

    def log_in(self, account):
        self.go("/login")
        self.fill("email", account[0])
        self.fill("password", account[1])
        self.submit("form[action='/login'] button[type=submit]")
        self.check_page()
        assert self.path() == "/", self.path()

    def connect_session(self, name):
        """Connecting needs no name; one can be chosen under "Advanced"."""
        self.go("/sessions")
        self.driver.find_element(By.CSS_SELECTOR, "form[action='/sessions'] details summary").click()
        self.fill("name", name)
        self.submit("#connect-number")
        self.check_page()
        assert self.path().startswith("/sessions/"), self.path()
        assert self.text("#status-badge") == "Connected", self.text("#status-badge")
        return self.path().split("/")[-1]

    def create_campaign(self, title, chat):
        self.go("/campaigns/new")
        self.fill("groupId", chat)
        self.fill("title", title)
        self.fill("timeZone", "Africa/Nairobi")
        self.fill("messageTemplate", "{days_left} days left for the roof fund")
        self.set_value("messageTime", "09:30")
        self.set_value("startDate", "2030-03-10")
        # A validation error from the live preview, shown at its field.
        self.set_value("endDate", "2030-03-01")
        self.wait.until(lambda d: d.find_element(By.ID, "endDate-error").text != "")
        assert "after" in self.text("#endDate-error").lower(), self.text("#endDate-error")
        assert self.driver.find_element(By.ID, "endDate").get_attribute("aria-invalid") == "true"
        self.set_value("endDate", "2030-03-12")
        self.wait.until(lambda d: d.find_element(By.ID, "endDate-error").text == "")
        self.wait.until(lambda d: "3 message(s)" in d.find_element(By.ID, "preview-heading").text)
        items = self.driver.find_elements(By.CSS_SELECTOR, "#preview .preview-list li")
        assert len(items) == 3, len(items)
        assert "2 days left" in items[0].text and "Sun 10 Mar 2030, 09:30" in items[0].text, items[0].text
        assert "0 days left" in items[2].text, items[2].text
        self.check_page()
        self.submit("#submit-campaign")
        self.check_page()
        assert self.path().startswith("/campaigns/"), self.path()
        assert self.text("h1") == title, self.text("h1")
        return self.path().split("?")[0].split("/")[-1]

    def see_in_list(self, campaign_id, title):
        self.go("/")
        card = self.driver.find_element(By.CSS_SELECTOR, f"[data-campaign='{campaign_id}']")
        assert title in card.text, card.text
        assert "0 of 3 sent" in card.text, card.text
        progress = card.find_element(By.TAG_NAME, "progress")
        assert progress.get_attribute("max") == "3" and progress.get_attribute("value") == "0"
        assert "Sun 10 Mar 2030, 09:30" in card.text, card.text
        self.navigate_by(card.find_element(By.CSS_SELECTOR, "h2 a"))
        self.check_page()
        assert self.path() == f"/campaigns/{campaign_id}", self.path()
        rows = self.driver.find_elements(By.CSS_SELECTOR, "table.messages tbody tr")
        assert len(rows) == 3, len(rows)
        assert all("Scheduled" in row.text for row in rows)

    def edit(self, campaign_id, new_title):
        self.go(f"/campaigns/{campaign_id}")
        self.navigate_by(self.driver.find_element(By.LINK_TEXT, "Edit"))
        self.check_page()
        self.wait.until(lambda d: "3 message(s)" in d.find_element(By.ID, "preview-heading").text)
        self.fill("title", new_title)
        self.submit("#submit-campaign")
        self.check_page()
        assert self.text("h1") == new_title, self.text("h1")
        assert "saved" in self.text(".notice").lower()

    def delete(self, campaign_id):
        self.go(f"/campaigns/{campaign_id}")
        self.navigate_by(self.driver.find_element(By.LINK_TEXT, "Delete"))
        self.check_page()
        self.submit("form[action$='/delete'] button")
        self.check_page()
        assert self.path().startswith("/?"), self.path()
        assert self.driver.find_elements(By.CSS_SELECTOR, f"[data-campaign='{campaign_id}']") == []

    def sign_up(self, account):
        self.go("/signup")
        self.fill("email", account[0])
        self.fill("password", account[1])
        self.submit("form[action='/signup'] button[type=submit]")
        self.check_page()
        assert "approve" in self.text(".notice"), self.text(".notice")

    def approve(self, email):
        self.go("/admin/users")
        row = self.driver.find_element(By.CSS_SELECTOR, f"li[data-user='{email}']")
        assert "pending" in row.text, row.text
        self.navigate_by(row.find_element(By.XPATH, ".//button[starts-with(normalize-space(.), 'Approve')]"))
        self.check_page()
        row = self.driver.find_element(By.CSS_SELECTOR, f"li[data-user='{email}']")
        assert "active" in row.text, row.text

    def sees_nothing_of(self, campaign_id, session_id):
        self.go("/")
        assert self.driver.find_elements(By.CSS_SELECTOR, "[data-campaign]") == []
        self.go("/?tab=completed")
        assert self.driver.find_elements(By.CSS_SELECTOR, "[data-campaign]") == []
        self.go("/sessions")
        assert self.driver.find_elements(By.CSS_SELECTOR, "[data-session]") == []
        for path in (f"/campaigns/{campaign_id}", f"/sessions/{session_id}"):
            self.driver.get(BASE + path)
            self.check_page(allowed_errors=("status of 404",))
            assert self.text("h1") == "Not Found", (path, self.text("h1"))


def main():
    screenshots = os.environ.get("CRIER_SCREENSHOTS") or tempfile.mkdtemp(prefix="crier-screens-")
    driver = browser()
    flow = Flow(driver)
    try:
        flow.first_run_setup()
        flow.log_out()
        flow.log_in(ADMIN)
        session_id = flow.connect_session("phone1")
        first = flow.create_campaign(XSS_TITLE, "120363025@g.us")
        flow.see_in_list(first, XSS_TITLE)
        flow.edit(first, "Roof fund (edited)")
        kept = flow.create_campaign("Choir dues", "120363026@g.us")
        flow.delete(first)
        flow.log_out()
        flow.sign_up(SECOND)
        flow.log_in(ADMIN)
        flow.approve(SECOND[0])
        flow.log_out()
        flow.log_in(SECOND)
        flow.sees_nothing_of(kept, session_id)
        flow.log_out()
        print("dashboard flow: all steps passed")
    except Exception:
        path = os.path.join(screenshots, "failure.png")
        driver.save_screenshot(path)
        print(f"failed at {driver.current_url}; screenshot {path}", file=sys.stderr)
        print(driver.page_source[:4000], file=sys.stderr)
        raise
    finally:
        driver.quit()


if __name__ == "__main__":
    main()

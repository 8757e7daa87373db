"""End-to-end: open the built course site in headless Chromium and walk it like a reader.

Run by ``make site-test`` (part of ``make test``), which installs Debian's ``chromium`` and
``chromium-driver`` first. Builds the site into build/site, then: follows "next" from the
home page through every page and "previous" back, checks every figure loaded, every formula
rendered, every local link and anchor resolves, the search box finds a notebook section,
and the browser logged no errors. Screenshots go to build/screenshots/.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "build" / "site"
SHOTS = REPO / "build" / "screenshots"
sys.path.insert(0, str(REPO / "tools"))

import build_site  # noqa: E402

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def _find(*names: str) -> str:
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    raise RuntimeError(f"none of {names} is installed; run `make site-test`, which installs chromium and chromium-driver")


@pytest.fixture(scope="module")
def pages():
    shutil.rmtree(SITE, ignore_errors=True)
    return build_site.build(REPO / "notebooks", SITE)


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = _find("chromium", "chromium-browser", "google-chrome")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900",
                 "--allow-file-access-from-files", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=_find("chromedriver", "chromium-driver"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()


def _open(browser, page_file: str) -> None:
    browser.get((SITE / page_file).as_uri())
    WebDriverWait(browser, 60).until(lambda d: d.execute_script("return document.readyState") == "complete")


def _current_file(browser) -> str:
    return Path(unquote(urlparse(browser.current_url).path)).name


def _wait_for_math(browser) -> None:
    """Wait until MathJax (if the page loads it) has typeset everything it queued."""
    WebDriverWait(browser, 120).until(lambda d: d.execute_script(
        "return !window.MathJax || (!!MathJax.Hub && !!MathJax.Hub.queue && MathJax.Hub.queue.pending === 0"
        " && !MathJax.Hub.queue.running && document.querySelectorAll('.MathJax_Processing').length === 0)"))


def test_next_links_visit_every_page_in_order_and_previous_links_come_back(browser, pages):
    _open(browser, "index.html")
    visited = [_current_file(browser)]
    while browser.find_elements(By.CSS_SELECTOR, "nav.top a.nav-next"):
        browser.find_element(By.CSS_SELECTOR, "nav.top a.nav-next").click()
        WebDriverWait(browser, 60).until(lambda d: _current_file(d) != visited[-1])
        visited.append(_current_file(browser))
    assert visited == [p["file"] for p in pages]
    while browser.find_elements(By.CSS_SELECTOR, "nav.bottom a.nav-prev"):
        browser.find_element(By.CSS_SELECTOR, "nav.bottom a.nav-prev").click()
        WebDriverWait(browser, 60).until(lambda d: _current_file(d) != visited[-1])
        visited.append(_current_file(browser))
    assert visited[len(pages) - 1:] == [p["file"] for p in reversed(pages)]


def test_every_page_loads_its_figures_renders_its_math_and_links_resolve(browser, pages):
    SHOTS.mkdir(parents=True, exist_ok=True)
    anchors_by_page: dict[str, set[str]] = {}
    links_by_page: dict[str, list[str]] = {}
    browser.get_log("browser")  # start with an empty log: only this test's pages count
    for page in pages:
        _open(browser, page["file"])
        _wait_for_math(browser)
        images = browser.execute_script(
            "return Array.from(document.images).map(i => [i.complete && i.naturalWidth > 0, i.alt || i.src.slice(0, 60)])")
        assert all(ok for ok, _ in images), f"{page['file']}: images that did not load: {[n for ok, n in images if not ok]}"
        math = browser.execute_script(
            "return [document.querySelectorAll('script[type^=\"math/tex\"]').length,"
            " document.querySelectorAll('.MathJax, .MathJax_Display, .MathJax_CHTML').length,"
            " document.querySelectorAll('.MathJax_Error, merror').length]")
        formulas, rendered, errors = math
        assert errors == 0, f"{page['file']}: {errors} formulas failed to render"
        assert rendered >= formulas, f"{page['file']}: {formulas} formulas, {rendered} rendered"
        if page["file"].startswith("0"):
            assert images, f"{page['file']}: a notebook page without a single figure"
        anchors_by_page[page["file"]] = set(browser.execute_script(
            "return Array.from(document.querySelectorAll('[id], a[name]')).map(e => e.id || e.name)"))
        links_by_page[page["file"]] = browser.execute_script(
            "return Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'))")
        # MathJax 2 probes font support by loading a font from about:blank, which file:// pages refuse;
        # that probe is expected. Anything else (a missing file, a script error) fails the test.
        errors_logged = [e["message"] for e in browser.get_log("browser")
                         if e["level"] == "SEVERE" and "about:blank" not in e["message"]]
        assert not errors_logged, f"{page['file']}: browser errors {errors_logged}"
        browser.save_screenshot(str(SHOTS / f"{Path(page['file']).stem}.png"))

    math_pages = [p["file"] for p in pages if p["file"].startswith("01")]
    for name in math_pages:  # notebook 01 is full of equations: they must have been typeset
        _open(browser, name)
        _wait_for_math(browser)
        assert browser.execute_script("return document.querySelectorAll('.MathJax, .MathJax_Display').length") > 20

    broken = []
    for page, links in links_by_page.items():
        for href in links:
            if href.startswith(("http://", "https://", "mailto:")):
                continue  # external: the site works offline and does not depend on them
            target, _, anchor = href.partition("#")
            target = unquote(target) or page
            if not (SITE / target).is_file():
                broken.append(f"{page} -> {href} (no such file)")
            elif anchor and target in anchors_by_page and not {anchor, unquote(anchor)} & anchors_by_page[target]:
                # (the HTML spec tries the fragment as written, then percent-decoded)
                broken.append(f"{page} -> {href} (no such anchor)")
    assert not broken, "broken links:\n" + "\n".join(broken)
    assert len(list(SHOTS.glob("*.png"))) >= len(pages)


def test_search_box_finds_a_notebook_section(browser, pages):
    _open(browser, "index.html")
    box = browser.find_element(By.CSS_SELECTOR, "nav.top .course-search input")
    box.send_keys("forget gate")
    WebDriverWait(browser, 10).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "nav.top .course-search-results li a"))
    hits = browser.find_elements(By.CSS_SELECTOR, "nav.top .course-search-results li a")
    target = hits[0].get_attribute("href")
    assert any("01_rnn_from_equations.html#" in h.get_attribute("href") for h in hits)
    hits[0].click()
    WebDriverWait(browser, 60).until(lambda d: d.current_url == target)
    box = browser.find_element(By.CSS_SELECTOR, "nav.top .course-search input")
    box.clear()
    box.send_keys("zzqqxxnotaword")
    WebDriverWait(browser, 10).until(lambda d: "No match" in d.find_element(By.CSS_SELECTOR, "nav.top .course-search-results").text)


def test_notebook_pages_offer_contents_and_a_download(browser, pages):
    """Each notebook page shows its contents (links that scroll to its sections) and a download of the notebook."""
    for page in (p for p in pages if p["file"][:2].isdigit()):
        _open(browser, page["file"])
        toc = browser.find_elements(By.CSS_SELECTOR, "nav.course-toc a")
        assert len(toc) >= 5, f"{page['file']}: no in-page contents"
        download = browser.find_element(By.CSS_SELECTOR, ".course-notebook-bar a.download-notebook")
        assert (SITE / unquote(download.get_attribute("href").rsplit("/", 1)[-1])).is_file()
        assert browser.find_elements(By.CSS_SELECTOR, ".course-notebook-bar a.open-open-in-colab")
        toc[-1].click()  # the last section (the run time): the page scrolls to it
        WebDriverWait(browser, 10).until(lambda d: d.execute_script("return window.scrollY") > 0)


def test_student_site_walks_without_solutions(browser, tmp_path):
    """The student build (make site STUDENT=1): every page opens without browser errors, no solutions shown."""
    student = tmp_path / "site-student"
    student_pages = build_site.build(REPO / "notebooks", student, student=True)
    browser.get_log("browser")
    for page in student_pages:
        browser.get((student / page["file"]).as_uri())
        WebDriverWait(browser, 60).until(lambda d: d.execute_script("return document.readyState") == "complete")
        if page["file"][:2].isdigit():
            body = browser.find_element(By.TAG_NAME, "body").text
            assert "Not included in the student copy" in body, page["file"]
            assert not browser.find_elements(By.CSS_SELECTOR, ".course-notebook-bar a.open-open-in-colab")
        errors = [e["message"] for e in browser.get_log("browser")
                  if e["level"] == "SEVERE" and "about:blank" not in e["message"]]
        assert not errors, f"{page['file']}: browser errors {errors}"

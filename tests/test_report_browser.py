"""report.html opened in a real browser (headless Chromium through selenium) at 800 and 1400 px:
no horizontal overflow, every image loaded, every table-of-contents link lands on its heading,
no console error. The screenshots stay in the test's temporary folder as artefacts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from synthetic_sweep import write_sweep

from gradscope.report import build_report

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "",
                             shutil.which("chromium-browser") or "") if p and Path(p).exists()),
                None)
CHROMEDRIVER = next((p for p in ("/usr/bin/chromedriver", shutil.which("chromedriver") or "")
                     if p and Path(p).exists()), None)
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync")
WIDTHS = (800, 1400)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """A headless Chromium with a fresh profile; skipped (with the reason) where none exists."""
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("no Chromium browser/driver here (Debian: apt-get install chromium "
                    "chromium-driver; .ci/run installs them)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def report_html(tmp_path_factory) -> Path:
    """A report of a small synthetic sweep (with a diverged run and histograms)."""
    out = write_sweep(tmp_path_factory.mktemp("sweep"))
    return build_report(out)


def _check_page(driver, html: Path, width: int, shots: Path) -> None:
    driver.set_window_size(width, 1000)
    driver.get(html.resolve().as_uri())
    driver.get_log("browser")  # drop messages from before the load
    driver.refresh()
    state = driver.execute_script("""
        const doc = document.documentElement;
        const imgs = [...document.images].map(i => [i.alt, i.complete, i.naturalWidth]);
        const toc = [...document.querySelectorAll('nav.toc a')].map(a => a.getAttribute('href'));
        return {scroll: doc.scrollWidth, client: doc.clientWidth, imgs: imgs, toc: toc,
                wide: [...document.querySelectorAll('body *')]
                        .filter(e => e.getBoundingClientRect().right > doc.clientWidth + 1
                                     && !e.closest('.scroll'))
                        .map(e => e.tagName + '.' + e.className).slice(0, 5)};
    """)
    driver.save_screenshot(str(shots / f"report_{width}.png"))
    assert state["scroll"] <= state["client"], (
        f"horizontal overflow at {width} px: page {state['scroll']} px wide in a "
        f"{state['client']} px window; too wide: {state['wide']}")
    assert state["imgs"], "the report shows no image"
    broken = [alt for alt, complete, natural in state["imgs"] if not complete or natural == 0]
    assert not broken, f"images not loaded at {width} px: {broken}"
    assert len(state["toc"]) >= 4, state["toc"]
    for href in state["toc"]:
        assert href.startswith("#"), href
        driver.execute_script("window.scrollTo(0, 0)")
        driver.find_element("css selector", f'nav.toc a[href="{href}"]').click()
        where = driver.execute_script("""
            const t = document.getElementById(arguments[0]);
            if (!t) return null;
            const d = document.documentElement;
            return {top: t.getBoundingClientRect().top, hash: location.hash,
                    bottom: window.scrollY + window.innerHeight >= d.scrollHeight - 2,
                    height: window.innerHeight};""", href[1:])
        assert where is not None, f"table of contents link {href} has no target"
        assert where["hash"] == href, where
        # the heading comes to the top, or into view when the page cannot scroll further
        assert abs(where["top"]) < 5 or (where["bottom"] and 0 <= where["top"]
                                         < where["height"]), f"{href}: {where}"
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, f"console errors at {width} px: {errors}"
    driver.execute_script("window.scrollTo(0, 0)")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(int(height), 12000))
    driver.save_screenshot(str(shots / f"report_{width}_full.png"))


@pytest.mark.parametrize("width", WIDTHS, ids=[f"{w}px" for w in WIDTHS])
def test_report_renders_cleanly_in_chromium(browser, report_html, width, tmp_path):
    shots = tmp_path / "screenshots"
    shots.mkdir()
    _check_page(browser, report_html, width, shots)
    assert (shots / f"report_{width}.png").stat().st_size > 10_000
    print(f"screenshots: {shots}")


def test_the_first_screen_says_what_happened(browser, report_html):
    """At 800 px the headline, the table of contents and the diagnosis matrix's heading are
    within the first 1.5 screens; the per-run findings are collapsed."""
    browser.set_window_size(800, 1000)
    browser.get(report_html.resolve().as_uri())
    found = browser.execute_script("""
        const top = s => { const e = document.querySelector(s);
                           return e ? e.getBoundingClientRect().top : null; };
        return {lead: top('p.lead'), toc: top('nav.toc'), glance: top('#at-a-glance'),
                open: [...document.querySelectorAll('details')].some(d => d.open),
                findings: document.querySelector('details table') !== null};
    """)
    assert found["lead"] is not None and found["lead"] < 400, found
    assert found["toc"] is not None and found["toc"] < 1000, found
    assert found["glance"] is not None and found["glance"] < 1500, found
    assert found["findings"] and not found["open"], found

"""Open a results page in headless Chromium and report what the browser could decode.

Used by tests/test_browser.py and, on the end-to-end page, from the command line:
    python tests/browser.py results/page/index.html
Needs the Debian packages `chromium` and `chromium-driver` and the Python package `selenium`.
"""

import json
import sys
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run")

# Per element: the image's decoded width, or the audio's readyState and duration (NaN until metadata).
IMAGES_JS = "return [...document.images].map(i => [i.getAttribute('src'), i.complete, i.naturalWidth]);"
AUDIO_JS = ("return [...document.querySelectorAll('audio')].map(a => "
            "[a.querySelector('source').getAttribute('src'), a.readyState, a.duration]);")


def check_page(path, timeout=30):
    """Load `path` (file://) and wait until every image finished and every audio has metadata.

    Returns {"images": {src: naturalWidth}, "audio": {src: duration in s}}; a width of 0 means the
    image did not decode, a duration of None means the audio never reached readyState >= 1 (metadata)
    within `timeout` seconds. A failed <source> leaves no trace on the audio element that is reliable
    while loading, so a broken page costs the full timeout.
    """
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.get(Path(path).resolve().as_uri())
        try:
            WebDriverWait(driver, timeout).until(lambda d: _settled(d.execute_script(IMAGES_JS),
                                                                    d.execute_script(AUDIO_JS)))
        except TimeoutException:
            pass  # report what loaded; the caller's assertions name what did not
        images, audio = driver.execute_script(IMAGES_JS), driver.execute_script(AUDIO_JS)
    finally:
        driver.quit()
    return {
        "images": {src: width for src, _complete, width in images},
        "audio": {src: (duration if state >= 1 else None) for src, state, duration in audio},
    }


def _settled(images, audio):
    """Every image finished loading and every audio element has its metadata."""
    return all(complete for _, complete, _ in images) and all(state >= 1 for _, state, _ in audio)


if __name__ == "__main__":
    report = check_page(sys.argv[1])
    print(json.dumps(report, indent=2))
    broken = [src for group in report.values() for src, value in group.items() if not value]
    sys.exit(1 if broken else 0)

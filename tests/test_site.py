"""The built book in a real browser: headless Chromium (Debian's chromium + chromium-driver).

The site is built as `make html` builds it, served over http://127.0.0.1, and every page of
_toc.yml is opened as a first-time visitor. Checked: no SEVERE console entries (external hosts
aside, see _offline), every image in the page's content has loaded, each chapter's Colab
button opens that chapter's notebook, and the scoreboard has one row per claim.

Skipped, saying why, where /usr/bin/chromium, /usr/bin/chromedriver or selenium is missing;
.ci/run installs the first two and the test extra installs selenium, so CI runs it.
"""

import functools
import http.server
import re
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    pytest.skip(
        "headless Chromium not installed: apt-get install chromium chromium-driver (.ci/run does)",
        allow_module_level=True,
    )
webdriver = pytest.importorskip(
    "selenium.webdriver", reason="selenium not installed: pip install -e '.[test]'"
)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

# measured: build ~4 s, browser start ~1 s, each page < 1 s (about 15 s for the whole module);
# the first test also pays the module's build, hence a limit well above that on a slow runner
pytestmark = pytest.mark.timeout(180)

CONFIG = yaml.safe_load((REPO / "_config.yml").read_text())


def _toc_files(node) -> list[str]:
    """Every page of _toc.yml, root first, in reading order."""
    if isinstance(node, dict):
        own = [node[k] for k in ("root", "file") if k in node]
        return own + [f for v in node.values() if isinstance(v, list | dict) for f in _toc_files(v)]
    if isinstance(node, list):
        return [f for item in node for f in _toc_files(item)]
    return []


PAGES = [
    str(Path(f).with_suffix(""))
    for f in _toc_files(yaml.safe_load((REPO / "_toc.yml").read_text()))
]
NOTEBOOKS = [p for p in PAGES if (REPO / f"{p}.ipynb").exists()]
SCOREBOARD = "book/scoreboard"

# Chromium resolves no host but the local server, whatever network the machine has: the pages
# are checked as an offline reader sees them, the same on every machine.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1024",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


@pytest.fixture(scope="module")
def site(book_html):
    """The built HTML book (conftest's book_html, built once), served on a free local port."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(book_html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # the driver's path is given, so selenium-manager is never run; SE_OFFLINE stops it
    # downloading anything should a selenium version run it anyway
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SE_OFFLINE", "true")
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


IMAGES_JS = """
return Array.from(document.querySelectorAll('article.bd-article img')).map(i => ({
    src: i.getAttribute('src'), complete: i.complete, width: i.naturalWidth}));
"""
LINKS_JS = """
return Array.from(document.querySelectorAll('a[href]')).map(a => a.href)
    .filter(h => h.startsWith(arguments[0]));
"""
ROWS_JS = """
return Array.from(document.querySelectorAll('article.bd-article table tbody tr'))
    .map(r => r.innerText);
"""


@pytest.fixture(scope="module")
def visit(site, browser):
    """Open a page once as a first-time visitor; what the checks need, recorded."""

    @functools.cache
    def load(page: str) -> dict:
        browser.get_log("browser")  # drop what earlier pages left
        browser.get(f"{site}/{page}.html")
        wait = WebDriverWait(browser, 30)
        wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
        wait.until(lambda d: all(i["complete"] for i in d.execute_script(IMAGES_JS)))
        # let timers and async scripts started at load run before reading the console
        browser.execute_async_script("setTimeout(arguments[arguments.length - 1], 300)")
        seen = {
            "console": browser.get_log("browser"),
            "images": browser.execute_script(IMAGES_JS),
            "colab": browser.execute_script(LINKS_JS, CONFIG["launch_buttons"]["colab_url"]),
            "rows": browser.execute_script(ROWS_JS),
        }
        # the next page is a first visit too (the theme keeps its light/dark mode here)
        browser.execute_script("localStorage.clear(); sessionStorage.clear();")
        return seen

    return load


def _offline(entry: dict, site: str) -> bool:
    """A console entry caused only by the closed network, not by the book's own files.

    Exactly two kinds, both network entries:
    - a resource on another host that did not resolve (Chromium resolves none, see
      CHROMIUM_FLAGS). Today that is MathJax from cdn.jsdelivr.net, which chapters with
      formulas need to typeset them: offline they show the TeX source.
    - the browser's own request for /favicon.ico at the server root, which no page asks for
      (the book sets no favicon; a real host answers it or not, the book cannot).
    Everything from the book's pages and _static files, and any other failure, counts.
    """
    if entry.get("source") != "network":
        return False
    url = entry["message"].split(" ", 1)[0]
    if urlsplit(url).hostname != "127.0.0.1":
        return "net::ERR_NAME_NOT_RESOLVED" in entry["message"]
    return url == f"{site}/favicon.ico"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_loads_without_console_errors(site, visit, page):
    errors = [e["message"] for e in visit(page)["console"]
              if e["level"] == "SEVERE" and not _offline(e, site)]  # fmt: skip
    assert not errors, f"{page}: console errors:\n" + "\n".join(errors)


@pytest.mark.parametrize("page", PAGES)
def test_every_image_of_a_page_has_loaded(visit, page):
    images = visit(page)["images"]
    if page in NOTEBOOKS:
        assert images, f"{page}: a chapter without a figure"
    broken = [i["src"] for i in images if not (i["complete"] and i["width"] > 0)]
    assert not broken, f"{page}: images that did not load: {broken}"


@pytest.mark.parametrize("page", NOTEBOOKS)
def test_each_chapter_colab_link_opens_that_chapter(visit, page):
    colab = CONFIG["launch_buttons"]["colab_url"].rstrip("/")
    repo = CONFIG["repository"]["url"].removeprefix("https://github.com/").strip("/")
    branch = CONFIG["repository"].get("branch", "main")
    links = set(visit(page)["colab"])
    assert links == {f"{colab}/github/{repo}/blob/{branch}/{page}.ipynb"}, links


def test_the_scoreboard_has_one_row_per_claim(visit):
    """One table row per claim of spatialmix.claims.CLAIMS, each naming its claim's id."""
    if SCOREBOARD not in PAGES:
        pytest.skip(f"no {SCOREBOARD} page in _toc.yml yet")
    from spatialmix.claims import CLAIMS

    rows = visit(SCOREBOARD)["rows"]
    assert len(rows) == len(CLAIMS), f"{len(rows)} rows for {len(CLAIMS)} claims"
    for claim in CLAIMS:
        named = [row for row in rows if re.search(rf"\b{re.escape(claim)}\b", row)]
        assert len(named) == 1, f"{claim}: named by {len(named)} rows, not one"


def test_the_pages_are_the_toc():
    """The checks above see every chapter: each notebook of book/ is a page of _toc.yml."""
    chapters = {f"book/{p.stem}" for p in (REPO / "book").glob("[0-9][0-9]_*.ipynb")}
    assert chapters <= set(NOTEBOOKS) and len(PAGES) == len(set(PAGES))

"""Helpers for the quality gates: tool lookup, a local HTTP server, axe and vnu runs.

The gates check the built site with the tools a reviewer trusts: axe-core in the system
Chromium (driven by Playwright, which never downloads a browser here) and the Nu HTML
Checker (vnu.jar). Both come from node_modules/ (`npm ci`); the versions are pinned in
package.json.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from importlib.util import find_spec
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

__all__ = [
    "AXE_JS",
    "AXE_TAGS",
    "CHROMIUM",
    "CONTENT_SECURITY_POLICY",
    "META_CONTENT_SECURITY_POLICY",
    "REPO_ROOT",
    "SEARCH_CONTENT_SECURITY_POLICY",
    "VIEWPORTS",
    "VNU_JAR",
    "SweepResult",
    "base_path_of",
    "html_paths",
    "load_pages",
    "meta_policy_for",
    "policy_for",
    "require_browser_tools",
    "require_tool",
    "require_validator_tools",
    "run_vnu",
    "serve",
    "sweep",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
AXE_JS = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
VNU_JAR = REPO_ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"

AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
# Browser contexts every page is checked in. The dark colour scheme has its own colours in
# site.css, so its contrast is checked too (at phone width: the colours do not depend on it).
VIEWPORTS: dict[str, dict[str, Any]] = {
    "Telefon 375×812": {"viewport": {"width": 375, "height": 812}, "color_scheme": "light"},
    "Desktop 1280×900": {"viewport": {"width": 1280, "height": 900}, "color_scheme": "light"},
    "Telefon 375×812 dunkel": {"viewport": {"width": 375, "height": 812}, "color_scheme": "dark"},
}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Sent with every page: the site must work without inline styles or scripts and without other
# hosts, so that the production server can use the same strict policy. The scripts are
# same-origin files (script-src 'self'), never inline: the gallery's lightbox.js and the
# search page's search.js. Forms may only go to the site itself (the search field).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# The search page and the search bundle (whose web worker gets the policy of its own
# response) need one exception: Pagefind's index runs as WebAssembly, which script-src
# allows only with 'wasm-unsafe-eval' (it permits compiling WebAssembly, not eval of text).
SEARCH_PATHS = ("suche/", "pagefind/")
SEARCH_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
    "script-src 'self'", "script-src 'self' 'wasm-unsafe-eval'")
# The same policy as a <meta http-equiv> tag on every page (for hosts that send no headers, such as
# GitHub and GitLab Pages). Browsers ignore these directives in a meta tag and warn about them.
HEADER_ONLY_DIRECTIVES = ("frame-ancestors", "report-uri", "sandbox")
META_CONTENT_SECURITY_POLICY = "; ".join(
    d for d in CONTENT_SECURITY_POLICY.split("; ") if d.split()[0] not in HEADER_ONLY_DIRECTIVES
)


def meta_policy_for(path: str, base_path: str = "/") -> str | None:
    """The policy a page carries as its <meta> tag (for hosts without headers)."""
    policy = policy_for(path, base_path)
    if policy is None:
        return None
    return "; ".join(d for d in policy.split("; ") if d.split()[0] not in HEADER_ONLY_DIRECTIVES)
# Pages checked at the same time per viewport; 4 keeps a 100-page site near 20 s.
PARALLEL_PAGES = 4


def require_tool(available: bool, message: str) -> None:
    """Skip the test when a tool is missing — or fail it when CI demands the gates.

    CI sets KPR_REQUIRE_GATES=1 so that a missing tool can never turn a gate green.
    """
    if available:
        return
    if os.environ.get("KPR_REQUIRE_GATES") == "1":
        pytest.fail(f"{message} (KPR_REQUIRE_GATES=1: die Qualitätstore sind Pflicht)")
    pytest.skip(message)


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium, driven by Playwright (never a downloaded browser); closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def wait_until_true(page: Any, expression: str, seconds: float = 10) -> None:
    """Poll with page.evaluate: page.wait_for_function evaluates the expression with eval inside
    the page, which the site's strict CSP blocks once its first check comes back false."""
    for _ in range(int(seconds * 20)):
        if page.evaluate(expression):
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"Nach {seconds:g} s noch nicht wahr: {expression}")


def require_browser_tools() -> None:
    require_tool(
        CHROMIUM.is_file(),
        f"Chromium fehlt ({CHROMIUM}) – installieren: apt-get install chromium",
    )
    require_tool(
        find_spec("playwright") is not None,
        "Python-Paket playwright fehlt – installieren: pip install -e '.[test]' "
        "(kein 'playwright install' nötig, der Test nutzt /usr/bin/chromium)",
    )
    require_tool(AXE_JS.is_file(), f"axe-core fehlt ({AXE_JS}) – installieren: npm ci")


def require_validator_tools() -> None:
    require_tool(
        shutil.which("java") is not None,
        "Java fehlt – installieren: apt-get install default-jre-headless (Java 17 oder neuer)",
    )
    require_tool(VNU_JAR.is_file(), f"Nu HTML Checker fehlt ({VNU_JAR}) – installieren: npm ci")


# ---------- the built site over HTTP ----------


def base_path_of(out: Path) -> str:
    """The URL path the built site lives under ("/" or e.g. "/kpr/"), from the home page.

    The home page's canonical link is abs_url("/"), i.e. the configured base_url.
    """
    home = out / "index.html"
    html = home.read_text(encoding="utf-8") if home.is_file() else ""
    match = re.search(r'<link rel="canonical" href="([^"]+)"', html)
    path = urlsplit(match.group(1)).path if match else "/"
    return path if path.endswith("/") else path + "/"


class _SiteHandler(SimpleHTTPRequestHandler):
    """Serves the output directory under the site's base path, quietly."""

    base_path = "/"
    precompressed = False
    """Send a file's `.gz` sibling to browsers that accept gzip, as deploy/ sets up nginx
    (gzip_static) and Apache."""

    def send_head(self) -> Any:
        path = self.translate_path(self.path)
        if os.path.isdir(path):
            path = os.path.join(path, "index.html")
        packed = path + ".gz"
        accepts = "gzip" in self.headers.get("Accept-Encoding", "")
        if not (self.precompressed and accepts and os.path.isfile(packed)):
            return super().send_head()
        handle = open(packed, "rb")  # noqa: SIM115 - closed by the caller, as in the base class
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(os.fstat(handle.fileno()).st_size))
        self.end_headers()
        return handle

    def translate_path(self, path: str) -> str:
        plain = unquote(urlsplit(path).path)
        if not plain.startswith(self.base_path):
            return str(Path(self.directory) / ".kein-pfad")  # a path that does not exist
        return super().translate_path("/" + plain[len(self.base_path) :])

    def end_headers(self) -> None:
        policy = policy_for(urlsplit(self.path).path, self.base_path)
        if policy:
            self.send_header("Content-Security-Policy", policy)
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Requests are recorded by the browser test; no log lines on stderr."""


def policy_for(path: str, base_path: str = "/") -> str | None:
    """The Content-Security-Policy the test server sends for a URL path; none for /admin/,
    whose page carries its own (a <meta> written by kpr_site.cms)."""
    relative = unquote(path)[len(base_path):] if path.startswith(base_path) else ""
    if relative.startswith("admin/"):
        return None
    return SEARCH_CONTENT_SECURITY_POLICY if relative.startswith(SEARCH_PATHS) else CONTENT_SECURITY_POLICY


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A browser that drops a connection mid-response is not a site error."""


@contextmanager
def serve(out: Path, base_path: str = "/", precompressed: bool = False) -> Iterator[str]:
    """Serve `out` on 127.0.0.1 at a free port; yields the site's root URL."""
    handler = type("Handler", (_SiteHandler,),
                   {"base_path": base_path, "precompressed": precompressed})
    server = _QuietServer(("127.0.0.1", 0), functools.partial(handler, directory=str(out)))
    thread = threading.Thread(target=server.serve_forever, name="kpr-gates-http", daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host}:{port}{base_path}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def html_paths(out: Path) -> list[str]:
    """Every HTML page of the built site as a path relative to the site root, sorted.

    "index.html" becomes its directory ("presse/"), so pages are visited by their public URL.
    """
    paths = []
    for file in sorted(out.rglob("*.html")):
        rel = PurePosixPath(file.relative_to(out).as_posix())
        if rel.name == "index.html":
            parent = str(rel.parent)
            paths.append("" if parent == "." else parent + "/")
        else:
            paths.append(str(rel))
    return paths


# ---------- axe-core in Chromium ----------


@dataclass
class SweepResult:
    """What one browser run over the whole site found."""

    pages: int = 0
    """Page visits (pages × viewports)."""
    violations: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    structure: list[str] = field(default_factory=list)
    """What axe leaves to best-practice rules: h1 count, skipped levels, skip link, reflow."""
    cookies: list[dict[str, Any]] = field(default_factory=list)


# Runs before any page script, outside the page's CSP: collects what the policy blocked.
_CSP_LISTENER = """
window.__kprCspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__kprCspViolations.push(
    `${e.effectiveDirective} blockiert ${e.blockedURI || 'inline'} (Zeile ${e.lineNumber})`);
});
"""

_AXE_RUN = """
async (tags) => {
  const result = await axe.run(document, {
    runOnly: {type: 'tag', values: tags},
    resultTypes: ['violations'],
  });
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    targets: v.nodes.map((n) => n.target.join(' ')),
  }));
}
"""


_STRUCTURE = """
() => {
  const problems = [];
  const h1 = document.querySelectorAll('h1').length;
  if (h1 !== 1) problems.push(`${h1} h1-Überschriften statt genau einer`);
  let last = 0;
  for (const h of document.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
    const level = Number(h.tagName[1]);
    if (last && level > last + 1) {
      const text = h.textContent.trim().slice(0, 60);
      problems.push(`Überschrift springt von h${last} auf h${level}: „${text}“`);
    }
    last = level;
  }
  const first = document.querySelector(
    'a[href], button, input, select, textarea, [tabindex]:not([tabindex="-1"])');
  if (!first || first.getAttribute('href') !== '#inhalt') {
    problems.push('Das erste fokussierbare Element ist nicht der Sprunglink auf #inhalt');
  }
  const main = document.getElementById('inhalt');
  if (!main || main.tagName !== 'MAIN') problems.push('<main id="inhalt"> fehlt');
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth) {
    problems.push(`breiter als das Fenster (${root.scrollWidth} > ${root.clientWidth} px), `
      + 'man muss waagerecht scrollen (WCAG 1.4.10)');
  }
  return problems;
}
"""


def sweep(root_url: str, paths: list[str]) -> SweepResult:
    """Visit every page at every viewport, run axe, record requests and cookies."""
    return asyncio.run(_sweep(root_url, paths))


async def _sweep(root_url: str, paths: list[str]) -> SweepResult:
    from playwright.async_api import async_playwright

    result = SweepResult()
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for name, settings in VIEWPORTS.items():
                context = await browser.new_context(**settings, service_workers="block")
                await context.add_init_script(_CSP_LISTENER)
                # axe-core (≈0.6 MB) goes to the browser once per context, not once per page:
                # sending it with every page.evaluate cost a third of the sweep. Init scripts,
                # like evaluate, run outside the page's CSP; axe only defines itself until run.
                await context.add_init_script(path=AXE_JS)
                _record_traffic(context, result)
                queue: asyncio.Queue[str] = asyncio.Queue()
                for path in paths:
                    queue.put_nowait(path)
                workers = [
                    _check_pages(context, root_url, queue, name, result) for _ in range(PARALLEL_PAGES)
                ]
                await asyncio.gather(*workers)
                result.cookies.extend(dict(c) for c in await context.cookies())
                await context.close()
        finally:
            await browser.close()
    return result


def _record_traffic(context: Any, result: SweepResult) -> None:
    def on_response(response: Any) -> None:
        if response.status >= 400:
            result.failed_requests.append(f"{response.url}: HTTP {response.status}")

    def on_failure(request: Any) -> None:
        # ERR_ABORTED: the next page.goto cancelled a late request (e.g. the favicon). A file
        # that is really missing shows up as an HTTP 404 response above.
        if request.failure != "net::ERR_ABORTED":
            result.failed_requests.append(f"{request.url}: {request.failure}")

    context.on("request", lambda request: result.requests.append(request.url))
    context.on("requestfailed", on_failure)
    context.on("response", on_response)


async def _check_pages(
    context: Any, root_url: str, queue: asyncio.Queue[str], viewport: str, result: SweepResult
) -> None:
    page = await context.new_page()
    try:
        while not queue.empty():
            path = queue.get_nowait()
            await page.goto(root_url + path, wait_until="load")
            found = await page.evaluate(_AXE_RUN, list(AXE_TAGS))
            blocked = await page.evaluate("window.__kprCspViolations")
            outline = await page.evaluate(_STRUCTURE)
            result.pages += 1
            result.violations.extend(_describe(v, "/" + path, viewport) for v in found)
            result.csp_violations.extend(f"/{path}: {text}" for text in blocked)
            result.structure.extend(f"/{path}: {text}" for text in outline)
    finally:
        await page.close()


def _describe(violation: dict[str, Any], path: str, viewport: str) -> str:
    targets = "\n      ".join(violation["targets"])
    return (
        f"{path} [{viewport}] {violation['id']} ({violation['impact']}): {violation['help']}\n      {targets}"
    )


# ---------- pages under a real server's headers ----------


def load_pages(root_url: str, paths: list[str]) -> list[str]:
    """Open every page once in Chromium, as a visitor would; what went wrong, as "/path: text".

    Reported: what the Content-Security-Policy blocked (the securitypolicyviolation event), errors
    on the console (the browser's own CSP and Permissions-Policy messages among them), script
    errors and files that failed to load.
    """
    return asyncio.run(_load_pages(root_url, paths))


async def _load_pages(root_url: str, paths: list[str]) -> list[str]:
    from playwright.async_api import async_playwright

    problems: list[str] = []
    queue: asyncio.Queue[str] = asyncio.Queue()
    for path in paths:
        queue.put_nowait(path)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(service_workers="block")
            await context.add_init_script(_CSP_LISTENER)
            await asyncio.gather(*(_load_queued(context, root_url, queue, problems)
                                   for _ in range(PARALLEL_PAGES)))
            await context.close()
        finally:
            await browser.close()
    return sorted(problems)


async def _load_queued(context: Any, root_url: str, queue: asyncio.Queue[str], problems: list[str]) -> None:
    page = await context.new_page()
    current = [""]

    def report(text: str) -> None:
        problems.append(f"/{current[0]}: {text}")

    page.on("console", lambda m: report(f"Konsole: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda error: report(f"Skriptfehler: {error}"))
    page.on("response", lambda r: report(f"{r.url}: HTTP {r.status}") if r.status >= 400 else None)
    try:
        while not queue.empty():
            current[0] = queue.get_nowait()
            await page.goto(root_url + current[0], wait_until="load")
            for text in await page.evaluate("window.__kprCspViolations"):
                report(text)
    finally:
        await page.close()


# ---------- the Nu HTML Checker ----------


def run_vnu(out: Path) -> list[str]:
    """Check every HTML, CSS and SVG file under `out` with one JVM; errors as readable lines.

    --skip-non-html keeps the Atom feed and sitemap (XML) out; the two --also-check flags
    bring the stylesheet and the logo back in.
    """
    command = [
        "java",
        # A run is short: the quick C1 compiler alone halves its CPU (shipped site: 2.0 s
        # instead of 4.0 s) and checks the same; its deeper frames need a larger stack than
        # the 512 kB vnu asks for (it stops with a StackOverflowError, never passes quietly).
        "-XX:TieredStopAtLevel=1",
        "-Xss64m",
        "-jar",
        str(VNU_JAR),
        "--errors-only",
        "--format",
        "json",
        "--stdout",
        "--skip-non-html",
        "--also-check-css",
        "--also-check-svg",
        str(out),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    try:
        messages = json.loads(done.stdout)["messages"] if done.stdout.strip() else []
    except json.JSONDecodeError:
        return [f"vnu lieferte kein JSON (Exit {done.returncode}): {done.stdout}{done.stderr}"]
    lines = [_vnu_line(m, out) for m in messages if m.get("type") != "info"]
    if done.returncode != 0 and not lines:
        lines.append(f"vnu endete mit Exit {done.returncode}: {done.stderr.strip()}")
    return lines


def _vnu_line(message: dict[str, Any], out: Path) -> str:
    url = message.get("url", "")
    where = unquote(urlsplit(url).path) if url else "?"
    if where.startswith(out.as_posix()):
        where = where[len(out.as_posix()) :].lstrip("/")
    line = message.get("lastLine") or message.get("firstLine")
    extract = (message.get("extract") or "").replace("\n", "⏎")
    text = f"{where}:{line}: {message.get('message', '')}"
    return f"{text}\n      {extract}" if extract else text

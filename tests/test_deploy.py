"""The shipped server configurations (deploy/), in operation with Debian's nginx and Apache.

Each server runs in the foreground on loopback ports with a private prefix, with the shipped files
over a build of the shipped site: nginx with the shipped snippets in a plain-HTTP server block,
Apache with the shipped site file (HTTPS, a throwaway certificate). The tests check the headers of
each kind of file on both, and load every page in Chromium under nginx's headers. Missing tools
skip these tests with a note on what to install — unless KPR_REQUIRE_GATES=1 (CI): then they fail.
"""

from __future__ import annotations

import gzip
import http.client
import importlib.util
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import pytest
from gates import CHROMIUM, CONTENT_SECURITY_POLICY, REPO_ROOT, html_paths, load_pages, require_tool

DEPLOY = REPO_ROOT / "deploy"
NGINX = Path(shutil.which("nginx") or "/usr/sbin/nginx")
NGINX_MIME_TYPES = Path("/etc/nginx/mime.types")
APACHE = Path(shutil.which("apache2") or "/usr/sbin/apache2")
APACHE_MODULES = Path("/usr/lib/apache2/modules")
# What `a2enmod headers rewrite ssl` adds to the modules Debian enables by default, and mod_deflate.
APACHE_MODULE_NAMES = ("mpm_event", "authz_core", "alias", "dir", "mime", "filter", "deflate", "headers",
                       "rewrite", "ssl")
MIME_TYPES = Path("/etc/mime.types")
YEAR = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
DENIED_FEATURES = {"camera=()", "microphone=()", "geolocation=()"}
SERVERS = ("nginx", "apache")
# A page with an inline script: the policy must block it, or the browser test proves nothing.
PROBE_PAGE = "csp-probe.html"
PROBE_HTML = ('<!DOCTYPE html><title>Probe</title><link rel="icon" href="data:,">'
              "<script>document.title = 'ausgeführt'</script>\n")
PRECOMPRESSED_MARK = b"/* vorkomprimierte Fassung */\n"


@dataclass(frozen=True)
class Served:
    """A running server over a build: plain HTTP or (with a throwaway certificate) HTTPS."""

    out: Path
    port: int
    tls: bool = False
    redirect_port: int = 0
    """A plain-HTTP port that only redirects to HTTPS (0: none)."""

    @property
    def root_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/"

    def get(self, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
        """(status, headers with lower-case names, body) — without following redirects."""
        if self.tls:
            unverified = ssl.create_default_context()
            unverified.check_hostname = False
            unverified.verify_mode = ssl.CERT_NONE
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                "127.0.0.1", self.port, timeout=10, context=unverified)
        else:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()

    def file_url(self, pattern: str) -> str:
        """The site path of the first built file (by name) matching a glob pattern."""
        return "/" + min(self.out.glob(pattern)).relative_to(self.out).as_posix()


def require_nginx() -> None:
    require_tool(NGINX.is_file(), f"nginx fehlt ({NGINX}) – installieren: apt-get install nginx")


def require_apache() -> None:
    require_tool(APACHE.is_file() and MIME_TYPES.is_file(),
                 f"Apache fehlt ({APACHE}) – installieren: apt-get install apache2-bin")


@pytest.fixture(scope="module")
def shipped_build(shipped_site: Path) -> Iterator[Path]:
    """The shipped site, plus a CSP probe page and a precompressed stylesheet.

    A copy (modes kept) of the session's build, in a folder of its own below /tmp that everyone
    may read: Apache, started as root, serves files as the user nobody.
    """
    folder = Path(tempfile.mkdtemp(prefix="kpr-deploy-"))
    try:
        folder.chmod(0o755)
        out = folder / "build"
        shutil.copytree(shipped_site, out)
        (out / PROBE_PAGE).write_text(PROBE_HTML, encoding="utf-8")
        css = min(out.glob("static/site.*.css"))
        packed = gzip.compress(css.read_bytes() + PRECOMPRESSED_MARK, mtime=0)
        css.with_name(css.name + ".gz").write_bytes(packed)
        yield out
    finally:
        shutil.rmtree(folder)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway self-signed certificate and its key."""
    require_tool(shutil.which("openssl") is not None, "openssl fehlt – installieren: apt-get install openssl")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=30)
    return cert, key


def adjust(text: str, replacements: dict[str, str]) -> str:
    """The shipped file with the test's values for the settings marked ADJUST (each must be there)."""
    for pattern, value in replacements.items():
        text, count = re.subn(pattern, r"\g<1>" + value.replace("\\", r"\\"), text, flags=re.M)
        assert count, f"{pattern} fehlt in der ausgelieferten Konfiguration"
    return text


def start(command: list[str], port: int, log: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log_text = log.read_text(errors="replace") if log.is_file() else ""
            pytest.fail(f"{command[0]} endete mit Exit {process.returncode}:\n{log_text}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.terminate()
    pytest.fail(f"{command[0]} antwortet nicht auf Port {port}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=10)


# ---------- nginx ----------


def nginx_conf(work: Path, servers: str) -> Path:
    """A main configuration private to `work` around `servers`, with the shipped snippets."""
    conf = work / "conf"
    (work / "temp").mkdir()
    shutil.copytree(DEPLOY / "nginx" / "snippets", conf / "snippets")
    temp = "\n".join(f"    {kind}_temp_path {work / 'temp' / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    # As root, nginx would hand the requests to the user nobody, who may not read test folders.
    user = "user root;\n" if os.geteuid() == 0 else ""
    (conf / "nginx.conf").write_text(f"""\
{user}daemon off;
worker_processes 1;
pid {work / 'nginx.pid'};
events {{ worker_connections 64; }}
http {{
    include {NGINX_MIME_TYPES};
    default_type application/octet-stream;
    access_log off;
{temp}
{servers}
}}
""", encoding="utf-8")
    return conf / "nginx.conf"


def nginx_command(work: Path, conf: Path, *extra: str) -> list[str]:
    return [str(NGINX), *extra, "-p", str(work), "-c", str(conf), "-e", str(work / "error.log")]


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory, shipped_build: Path) -> Iterator[Served]:
    require_nginx()
    work = tmp_path_factory.mktemp("nginx")
    port = free_port()
    conf = nginx_conf(work, f"""\
    server {{
        listen 127.0.0.1:{port};
        root {shipped_build};
        include snippets/kpr-site.conf;
    }}""")
    process = start(nginx_command(work, conf), port, work / "error.log")
    try:
        yield Served(shipped_build, port)
    finally:
        stop(process)


def test_shipped_nginx_site_file_passes_nginx_t(tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    """Its two server blocks (HTTP redirect, HTTPS) around the snippets that are tested in operation."""
    require_nginx()
    cert, key = certificate
    site = adjust((DEPLOY / "nginx/kpr-site.conf").read_text(encoding="utf-8"), {
        r"^(\s*ssl_certificate\s+)[^\s;]+": str(cert),
        r"^(\s*ssl_certificate_key\s+)[^\s;]+": str(key),
        r"^(\s*root\s+)[^\s;]+": str(tmp_path),
    })
    (tmp_path / "kpr-site.conf").write_text(site, encoding="utf-8")
    conf = nginx_conf(tmp_path, f"    include {tmp_path / 'kpr-site.conf'};")
    done = subprocess.run(nginx_command(tmp_path, conf, "-t"), capture_output=True, text=True, timeout=30,
                          check=False)
    assert done.returncode == 0, done.stderr


# ---------- Apache ----------


@pytest.fixture(scope="module")
def apache(shipped_build: Path, certificate: tuple[Path, Path]) -> Iterator[Served]:
    require_apache()
    work = shipped_build.parent / "apache"  # readable for the user nobody, like the build
    work.mkdir(mode=0o755)
    https, http = free_port(), free_port()
    cert, key = certificate
    site = adjust((DEPLOY / "apache/kpr-site.conf").read_text(encoding="utf-8"), {
        r"^(<VirtualHost )\*:80": f"127.0.0.1:{http}",
        r"^(<VirtualHost )\*:443": f"127.0.0.1:{https}",
        r"^(\s*SSLCertificateFile\s+)\S+": str(cert),
        r"^(\s*SSLCertificateKeyFile\s+)\S+": str(key),
        r"^(\s*DocumentRoot\s+)\S+": str(shipped_build),
        r"^(\s*<Directory\s+)[^\s>]+": str(shipped_build),
    })
    (work / "kpr-site.conf").write_text(site, encoding="utf-8")
    modules = "\n".join(f"LoadModule {name}_module {APACHE_MODULES / f'mod_{name}.so'}"
                        for name in APACHE_MODULE_NAMES)
    (work / "apache2.conf").write_text(f"""\
ServerRoot {work}
ServerName localhost
{modules}
TypesConfig {MIME_TYPES}
User nobody
Group nogroup
DefaultRuntimeDir {work}
PidFile {work / 'apache2.pid'}
ErrorLog {work / 'error.log'}
Listen 127.0.0.1:{https}
Listen 127.0.0.1:{http}
Include {work / 'kpr-site.conf'}
""", encoding="utf-8")
    command = [str(APACHE), "-DFOREGROUND", "-f", str(work / "apache2.conf")]
    process = start(command, https, work / "error.log")
    try:
        yield Served(shipped_build, https, tls=True, redirect_port=http)
    finally:
        stop(process)


@pytest.fixture(params=SERVERS)
def server(request: pytest.FixtureRequest) -> Served:
    served: Served = request.getfixturevalue(request.param)
    return served


# ---------- headers, on both servers ----------


def kinds_of_file(served: Served) -> dict[str, str]:
    return {
        "HTML": "/",
        "HTML (Unterseite)": "/presse/",
        "Feed": "/presse/feed.xml",
        "CSS": served.file_url("static/site.*.css"),
        "JavaScript": served.file_url("static/lightbox.*.js"),
        "SVG": served.file_url("static/logo.*.svg"),
        "Bild": served.file_url("bilder/*-320.webp"),
        "404": "/gibt-es-nicht/",
    }


def test_server_sends_the_security_headers_with_every_kind_of_file(server: Served) -> None:
    expected: dict[str, str | None] = {
        "content-security-policy": CONTENT_SECURITY_POLICY, "x-content-type-options": "nosniff",
        "referrer-policy": "same-origin", "strict-transport-security": None}
    wrong = {}
    for kind, path in kinds_of_file(server).items():
        _, headers, _ = server.get(path)
        found = {name: headers.get(name) for name in expected}
        permissions = headers.get("permissions-policy", "")
        if found != expected or not set(permissions.split(", ")) >= DENIED_FEATURES:
            wrong[kind] = {**found, "permissions-policy": permissions}
    assert wrong == {}


def test_server_caches_fingerprinted_files_for_a_year_and_has_browsers_revalidate_the_rest(
    server: Served,
) -> None:
    found = {kind: server.get(path)[1].get("cache-control") for kind, path in kinds_of_file(server).items()}
    assert found == {"HTML": REVALIDATE, "HTML (Unterseite)": REVALIDATE, "Feed": REVALIDATE, "CSS": YEAR,
                     "JavaScript": YEAR, "SVG": YEAR, "Bild": YEAR, "404": REVALIDATE}


def test_server_names_type_and_charset_of_each_kind_of_file(server: Served) -> None:
    found = {kind: server.get(path)[:2] for kind, path in kinds_of_file(server).items()}
    types = {kind: (status, headers.get("content-type", "")) for kind, (status, headers) in found.items()}
    assert {kind: types[kind] for kind in ("HTML", "HTML (Unterseite)", "CSS", "Bild", "404")} == {
        "HTML": (200, "text/html; charset=utf-8"),
        "HTML (Unterseite)": (200, "text/html; charset=utf-8"),
        "CSS": (200, "text/css; charset=utf-8"),
        "Bild": (200, "image/webp"),
        "404": (404, "text/html; charset=utf-8"),
    }
    # The system's table names these types (text/xml or application/xml …); the charset is ours.
    assert all(types[kind][1].endswith("; charset=utf-8") for kind in ("Feed", "JavaScript", "SVG"))


def test_server_answers_a_missing_address_with_the_sites_404_page(server: Served) -> None:
    for path in ("/gibt-es-nicht/", "/static/gibt-es-nicht.css", "/bilder/gibt-es-nicht.webp"):
        status, headers, body = server.get(path)
        assert status == 404, path
        assert body == (server.out / "404.html").read_bytes(), path
        assert headers.get("cache-control") == REVALIDATE, path


def test_server_sends_the_precompressed_sibling_to_browsers_that_accept_gzip(server: Served) -> None:
    path = server.file_url("static/site.*.css")
    plain = (server.out / path.lstrip("/")).read_bytes()
    _, headers, body = server.get(path, **{"Accept-Encoding": "gzip"})
    assert headers.get("content-encoding") == "gzip"
    assert headers.get("content-type") == "text/css; charset=utf-8"
    assert gzip.decompress(body) == plain + PRECOMPRESSED_MARK
    assert headers.get("cache-control") == YEAR
    assert "Accept-Encoding" in headers.get("vary", "")
    _, headers, body = server.get(path)
    assert "content-encoding" not in headers and body == plain


def test_server_redirects_a_folder_without_slash(server: Served) -> None:
    status, headers, _ = server.get("/presse")
    assert status == 301
    assert urljoin(server.root_url + "presse", headers["location"]) == server.root_url + "presse/"


def test_nginx_compresses_pages_without_a_precompressed_sibling(nginx: Served) -> None:
    _, headers, body = nginx.get("/presse/", **{"Accept-Encoding": "gzip"})
    assert headers.get("content-encoding") == "gzip"
    assert gzip.decompress(body) == (nginx.out / "presse/index.html").read_bytes()


def test_apache_redirects_plain_http_to_https(apache: Served) -> None:
    status, headers, _ = Served(apache.out, apache.redirect_port).get("/presse/")
    assert (status, headers.get("location")) == (301, "https://praeventionsrat.landkreis-rostock.de/presse/")


def test_everything_cached_for_a_year_has_a_fingerprint_in_its_name(shipped_build: Path) -> None:
    """The year-long caching of /static/ and /bilder/ is only safe while new content means a new name."""
    fingerprinted = re.compile(r"static/[\w.-]+\.[0-9a-f]{10}\.\w+(\.gz)?|bilder/[0-9a-f]{16}-\d+\.\w+")
    files = [f.relative_to(shipped_build).as_posix() for folder in ("static", "bilder")
             for f in (shipped_build / folder).rglob("*") if f.is_file()]
    assert files and [name for name in files if not fingerprinted.fullmatch(name)] == []


def test_every_built_file_is_readable_for_the_web_server(shipped_build: Path) -> None:
    """The web server's user (www-data, nobody) is not the one who built; GitHub's Pages artifact
    needs the same."""
    private = [f.relative_to(shipped_build).as_posix() for f in shipped_build.rglob("*")
               if f.stat().st_mode & 0o444 != 0o444]
    assert private == []


# ---------- every page in Chromium under nginx's headers ----------


@pytest.mark.browser
def test_every_page_loads_under_the_shipped_headers_without_a_policy_violation(nginx: Served) -> None:
    require_tool(CHROMIUM.is_file(), f"Chromium fehlt ({CHROMIUM}) – installieren: apt-get install chromium")
    require_tool(importlib.util.find_spec("playwright") is not None,
                 "Python-Paket playwright fehlt – installieren: pip install -e '.[test]'")
    problems = load_pages(nginx.root_url, html_paths(nginx.out))
    probe = [p for p in problems if p.startswith(f"/{PROBE_PAGE}:")]
    assert probe, "Die Probe mit Inline-Skript wurde nicht blockiert – wirkt die CSP überhaupt?"
    assert [p for p in problems if p not in probe] == []

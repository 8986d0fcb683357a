"""Print the address the Pages pipelines build the site for.

    python .ci/base_url.py PAGES_URL

PAGES_URL is the address GitHub or GitLab Pages assigns to the project (the `base_url` output of
actions/configure-pages, GitLab's CI_PAGES_URL), e.g. https://owner.github.io/kpr-site. It is the
answer unless content/site.yaml says `custom_domain: true`: then the site has its own domain and
site.yaml's base_url is the answer. Without PAGES_URL (Pages not set up) it is site.yaml's base_url
too. A site.yaml with errors gives PAGES_URL; the build that follows reports the errors with file
and line. Run it from the site's folder, with kpr-site installed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from kpr_site.config import load_config


def pages_base_url(root: Path, pages_url: str) -> str:
    """The base URL to pass to `kpr-site build --base-url` for the site in `root`."""
    config, _, _ = load_config(root)
    if config is not None and (config.custom_domain or not pages_url):
        return config.base_url
    return pages_url


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("Aufruf: python .ci/base_url.py PAGES_URL", file=sys.stderr)
        return 2
    print(pages_base_url(Path.cwd(), argv[0].strip()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

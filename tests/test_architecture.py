"""The shape of the house (../shared/STYLE.md), kept true by walking the ast of every module.

Imports point down. A module may import only from layers below its own; a new module must be
given a layer here, which is the moment to think about where it belongs.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "kpr_site"

# Lowest first. One line per layer: what it is, and its modules.
LAYERS: list[tuple[str, set[str]]] = [
    ("the package itself: its version", {"__init__"}),
    ("foundations: the error type, German language, the content model, plain-file helpers, "
     "what marks a text as unfinished, reproducible gzip, colour contrast",
     {"errors", "german", "model", "cache", "placeholders", "compress", "colours"}),
    ("build options and the build date", {"options"}),
    ("the one walk of the site's folders (content/, templates/, gallery/), vetting each entry",
     {"inputs"}),
    ("what the last build read and wrote (a sealed file in the cache)", {"manifest"}),
    ("spreading work over the cores (worker pools)", {"parallel"}),
    ("the site's URLs: paths by content type, the one join with the base, what leaves the site",
     {"urls"}),
    ("one library or one concern each: YAML, Markdown, atomic output, Pillow, Pagefind",
     {"frontmatter", "markup", "output", "images", "search"}),
    ("the preview's HTTP server (standard library only)", {"devserver"}),
    ("on top of a parser: field validation, link resolution, the page plan, feeds",
     {"fields", "links", "pages", "feeds", "ical"}),
    ("site configuration, photo albums (gallery/), the Jinja renderer, what every content "
     "type shares", {"config", "gallery", "render", "schema"}),
    ("the council's own content types: events, working groups, funding, documents",
     {"events", "groups", "funding", "documents"}),
    ("loading content/ into the model", {"load"}),
    ("the browser CMS's configuration, from the content schema", {"cms"}),
    ("converting Markdown bodies", {"bodies"}),
    ("what `serve` keeps between runs", {"memory"}),
    ("the stages of every run: load, convert, plan, images", {"stages"}),
    ("the recipe and its sinks", {"build"}),
    ("the editor's commands", {"serve", "scaffold", "check"}),
    ("the command line: the only module that prints or exits", {"cli"}),
    ("python -m kpr_site", {"__main__"}),
]
LAYER = {module: index for index, (_, modules) in enumerate(LAYERS) for module in modules}

# Each third-party library lives in one room.
ROOMS = {
    "yaml": {"frontmatter"},
    "markdown": {"markup"},
    "jinja2": {"render"},
    "markupsafe": {"render"},
    "PIL": {"images"},
    "watchdog": {"serve"},
    "pagefind_bin": {"search"},
}

MODULES = sorted(path.stem for path in PACKAGE.glob("*.py"))


@cache
def tree(module: str) -> ast.Module:
    return ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"), f"{module}.py")


def imports(module: str) -> list[tuple[str, int]]:
    """(imported top-level name, line) for every import anywhere in the module, including
    those inside functions and under TYPE_CHECKING."""
    found = []
    for node in ast.walk(tree(module)):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "kpr_site":  # from kpr_site import german / __version__
                found += [(f"kpr_site.{alias.name}", node.lineno) for alias in node.names]
            else:
                found.append((node.module, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            found += [(f"kpr_site.{node.module or alias.name}", node.lineno) for alias in node.names]
    return found


def package_imports(module: str) -> list[tuple[str, int]]:
    result = []
    for name, line in imports(module):
        if name.startswith("kpr_site."):
            target = name.split(".")[1]
            result.append((target if target in MODULES else "__init__", line))
    return result


def test_every_module_has_a_layer():
    assert sorted(set(MODULES) - set(LAYER)) == [], "add the new module to LAYERS"


def test_layers_name_only_modules_that_exist_or_are_planned():
    planned = {"images", "gallery", "serve", "scaffold", "check"}
    assert set(LAYER) - set(MODULES) <= planned


@pytest.mark.parametrize("module", MODULES)
def test_imports_point_down(module):
    upward = [f"{module}.py:{line} imports {target} (layer {LAYER.get(target)} ≥ {LAYER[module]})"
              for target, line in package_imports(module)
              if target != module and LAYER.get(target, 99) >= LAYER[module]]
    assert upward == []


@pytest.mark.parametrize("library", sorted(ROOMS))
def test_third_party_library_lives_in_one_room(library):
    users = sorted({module for module in MODULES
                    for name, _ in imports(module) if name.split(".")[0] == library})
    assert set(users) <= ROOMS[library], f"{library} imported by {users}"


def calls(module: str) -> list[tuple[str, int]]:
    """Dotted names of every call in the module: print, sys.exit, os._exit …"""
    found = []
    for node in ast.walk(tree(module)):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name):
                found.append((node.func.id, node.lineno))
            elif isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
                found.append((f"{node.func.value.id}.{node.func.attr}", node.lineno))
    return found


def test_only_the_cli_prints_or_exits():
    """Errors are values, shown once by the command line. __main__ only hands cli.main's exit
    code to the interpreter."""
    allowed = {"cli", "__main__"}
    offenders = [f"{module}.py:{line}: {name}()"
                 for module in MODULES if module not in allowed
                 for name, line in calls(module)
                 if name in ("print", "sys.exit", "exit", "quit")]
    assert offenders == []
    main_calls = [name for name, _ in calls("__main__") if name in ("print", "sys.exit")]
    assert main_calls in ([], ["sys.exit"])


def test_no_module_imports_the_cli():
    assert [m for m in MODULES if m not in ("cli", "__main__")
            and "cli" in {t for t, _ in package_imports(m)}] == []


def test_yaml_is_always_loaded_safely():
    unsafe = [f"{module}.py:{line}: {name}" for module in MODULES for name, line in calls(module)
              if name in ("yaml.load", "yaml.unsafe_load", "yaml.full_load", "yaml.load_all")]
    assert unsafe == []


def test_jinja_environment_escapes_and_is_strict():
    source = (PACKAGE / "render.py").read_text()
    assert "autoescape=" in source
    assert "StrictUndefined" in source

"""The app layout of docs/DESIGN.md, checked on the source: who may import whom.

Every module of our app packages is parsed with `ast` (never imported), and
each offence is reported on its own line as `path:line …`:

- an import of one of our apps that the dependency table does not allow;
- a function-local import of one of our apps (the way to dodge an import
  cycle), except in management commands, in the composition root (`worker`),
  in `AppConfig.ready()` and under `if TYPE_CHECKING:`;
- a module over MAX_LINES lines.

Static imports count, and so do dynamic ones spelled with a literal dotted path
(`importlib.import_module("comms.x")`, `import_string(...)`, `__import__`).
"""

import ast
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parents[2]

# An app may import only the apps listed (and itself). Lowest first.
ALLOWED_IMPORTS = {
    "project": set(),
    "people": {"project"},
    "delivery": {"project"},
    "rotations": {"project", "people"},
    "incidents": {"project", "people", "rotations", "delivery"},
    "comms": {"project", "people", "incidents", "delivery"},
    "releases": {"project", "people", "rotations", "incidents", "delivery", "comms"},
    "reviews": {"project", "people", "rotations", "incidents", "delivery", "comms", "releases"},
    # The composition root: the background worker's ticker and tasks.
    "worker": {"project", "people", "rotations", "incidents", "delivery", "comms", "releases", "reviews"},
}
OUR_APPS = set(ALLOWED_IMPORTS)

# Where a function-local import of our apps is fine.
LOCAL_IMPORTS_ALLOWED_APPS = {"worker"}
LOCAL_IMPORTS_ALLOWED_GLOBS = ("*/management/commands/*.py",)
# (module glob, function): AppConfig.ready() is where Django wants an app's
# own wiring imported, after the app registry is ready — not a cycle dodge.
LOCAL_IMPORTS_ALLOWED_FUNCTIONS = {("*/apps.py", "ready")}

SKIPPED_DIRS = {"migrations", "tests", "benchmarks", "__pycache__"}
MAX_LINES = 600

DYNAMIC_IMPORTERS = {"import_module", "import_string", "__import__"}


@dataclass(frozen=True)
class Offence:
    path: str
    line: int
    text: str

    def __str__(self):
        return f"{self.path}:{self.line} {self.text}"


def allowed_text(app):
    allowed = sorted(ALLOWED_IMPORTS[app])
    return ", ".join(allowed) if allowed else "nothing of ours"


def module_package(path):
    """The dotted package a module's relative imports start from."""
    # a/b/c.py and a/b/__init__.py both start from a.b
    return list(PurePosixPath(path).parts[:-1])


def resolve(node, path):
    """The absolute dotted modules an import statement names."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level == 0:
        return [node.module] if node.module else []
    package = module_package(path)
    # `from . import x` in a/b/c.py is a.b; each further dot climbs one package.
    base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
    if not base:
        return []  # climbs above the app packages: not ours
    if node.module:
        return [".".join([*base, node.module])]
    return [".".join([*base, alias.name]) for alias in node.names]


def dynamic_import_target(node):
    """`import_module("comms.x")` and friends with a literal path: the path, else None."""
    if not isinstance(node, ast.Call) or not node.args:
        return None
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    first = node.args[0]
    if name in DYNAMIC_IMPORTERS and isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value
    return None


def is_type_checking(test):
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def found_imports(tree, path):
    """(line, module, outermost function or None, under_type_checking) for every import of the module."""
    found = []

    def visit(node, function, type_checking):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for module in resolve(node, path):
                found.append((node.lineno, module, function, type_checking))
        target = dynamic_import_target(node)
        if target:
            found.append((node.lineno, target, function, type_checking))
        if isinstance(node, ast.If) and is_type_checking(node.test):
            visit(node.test, function, type_checking)
            for child in node.body:
                visit(child, function, True)
            for child in node.orelse:
                visit(child, function, type_checking)
            return
        if function is None and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function = node.name
        elif function is None and isinstance(node, ast.Lambda):
            function = "<lambda>"
        for child in ast.iter_child_nodes(node):
            visit(child, function, type_checking)

    visit(tree, None, False)
    return found


def check_source(source, path):
    """Every offence in one module's source; `path` is relative to the project root, with `/`."""
    app = PurePosixPath(path).parts[0]
    offences = []
    lines = len(source.splitlines())
    if lines > MAX_LINES:
        offences.append(Offence(path, 1, f"has {lines} lines (at most {MAX_LINES})"))
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as error:
        offences.append(Offence(path, error.lineno or 1, f"does not parse: {error.msg}"))
        return offences
    local_ok = app in LOCAL_IMPORTS_ALLOWED_APPS or any(
        PurePosixPath(path).match(glob) for glob in LOCAL_IMPORTS_ALLOWED_GLOBS
    )
    local_ok_functions = {name for glob, name in LOCAL_IMPORTS_ALLOWED_FUNCTIONS if PurePosixPath(path).match(glob)}
    for line, module, function, type_checking in found_imports(tree, path):
        imported = module.split(".")[0]
        if imported not in OUR_APPS:
            continue
        if imported != app and imported not in ALLOWED_IMPORTS[app]:
            offences.append(Offence(path, line, f"imports {module} (allowed: {allowed_text(app)})"))
        if function and not (type_checking or local_ok or function in local_ok_functions):
            offences.append(Offence(path, line, f"imports {module} inside {function}() (function-local import)"))
    return offences


def project_modules():
    for app in sorted(OUR_APPS):
        package = ROOT / app
        if not (package / "__init__.py").is_file():
            continue
        for file in sorted(package.rglob("*.py")):
            relative = file.relative_to(ROOT)
            if SKIPPED_DIRS.intersection(relative.parts[:-1]):
                continue
            yield relative.as_posix(), file


def all_offences():
    offences = []
    for path, file in project_modules():
        try:
            source = file.read_text(encoding="utf-8")
        except FileNotFoundError:  # moved away while we walked
            continue
        offences.extend(check_source(source, path))
    return offences


def fail_with(title, offences):
    if offences:
        listing = "\n".join(str(o) for o in sorted(offences, key=lambda o: (o.path, o.line, o.text)))
        pytest.fail(f"{len(offences)} {title}:\n{listing}", pytrace=False)


@pytest.fixture(scope="module")
def offences():
    found = all_offences()
    assert any(True for _ in project_modules()), f"no app package found under {ROOT}"
    return found


def test_apps_import_only_the_apps_below_them(offences):
    fail_with(
        "imports against the dependency table (docs/DESIGN.md)",
        [o for o in offences if o.text.startswith("imports") and "(allowed:" in o.text],
    )


def test_no_function_local_import_of_our_apps(offences):
    fail_with(
        "function-local imports of our apps (compose in the worker instead)",
        [o for o in offences if "function-local" in o.text],
    )


def test_no_module_over_600_lines(offences):
    fail_with(f"modules over {MAX_LINES} lines", [o for o in offences if o.text.startswith("has ")])


def test_every_module_parses(offences):
    fail_with("modules that do not parse", [o for o in offences if o.text.startswith("does not parse")])


SYNTHETIC = """
from typing import TYPE_CHECKING

import django.db
from project.text import x
from people.models import Profile
from releases.gate import decide
from . import models
from .oncall import who

if TYPE_CHECKING:
    from incidents.models import Incident


def page(incident):
    from incidents import lifecycle
    import importlib

    return importlib.import_module("comms.notify")
"""


def test_checker_reports_forbidden_imports_of_a_synthetic_module():
    found = [str(o) for o in check_source(SYNTHETIC, "rotations/api/views.py")]
    assert found == [
        "rotations/api/views.py:7 imports releases.gate (allowed: people, project)",
        "rotations/api/views.py:12 imports incidents.models (allowed: people, project)",
        "rotations/api/views.py:16 imports incidents (allowed: people, project)",
        "rotations/api/views.py:16 imports incidents inside page() (function-local import)",
        "rotations/api/views.py:19 imports comms.notify (allowed: people, project)",
        "rotations/api/views.py:19 imports comms.notify inside page() (function-local import)",
    ]


def test_checker_resolves_relative_imports_to_their_package():
    tree = ast.parse("from . import models\nfrom .. import tasks\nfrom ..oncall import who\n")
    modules = [module for _, module, _, _ in found_imports(tree, "rotations/api/views.py")]
    assert modules == ["rotations.api.models", "rotations.tasks", "rotations.oncall"]


def test_checker_allows_local_imports_in_commands_worker_and_ready_and_flags_long_modules():
    local = "def handle():\n    from releases import gate\n"
    assert check_source(local, "project/management/commands/worker.py") == [
        Offence("project/management/commands/worker.py", 2, "imports releases (allowed: nothing of ours)")
    ]
    assert check_source(local, "worker/ticker.py") == []
    ready = "class Config:\n    def ready(self):\n        from project import roles\n"
    assert check_source(ready, "project/apps.py") == []
    assert [o.text for o in check_source("x = 1\n" * 601, "people/models.py")] == ["has 601 lines (at most 600)"]


TRANSLATORS = {"_", "gettext", "gettext_lazy", "ngettext", "pgettext", "gettext_noop"}


def translations_inside_f_strings(source):
    """Lines where a translation call sits inside an f-string: makemessages (xgettext) never sees it."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.JoinedStr):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Call) and getattr(inner.func, "id", None) in TRANSLATORS:
                    found.append(inner.lineno)
    return found


def test_every_translated_string_can_be_extracted():
    lines = []
    for path, file in project_modules():
        lines += [f"{path}:{line}" for line in translations_inside_f_strings(file.read_text(encoding="utf-8"))]
    assert not lines, "translated inside an f-string (move the string out of it): " + ", ".join(lines)
    assert translations_inside_f_strings("f\"<Say>{escape(_('Goodbye.'))}</Say>\"") == [1]

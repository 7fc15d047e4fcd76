"""The type stubs (mpy/wip/*.pyi) name every public attribute the modules define, and no more.

Read with `ast`, so MicroPython-only code (viper, const) needs no importing:
* a module's public names: top-level def/class/assignments without a leading underscore
  (not those in try/except blocks: platform fallbacks such as `const` or `ticks_ms` on
  CPython), re-exports (`from .x import A as A`), and the names a module
  `__getattr__` serves from its `_LAZY` table (see `wip.modem._lookup`);
* a public class's public members: its methods and class attributes, plus the methods its
  `__getattr__` serves from the class's `_ELSEWHERE` table, which the stub class must
  declare; the stub may add instance attributes the class assigns as `self.<name>`.
"""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WIP_DIR = ROOT / "mpy" / "wip"
# Internal layers with no user-facing API (design.md): the line parser and the viper twin.
INTERNAL = {"parser", "_codec_viper"}


def needs_stub(stem):
    """Public modules must have a stub; a private one (`_setup`) is checked if it has one."""
    if stem in INTERNAL:
        return False
    return not stem.startswith("_") or stem == "__init__" or (WIP_DIR / f"{stem}.pyi").exists()


MODULES = sorted(p.stem for p in WIP_DIR.glob("*.py") if needs_stub(p.stem))


def public(name):
    return not name.startswith("_")


def assigned_names(node):
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    for target in targets:
        for sub in ast.walk(target):
            if isinstance(sub, ast.Name):
                yield sub.id


def top_level(tree, with_imports):
    """{name: ClassDef or None} for the public top-level names of a module or stub."""
    names = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names[node.name] = None
        elif isinstance(node, ast.ClassDef):
            names[node.name] = node
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            names.update(dict.fromkeys(assigned_names(node)))
        elif with_imports and isinstance(node, ast.ImportFrom):
            # In a stub only `from m import x as x` re-exports (PEP 484); other imports are
            # for the annotations.
            names.update((a.asname, None) for a in node.names if a.asname == a.name)
        # Names bound inside try/except are platform fallbacks (const, ticks_ms on CPython).
    return {name: node for name, node in names.items() if public(name)}


def table_names(body, table):
    """The names a lazy table (`_LAZY`, `_ELSEWHERE`: " name=module ...") assigned in body
    lists."""
    for node in body:
        if isinstance(node, ast.Assign) and table in assigned_names(node):
            return set(re.findall(r" (\w+)=", ast.literal_eval(node.value)))
    return set()


def class_members(cls):
    """Public methods and class attributes in a class body, and the methods it serves
    through __getattr__."""
    members = table_names(cls.body, "_ELSEWHERE")
    for node in cls.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            members.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            members.update(assigned_names(node))
    return {m for m in members if public(m)}


def instance_attributes(cls):
    """Names the class's methods assign as self.<name>."""
    names = set()
    for node in ast.walk(cls):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and \
                isinstance(node.value, ast.Name) and node.value.id == "self":
            names.add(node.attr)
    return {n for n in names if public(n)}


def module_api(name):
    """{public name: ClassDef or None} that module `name` defines (or exports)."""
    tree = ast.parse((WIP_DIR / f"{name}.py").read_text())
    api = top_level(tree, with_imports=True)
    api.update(dict.fromkeys(table_names(tree.body, "_LAZY")))
    return api


def stub_api(name):
    path = WIP_DIR / f"{name}.pyi"
    if not path.is_file():
        pytest.fail(f"mpy/wip/{name}.pyi is missing")
    return top_level(ast.parse(path.read_text()), with_imports=True)


@pytest.mark.parametrize("name", MODULES)
def test_stub_names_every_public_name_and_nothing_else(name):
    api = module_api(name)
    stub = stub_api(name)
    assert sorted(set(api) - set(stub)) == [], f"{name}.pyi lacks these public names"
    assert sorted(set(stub) - set(api)) == [], f"{name}.pyi names what {name}.py lacks"


@pytest.mark.parametrize("name", [m for m in MODULES if m != "__init__"])
def test_stub_classes_declare_every_public_member(name):
    api = module_api(name)
    stub = stub_api(name)
    for cls_name, cls in api.items():
        if cls is None:
            continue
        stub_cls = stub.get(cls_name)
        assert isinstance(stub_cls, ast.ClassDef), f"{name}.pyi: {cls_name} is not a class"
        declared = class_members(stub_cls)
        assert sorted(class_members(cls) - declared) == [], f"{name}.pyi: {cls_name} lacks"
        allowed = class_members(cls) | instance_attributes(cls) | inherited(cls, api)
        assert sorted(declared - allowed) == [], f"{name}.pyi: {cls_name} invents"


def inherited(cls, api):
    """Public members of base classes defined in the same module (e.g. a Response base)."""
    members = set()
    for base in cls.bases:
        if isinstance(base, ast.Name) and isinstance(api.get(base.id), ast.ClassDef):
            members |= class_members(api[base.id]) | instance_attributes(api[base.id])
    if any(isinstance(b, ast.Name) and b.id in ("OSError", "Exception") for b in cls.bases):
        members |= {"args", "errno"}
    return members


def test_every_stub_belongs_to_a_module():
    stubs = {p.stem for p in WIP_DIR.glob("*.pyi")}
    assert sorted(stubs - set(MODULES)) == []


def parameters(fn):
    """(parameter names in order, takes *args or **kwargs)."""
    a = fn.args
    return [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs], bool(a.vararg or a.kwarg)


def functions(body):
    return {n.name: n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


@pytest.mark.parametrize("name", MODULES)
def test_stub_parameters_match_the_code(name):
    """Editors show the stub's parameter names: they must be the real ones (a function that
    forwards *args/**kwargs is documented by its stub alone)."""
    code = ast.parse((WIP_DIR / f"{name}.py").read_text())
    stub = ast.parse((WIP_DIR / f"{name}.pyi").read_text())
    pairs = [("", functions(code.body), functions(stub.body))]
    stub_classes = {n.name: n for n in stub.body if isinstance(n, ast.ClassDef)}
    for cls in code.body:
        if isinstance(cls, ast.ClassDef) and cls.name in stub_classes:
            pairs.append((cls.name + ".", functions(cls.body),
                          functions(stub_classes[cls.name].body)))
    wrong = []
    for prefix, real, declared in pairs:
        for fn_name, fn in real.items():
            if fn_name not in declared or (fn_name.startswith("_") and fn_name != "__init__"):
                continue
            names, forwards = parameters(fn)
            if not forwards and names != parameters(declared[fn_name])[0]:
                wrong.append(f"{prefix}{fn_name}{tuple(names)}")
    assert wrong == [], f"{name}.pyi has other parameter names for these"

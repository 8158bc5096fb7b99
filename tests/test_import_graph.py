"""A public surface that says what is public: no module of synthclf imports another module's private name (`_name`), neither
`from .x import _y` nor `x._y` on a module it imported, and the package re-exports nothing that only the tests use.

`python tests/test_import_graph.py` prints who imports whom (a Mermaid graph) and the private names still crossing."""
import ast, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT/'synthclf'


def _private(name: str) -> bool: return name.startswith('_') and not (name.startswith('__') and name.endswith('__'))


def _module_of(node: ast.ImportFrom, modules: set) -> str | None:
    "The synthclf module an `ImportFrom` reads from (None: another package, or `from . import x` of modules)."
    if node.level == 1: base = node.module or ''
    elif (node.module or '') == 'synthclf' or (node.module or '').startswith('synthclf.'): base = node.module.removeprefix('synthclf').lstrip('.')
    else: return None
    return base.split('.')[0] if base.split('.')[0] in modules else None


def private_uses(py: Path, modules: set) -> list[str]:
    """The other modules' private names `py` uses, as `module._name`: imported by name (`from .x import _y`,
    `from synthclf.x import _y`) or read off a module (`x._y` after `from . import x`, `import synthclf.x as x`, and
    `synthclf.x._y`)."""
    tree, me, found, aliases = ast.parse(py.read_text(), str(py)), py.stem, [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            m = _module_of(node, modules)
            if m and m != me: found += [f"{m}.{a.name}" for a in node.names if _private(a.name)]
            if node.level == 1 and not node.module or node.module == 'synthclf':  # from . import layout
                aliases |= {(a.asname or a.name): a.name for a in node.names if a.name in modules}
        elif isinstance(node, ast.Import):
            for a in node.names:
                parts = a.name.split('.')
                if parts[0] == 'synthclf' and len(parts) > 1 and parts[1] in modules and a.asname: aliases[a.asname] = parts[1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            v = node.value
            if isinstance(v, ast.Name) and v.id in aliases and aliases[v.id] != me: found.append(f"{aliases[v.id]}.{node.attr}")
            elif (isinstance(v, ast.Attribute) and isinstance(v.value, ast.Name) and v.value.id == 'synthclf'
                  and v.attr in modules and v.attr != me): found.append(f"{v.attr}.{node.attr}")
    return sorted(set(found))


def modules(pkg: Path = PKG) -> set:
    "The package's modules, from their files (`__init__` and nbdev's `_modidx` aside)."
    return {p.stem for p in pkg.glob('*.py') if p.stem not in ('__init__', '_modidx')}


def private_imports(pkg: Path = PKG) -> dict:
    "`{module: the other modules' private names it uses}`, for each module that uses any."
    mods = modules(pkg)
    return {m: got for m in sorted(mods) if (got := private_uses(pkg/f'{m}.py', mods))}


def graph(pkg: Path = PKG) -> dict:
    "`{module: the synthclf modules it imports}` (every import, at the top or in a function)."
    from test_imports import imported_modules
    mods = modules(pkg)
    return {m: sorted(imported_modules(pkg/f'{m}.py', mods)) for m in sorted(mods)}


def mermaid(g: dict) -> str:
    return '\n'.join(['graph BT'] + [f"  {m} --> {d}" for m in g for d in g[m]])


def test_the_checker_finds_each_kind_of_private_use(tmp_path):
    (tmp_path/'a.py').write_text("_x = 1\ndef _f(): pass\n")
    (tmp_path/'b.py').write_text("from .a import _x, public\nfrom . import a\nimport synthclf.a as aa\nimport synthclf\n"
                                 "def g(): return a._f(), aa._g, synthclf.a._h, a.public, a.__name__\n")
    (tmp_path/'c.py').write_text("from synthclf.a import _y\nfrom .c import _own\nfrom os import _exit\n")
    assert private_imports(tmp_path) == {'b': ['a._f', 'a._g', 'a._h', 'a._x'], 'c': ['a._y']}, private_imports(tmp_path)


def test_no_module_imports_another_modules_private_name():
    found = private_imports()
    assert not found, ("private names used across modules: make them public (rename in the notebook) or move them where "
                       f"they are used: {found}")


if __name__ == '__main__':
    sys.path.insert(0, str(Path(__file__).parent))
    g = graph()
    print(mermaid(g)); print()
    for m, names in private_imports().items(): print(f"{m}: {', '.join(names)}")

"""Script file names that would shadow a module the script imports, and a safe suggestion.

Python puts a script's own folder first on `sys.path`, so `keras.py` that runs
`import keras` imports itself and fails. `specc emit -o NAME.py` refuses such a name.
"""

from __future__ import annotations

import ast
from pathlib import Path

# Every framework a target imports: a script named after one shadows it for the
# frameworks that import each other (Keras 3 imports TensorFlow, and the reverse).
FRAMEWORKS = frozenset({"torch", "keras", "tensorflow", "mindspore", "numpy"})


def imported_modules(script: str) -> frozenset[str]:
    """The top-level modules `script` imports (`urllib` for `import urllib.request`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(script)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return frozenset(found)


def shadowed(path: Path, script: str) -> str | None:
    """The module a script saved as `path` would shadow, or None when the name is safe."""
    stem = path.name.removesuffix(".py")
    return stem if stem in FRAMEWORKS | imported_modules(script) else None


def suggested(model: str, target: str, script: str) -> str:
    """A file name for the script that shadows nothing: `<model>_<target>.py`."""
    name = f"{model}_{target}"
    while shadowed(Path(name + ".py"), script):
        name += "_train"
    return name + ".py"

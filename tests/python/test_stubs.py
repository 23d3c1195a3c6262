"""The .pyi stubs name exactly what the module has; help() shows useful documentation."""

import ast
import inspect
import os
import pydoc

import drover

STUB = os.path.join(os.path.dirname(drover.__file__), "drover.pyi")
ALIASES = {"Duration", "OnProgress", "OnTaskStarted", "OnTaskFinished", "OnExecutorEvent"}


def stub_tree():
    with open(STUB) as f:
        return ast.parse(f.read())


def stub_names(body):
    names = set()
    for node in body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets)
    return {n for n in names if not n.startswith("_") or n == "__version__"}


def test_module_level_names_match():
    module = {n for n in dir(drover) if not n.startswith("_")} | {"__version__"}
    assert stub_names(stub_tree().body) - ALIASES == module


def test_class_members_match():
    for node in stub_tree().body:
        if not isinstance(node, ast.ClassDef):
            continue
        cls = getattr(drover, node.name)
        if issubclass(cls, BaseException):
            continue  # attributes are set on instances
        own = {n for n in vars(cls) if not n.startswith("_")}
        assert stub_names(node.body) == own, node.name


def test_help_is_useful():
    text = pydoc.render_doc(drover.Scheduler, renderer=pydoc.plaintext)
    assert "idle slot takes the next ready task" in text
    assert "on_task_finished" in text and "KeyboardInterrupt" in text
    assert "progress" in inspect.getdoc(drover.Scheduler.run)
    assert "partition" in pydoc.render_doc(drover.FileSink, renderer=pydoc.plaintext)
    assert drover.__doc__ and "read_output" in drover.__doc__

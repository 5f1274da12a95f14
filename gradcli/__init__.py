"""gradcli: values and gradients of expressions and small programs, node by node.

The Python API:

    >>> import gradcli
    >>> result = gradcli.evaluate("(a+b)*(b+1)", {"a": 2, "b": 1})
    >>> result.value, result.gradient
    (6.0, {'a': 2.0, 'b': 5.0})
"""

__version__ = "0.1.0"

__all__ = ["Evaluation", "GradcliError", "evaluate", "parse", "__version__"]

# The API loads on first use (PEP 562), so that importing a submodule, such as
# the pytest plugin in every pytest run, does not load the engine with it.
_API = {"Evaluation": "evaluation", "evaluate": "evaluation", "parse": "parser", "GradcliError": "errors"}


def __getattr__(name: str):
    if name in _API:
        import importlib

        return getattr(importlib.import_module(f".{_API[name]}", __name__), name)
    raise AttributeError(f"module 'gradcli' has no attribute {name!r}")

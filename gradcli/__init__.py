"""gradcli: values and gradients of expressions and small programs, node by node.

The Python API:

    >>> import gradcli
    >>> result = gradcli.evaluate("(a+b)*(b+1)", {"a": 2, "b": 1})
    >>> result.value, result.gradient
    (6.0, {'a': 2.0, 'b': 5.0})
"""

__version__ = "0.1.0"

# Only standard-library modules load here; Lark is imported on the first parse.
from .errors import GradcliError
from .evaluation import Evaluation, evaluate
from .parser import parse

__all__ = ["Evaluation", "GradcliError", "evaluate", "parse", "__version__"]

"""Root conftest: its presence puts the repository root on ``sys.path`` (pytest "prepend" mode),
so tests can share helpers as ``from tests.tiny_model import make_tiny_model_folder`` while
``tests/`` stays a plain folder (``from io_fixtures import ...`` keeps working). Keep it empty.
"""

"""Common to every test: the helpers in tests/support report failed asserts as tests do."""

import pytest

# Must run before tests/support is first imported, which the conftest.py files below do.
pytest.register_assert_rewrite("tests.support")

"""Helpers shared by the tests: plain modules that tests and conftest.py files import.

Fixtures are declared in the conftest.py files, over these helpers; tests never import
from a conftest.py.
"""

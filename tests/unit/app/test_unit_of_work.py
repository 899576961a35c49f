"""One unit of work per business operation: commit once, roll back whole, act after commit."""

from __future__ import annotations

import logging

import pytest
from flask import Flask

from tests.support.factories import ContractFactory
from webapp.database import after_commit, unit_of_work
from webapp.extensions import db
from webapp.models import Contract


def test_a_unit_commits_what_it_changed(app: Flask) -> None:
    with app.app_context():
        contract = ContractFactory(name="前")
        contract_id = contract.id
        with unit_of_work():
            contract.name = "後"
        db.session.remove()  # a new session reads what was committed
        assert db.session.get(Contract, contract_id).name == "後"


def test_an_error_rolls_the_whole_unit_back(app: Flask) -> None:
    with app.app_context():
        contract = ContractFactory(name="前")
        with pytest.raises(RuntimeError), unit_of_work():
            contract.name = "後"
            db.session.flush()
            raise RuntimeError("a rule refused")
        assert db.session.get(Contract, contract.id).name == "前"


def test_a_unit_inside_another_joins_it(app: Flask) -> None:
    with app.app_context():
        contract = ContractFactory(name="前")
        contract_id = contract.id
        with pytest.raises(RuntimeError), unit_of_work():
            with unit_of_work():  # an operation that another one calls
                contract.name = "中"
            raise RuntimeError("the outer operation fails after the inner one")
        db.session.remove()
        assert db.session.get(Contract, contract_id).name == "前"


def test_actions_run_after_the_commit_and_never_after_a_rollback(app: Flask) -> None:
    seen: list[str] = []
    with app.app_context():
        contract = ContractFactory(name="前")
        with unit_of_work() as work:
            contract.name = "後"
            work.after_commit(lambda: seen.append(db.session.get(Contract, contract.id).name))
            assert seen == []
        assert seen == ["後"]
        with pytest.raises(RuntimeError), unit_of_work():
            after_commit(lambda: seen.append("never"))
            raise RuntimeError("refused")
        assert seen == ["後"]


def test_a_failing_action_is_logged_and_the_others_still_run(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []

    def fails() -> None:
        raise ConnectionRefusedError("mail server down")

    with app.app_context(), caplog.at_level(logging.ERROR):
        with unit_of_work():
            after_commit(fails)
            after_commit(lambda: seen.append("ran"))
        assert seen == ["ran"]
    assert "the change itself stands" in caplog.text


def test_after_commit_needs_a_unit(app: Flask) -> None:
    with app.app_context(), pytest.raises(RuntimeError):
        after_commit(lambda: None)

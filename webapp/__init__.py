"""Contractor portal for an annual-pack cloud camera service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from . import database  # noqa: F401  (registers the SQLite connection settings)
from .config import load_config


class IdConverter(IntegerConverter):
    """A positive database id that fits a 32-bit integer column; anything else is a 404."""

    def __init__(self, map: Any) -> None:
        super().__init__(map, min=1, max=2**31 - 1)


def create_app(
    test_config: dict[str, Any] | None = None, instance_path: str | Path | None = None
) -> Flask:
    """Create and configure the portal application."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
    )
    app.config.from_mapping(load_config(Path(app.instance_path)))
    if test_config:
        app.config.update(test_config)

    if app.config["PROXY_FIX_HOPS"]:
        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )

    app.url_map.converters["id"] = IdConverter
    register_extensions(app)
    register_blueprints(app)
    register_commands(app)

    from . import errors, filters, security

    filters.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    return app


def register_extensions(app: Flask) -> None:
    from . import crypto, i18n, mail, storage, useragent
    from .auth import sessions
    from .extensions import compress, csrf, db, limiter, login_manager, migrate, static_digest

    db.init_app(app)
    migrate.init_app(
        app, db, directory=str(Path(__file__).parent.parent / "migrations"), render_as_batch=True
    )
    csrf.init_app(app)
    limiter.init_app(app)
    compress.init_app(app)
    static_digest.init_app(app)
    login_manager.init_app(app)
    sessions.init_login_manager(login_manager)
    crypto.init_app(app)
    mail.init_app(app)
    storage.init_app(app)
    i18n.init_app(app)
    useragent.warm_up()


def register_blueprints(app: Flask) -> None:
    from .account import bp as account_bp
    from .api import bp as api_bp
    from .auth import bp as auth_bp
    from .devices import bp as devices_bp
    from .history import bp as history_bp
    from .licences import bp as licences_bp
    from .notifications import bp as notifications_bp
    from .portal import bp as portal_bp
    from .recordings import bp as recordings_bp
    from .settings import bp as settings_bp
    from .terms import bp as terms_bp
    from .users import bp as users_bp

    for blueprint in (
        auth_bp,
        portal_bp,
        notifications_bp,
        devices_bp,
        recordings_bp,
        account_bp,
        history_bp,
        licences_bp,
        users_bp,
        settings_bp,
        terms_bp,
        api_bp,
    ):
        app.register_blueprint(blueprint)


def register_commands(app: Flask) -> None:
    from .cli import all_commands

    for command in all_commands():
        app.cli.add_command(command)

"""The portal as benchmarks serve it: the real app plus a bare endpoint to compare with.

gunicorn 'bench.app:create_bench_app()'
"""

from __future__ import annotations

from flask import Flask

from webapp import create_app


def create_bench_app() -> Flask:
    app = create_app()

    @app.get("/_bench/bare")
    def bare() -> tuple[str, int, dict[str, str]]:
        # The floor: the same server, process and middleware, no template, no database.
        return "ok", 200, {"Content-Type": "text/plain"}

    return app

"""The portal as benchmarks serve it: the real app plus /_bench/bare, an endpoint of it.

/_bench/bare loads the login session like every page: a second reference row in bench.run,
never the denominator of a target (that is bench/hello.py, a separate bare Flask app).

gunicorn 'bench.app:create_bench_app()'
"""

from __future__ import annotations

from flask import Flask

from webapp import create_app


def create_bench_app() -> Flask:
    app = create_app()

    @app.get("/_bench/bare")
    def bare() -> tuple[str, int, dict[str, str]]:
        # The portal's own floor: the same process and middleware, no template, no query of its own.
        return "ok", 200, {"Content-Type": "text/plain"}

    return app

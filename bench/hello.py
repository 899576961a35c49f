"""A truly bare hello-world Flask app: the denominator of every benchmark target.

Not the portal and not an endpoint of it: no extension, no session, no template, no
database. `bench.run` and `bench.device_api` serve it, in the same run as the portal, with
the same gunicorn binary and options, and load it with the same wrk settings:

    gunicorn --workers 2 --bind 127.0.0.1:PORT --log-level warning bench.hello:app
"""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> tuple[str, int, dict[str, str]]:
    return "ok", 200, {"Content-Type": "text/plain"}

"""A small Flask "orders" API to put behind `rampart gateway`. Run: gunicorn -w 1 -b 127.0.0.1:8000 app:app

Env: RAMPART_* (see rampart_auth.py), FLASK_DEBUG=1 (Werkzeug's debug page on errors; never in production),
RECORD_FILE (tests: append every request received as one JSON line).
"""

import io
import json
import os

from flask import Flask, g, jsonify, request

from rampart_auth import require_rampart

app = Flask(__name__)
ORDERS = {"1": {"id": "1", "item": "widget", "qty": 2}, "2": {"id": "2", "item": "gadget", "qty": 1}}


def caller():
    return {"sub": g.rampart["sub"], "roles": g.rampart.get("roles", [])}


@app.get("/api/health")
def health():
    return {"status": "ok"}


@app.get("/api/orders")
@require_rampart
def list_orders():
    return {"orders": list(ORDERS.values()), "caller": caller()}


@app.get("/api/orders/<order_id>")
@require_rampart
def get_order(order_id):
    if order_id not in ORDERS:
        return {"error": "not found", "id": order_id, "caller": caller()}, 404
    return {"order": ORDERS[order_id], "caller": caller()}


@app.post("/api/orders")
@require_rampart
def create_order():
    body = request.get_json(silent=True) or {}
    order = {**body, "id": str(len(ORDERS) + 1)}
    ORDERS[order["id"]] = order
    return {"order": order, "caller": caller()}, 201


@app.patch("/api/orders/<order_id>")
@require_rampart
def update_order(order_id):
    if order_id not in ORDERS:
        return {"error": "not found", "id": order_id, "caller": caller()}, 404
    ORDERS[order_id].update({**(request.get_json(silent=True) or {}), "id": order_id})
    return {"order": ORDERS[order_id], "caller": caller()}


@app.get("/admin/")
def admin():  # a pretend admin page: the gateway must never forward it unless a policy rule admits it
    return "<h1>Pretend admin</h1><p>flask-upstream admin page</p>"


@app.get("/api/boom")
def boom():
    raise RuntimeError("boom: deliberate failure in flask-upstream")


def record(wsgi_app, path):
    """WSGI middleware: append method, raw URI, PATH_INFO, QUERY_STRING, headers and body to `path` (JSON lines)."""

    def recorder(environ, start_response):
        length = environ.get("CONTENT_LENGTH")
        body = environ["wsgi.input"].read(int(length)) if length else environ["wsgi.input"].read()
        environ["wsgi.input"] = io.BytesIO(body)
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        headers.update({k.replace("_", "-").lower(): environ[k] for k in ("CONTENT_TYPE", "CONTENT_LENGTH") if environ.get(k)})
        entry = {"framework": "flask", "method": environ["REQUEST_METHOD"],
                 "rawUri": environ.get("RAW_URI") or environ.get("REQUEST_URI"),
                 "pathInfo": environ.get("PATH_INFO", ""), "queryString": environ.get("QUERY_STRING", ""),
                 "environHeaders": sorted(k for k in environ if k.startswith("HTTP_")),
                 "headers": headers, "body": body.decode("utf-8", "replace")}
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
        return wsgi_app(environ, start_response)

    return recorder


if os.environ.get("FLASK_DEBUG", "").lower() in ("1", "true", "yes"):
    from werkzeug.debug import DebuggedApplication

    app.debug = True
    app.wsgi_app = DebuggedApplication(app.wsgi_app, evalex=False)  # traceback page, no console
if os.environ.get("RECORD_FILE"):
    app.wsgi_app = record(app.wsgi_app, os.environ["RECORD_FILE"])

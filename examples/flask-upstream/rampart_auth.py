"""Verify the X-Rampart-Assertion that `rampart gateway` adds to every request it admits.

Env: RAMPART_JWKS_URL (the gateway's /.well-known/jwks.json), RAMPART_AUDIENCE (the policy's `audience`),
RAMPART_ISSUER (default "rampart"), RAMPART_PUBLIC_ORIGIN (optional, see htu below).

htu: the assertion names the URL it was issued for (RFC 9449 semantics: scheme://host/path, no query or
fragment). We compare it with the URL of *this* request: the raw, still percent-encoded path exactly as the
WSGI server received it (gunicorn's RAW_URI), query and fragment ignored, scheme and host lower-cased and a
default port dropped on both sides. The origin (scheme://host[:port]) is RAMPART_PUBLIC_ORIGIN when set,
otherwise wsgi.url_scheme (gunicorn sets https when a peer in its
--forwarded-allow-ips, default 127.0.0.1, sends X-Forwarded-Proto: https) + the Host header received. Behind the gateway the upstream sees the
gateway's internal Host (e.g. 127.0.0.1:8000), not the public one the assertion was issued for, so set
RAMPART_PUBLIC_ORIGIN to the origin in the gateway's htu (its public URL, e.g. https://api.example.com).
Never derive it from X-Forwarded-Host/-Proto: whoever replays a captured assertion controls those.
"""

import functools
import os
from urllib.parse import quote, urlsplit

import jwt
from flask import g, jsonify, request

TYP = "rampart-assertion+jwt"
ALG_FOR_KEY_TYPE = {"OKP": "EdDSA", "EC": "ES256"}  # the key, not the token, decides the algorithm
REQUIRED = ["iss", "aud", "sub", "iat", "exp", "jti", "htm", "htu"]
MAX_LIFETIME, LEEWAY = 60, 5  # seconds
_clients = {}


class RampartAuthError(Exception):
    def __init__(self, message, status=401):
        super().__init__(message)
        self.status = status


def request_url(environ):
    """scheme://host/raw-path of this request as the WSGI server saw it."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        path = raw.split("?", 1)[0] if raw.startswith("/") else urlsplit(raw).path
    else:
        path = quote((environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")).encode("latin-1"), "/:@!$&'()*+,;=")
    host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
    return f"{environ['wsgi.url_scheme']}://{host}{path}"


def _normalize(url):
    parts = urlsplit(url)
    scheme, host, port = parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    host = f"[{host}]" if ":" in host else host
    if port is not None and port != {"http": 80, "https": 443}.get(scheme):
        host = f"{host}:{port}"
    return f"{scheme}://{host}{parts.path or '/'}"


def verify_assertion(headers, method, url):
    """Return the verified claims, or raise RampartAuthError. `url` is this request's URL (request_url)."""
    token = headers.get("X-Rampart-Assertion")
    jwks_url, audience = os.environ.get("RAMPART_JWKS_URL"), os.environ.get("RAMPART_AUDIENCE")
    if not token:
        raise RampartAuthError("missing X-Rampart-Assertion")
    if not jwks_url or not audience:
        raise RampartAuthError("RAMPART_JWKS_URL and RAMPART_AUDIENCE must be set", 503)
    client = _clients.get(jwks_url) or _clients.setdefault(jwks_url, jwt.PyJWKClient(jwks_url))
    try:
        header = jwt.get_unverified_header(token)
        if str(header.get("typ", "")).lower() != TYP:
            raise RampartAuthError("not a rampart assertion (typ)")
        key = client.get_signing_key(header.get("kid"))
        claims = jwt.decode(token, key.key, algorithms=[ALG_FOR_KEY_TYPE.get(key.key_type)], audience=audience,
                            issuer=os.environ.get("RAMPART_ISSUER", "rampart"), leeway=LEEWAY,
                            options={"require": REQUIRED})
    except jwt.PyJWKClientError as e:
        raise RampartAuthError("JWKS unavailable", 503) if "fetch" in str(e) else RampartAuthError("unknown key")
    except (jwt.PyJWTError, ValueError, TypeError) as e:
        raise RampartAuthError(f"invalid assertion: {e}")
    if claims["exp"] - int(claims["iat"]) > MAX_LIFETIME:
        raise RampartAuthError("assertion lifetime too long")
    if claims["htm"] != method.upper():
        raise RampartAuthError("htm does not match the request method")
    origin = os.environ.get("RAMPART_PUBLIC_ORIGIN")
    expected = origin.rstrip("/") + urlsplit(url).path if origin else url
    try:
        if not isinstance(claims["htu"], str) or _normalize(claims["htu"]) != _normalize(expected):
            raise RampartAuthError("htu does not match the request URL")
    except ValueError:  # a malformed port in htu
        raise RampartAuthError("htu does not match the request URL")
    if not isinstance(claims.get("roles", []), list):
        raise RampartAuthError("roles must be a list")
    return claims


def require_rampart(view):
    """Flask decorator: 401 JSON unless a valid assertion came with the request; claims in flask.g.rampart."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            g.rampart = verify_assertion(request.headers, request.method, request_url(request.environ))
        except RampartAuthError as e:
            return jsonify(error="unauthorized", detail=str(e)), e.status
        return view(*args, **kwargs)

    return wrapper

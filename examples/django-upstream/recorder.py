"""Tests only: with RECORD_FILE set, append every request received as one JSON line (first middleware)."""

import json
import os


class RecorderMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.path = os.environ.get("RECORD_FILE")

    def __call__(self, request):
        if self.path:
            env = request.META
            headers = {k[5:].replace("_", "-").lower(): v for k, v in env.items() if k.startswith("HTTP_")}
            headers.update({k.replace("_", "-").lower(): env[k] for k in ("CONTENT_TYPE", "CONTENT_LENGTH") if env.get(k)})
            entry = {"framework": "django", "method": request.method,
                     "rawUri": env.get("RAW_URI") or env.get("REQUEST_URI"),
                     "pathInfo": env.get("PATH_INFO", ""), "queryString": env.get("QUERY_STRING", ""),
                     "environHeaders": sorted(k for k in env if k.startswith("HTTP_")),
                     "headers": headers, "body": request.body.decode("utf-8", "replace")}
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")
        return self.get_response(request)

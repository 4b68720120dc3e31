"""A stand-in for what the GitLab template downloads, for scripts/ci-templates-check.sh.

Listens on 127.0.0.1 (port 0: the port is printed as the first line) and serves
  GET /tollgate                    the binary under test (the template checks its SHA-256);
  GET /api/v4/projects/<id>/jobs/artifacts/<ref>/raw/<path>?job=<name>
                                   GitLab's "single artifact file from a branch" endpoint, answering
                                   as the file MODE_FILE names: "404" (GitLab's JSON 404: no
                                   successful pipeline yet), "200" (the file BASELINE_FILE),
                                   "500", "project404" (GitLab's 404 for a project
                                   the token cannot see) or "html404" (a 404 that is
                                   not GitLab's).
Every request is appended to LOG_FILE as `GET PATH job-token=VALUE` (`-` when not sent).

  python3 ci-templates-mock.py BINARY MODE_FILE BASELINE_FILE LOG_FILE
"""

import http.server
import sys

BINARY, MODE_FILE, BASELINE_FILE, LOG_FILE = sys.argv[1:5]


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, code, body, ctype):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with open(LOG_FILE, "a") as log:
            log.write(f"GET {self.path} job-token={self.headers.get('JOB-TOKEN', '-')}\n")
        path = self.path.split("?", 1)[0]
        if path == "/tollgate":
            with open(BINARY, "rb") as f:
                return self.answer(200, f.read(), "application/octet-stream")
        if path.startswith("/api/v4/projects/") and "/jobs/artifacts/" in path and "/raw/" in path:
            mode = open(MODE_FILE).read().strip()
            if mode == "200":
                with open(BASELINE_FILE, "rb") as f:
                    return self.answer(200, f.read(), "application/json")
            if mode == "404":
                return self.answer(404, b'{"message":"404 Not found"}', "application/json")
            if mode == "project404":
                return self.answer(404, b'{"message":"404 Project Not Found"}', "application/json")
            if mode == "html404":
                return self.answer(404, b"<html><body>Not Found</body></html>", "text/html")
            return self.answer(500, b'{"message":"500 Internal Server Error"}', "application/json")
        return self.answer(404, b"not here", "text/plain")


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()

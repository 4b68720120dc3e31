#!/usr/bin/env python3
"""The hub's web UI in a real browser (headless Chromium over the DevTools protocol).

Usage: ui-browser-check.py HUB_URL TOKEN_FILE OUT_DIR [PERSON_FILE]

Signs in through the form with the token (CSRF token and cookie as a browser sends them), opens
the home page, a product and a finding, and fails on any Content-Security-Policy violation or console
error, or when a page does not show what it should. Then a page on another origin posts the
sign-in form across sites, as an attacker's page would: the hub must refuse it (403) and set no
session cookie. With PERSON_FILE (a user's name, then their password, one a line): signs that
person in with the name-and-password form, checks the session cookie's attributes, and signs out
through the sign-out form: the cookie goes and the pages ask for a sign-in again. Screenshots go to
OUT_DIR. Needs `chromium` and the `websocket-client` package.
"""

import base64
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import websocket  # websocket-client

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="tollgate-ui-")
        port = free_port()
        self.proc = subprocess.Popen(
            ["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}",
             f"--remote-debugging-port={port}", "--window-size=1200,800", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as r:
                    pages = [t for t in json.load(r) if t["type"] == "page"]
                if pages:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                raise SystemExit("chromium did not start its DevTools endpoint within 30 s")
            time.sleep(0.2)
        self.ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=30)
        self.next_id = 0
        self.problems = []  # console errors and CSP violations, as the browser reports them
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")

    def call(self, method, **params):
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise SystemExit(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.event(msg)

    def event(self, msg):
        method = msg.get("method")
        if method == "Log.entryAdded":
            entry = msg["params"]["entry"]
            if entry.get("url", "").endswith("/favicon.ico"):
                return  # the hub has no icon; the browser asks anyway
            if entry["level"] == "error" or "Content Security Policy" in entry.get("text", ""):
                self.problems.append(entry.get("text", ""))
        elif method == "Runtime.consoleAPICalled" and msg["params"]["type"] == "error":
            self.problems.append(str(msg["params"]["args"]))
        elif method == "Runtime.exceptionThrown":
            self.problems.append(str(msg["params"]["exceptionDetails"]))

    def wait_for_load(self, timeout=20):
        deadline = time.time() + timeout
        self.ws.settimeout(timeout)
        while time.time() < deadline:
            msg = json.loads(self.ws.recv())
            self.event(msg)
            if msg.get("method") == "Page.loadEventFired":
                return
        raise SystemExit("a page did not finish loading")

    def pump(self, seconds, until):
        """Reads the browser's events until `until()` holds or `seconds` pass."""
        deadline = time.time() + seconds
        while not until() and time.time() < deadline:
            self.ws.settimeout(max(0.1, deadline - time.time()))
            try:
                self.event(json.loads(self.ws.recv()))
            except websocket.WebSocketTimeoutException:
                break

    def open(self, url):
        self.call("Page.navigate", url=url)
        self.wait_for_load()

    def js(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png")["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def cookies(self):
        return self.call("Network.getAllCookies")["cookies"]

    def close(self):
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def main():
    hub, token_file, out = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
    person = open(sys.argv[4]).read().splitlines()[:2] if len(sys.argv) > 4 else None
    token = open(token_file).read().strip()
    os.makedirs(out, exist_ok=True)
    failures = []

    def expect(cond, what):
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            failures.append(what)

    b = Browser()
    try:
        b.open(f"{hub}/ui/login")
        rules = b.js("Array.from(document.styleSheets).reduce((n, s) => n + s.cssRules.length, 0)")
        expect(b.js("!!document.querySelector('input[name=csrf]')"), "the sign-in form carries a CSRF field")
        b.js(f"document.querySelector('input[name=token]').value = {json.dumps(token)};"
             "document.querySelector('input[name=token]').form.submit();")
        b.wait_for_load()
        expect(any(c["name"] == "tollgate_session" for c in b.cookies()), "signing in sets the session cookie")
        expect(not any(token in c["value"] for c in b.cookies()), "the browser never holds the token")
        session = next((c for c in b.cookies() if c["name"] == "tollgate_session"), {})
        expect(session.get("httpOnly") and session.get("sameSite") == "Lax",
               "the session cookie is HttpOnly and SameSite=Lax")
        b.open(f"{hub}/")
        b.screenshot(f"{out}/home.png")
        home = b.js("document.body.innerText") or ""
        expect("Sign in" not in home, "the home page is shown signed in")
        product = b.js("(document.querySelector('a[href^=\"/ui/products/\"]') || {}).href")
        expect(bool(product), "the home page links a product")
        if product:
            b.open(product)
            b.screenshot(f"{out}/product.png")
            test = b.js("(document.querySelector('a[href^=\"/ui/tests/\"]') || {}).href")
            expect(bool(test), "the product page links a test")
            if test:
                b.open(test)
                b.screenshot(f"{out}/test.png")
                expect(b.js("!!document.querySelector('svg')"), "the test page draws its trend")
        for page in ["products", "gate-runs", "risk-acceptances", "metrics"]:
            b.open(f"{hub}/ui/{page}")
            b.screenshot(f"{out}/{page}.png")
            expect("Sign in" not in (b.js("document.body.innerText") or ""), f"/ui/{page} is shown")
        expect((b.js("document.querySelectorAll('svg').length") or 0) == 8, "the metrics page draws 8 charts")
        expect((rules or 0) > 0, f"the embedded stylesheet loads under the CSP ({rules} rules)")
        expect(not b.problems, f"no CSP violation or console error ({len(b.problems)}: {b.problems[:3]})")
    finally:
        b.close()

    if person:
        name, password = person
        b = Browser()
        try:
            b.open(f"{hub}/ui/login")
            b.js(f"document.querySelector('input[name=name]').value = {json.dumps(name)};"
                 f"document.querySelector('input[name=password]').value = {json.dumps(password)};"
                 "document.querySelector('input[name=name]').form.submit();")
            b.wait_for_load()
            session = next((c for c in b.cookies() if c["name"] == "tollgate_session"), {})
            expect(bool(session), "a person's sign-in sets the tollgate_session cookie")
            expect(session.get("httpOnly") and session.get("sameSite") == "Lax"
                   and session.get("path") == "/" and not session.get("session", True),
                   "the session cookie is HttpOnly, SameSite=Lax, Path=/, with an expiry "
                   f"({ {k: v for k, v in session.items() if k != 'value'} })")
            home = b.js("document.body.innerText") or ""
            b.screenshot(f"{out}/person-home.png")
            expect(f"signed in as {name}" in home, "the home page shows who is signed in")
            b.open(f"{hub}/ui/logout")
            b.js("document.forms[0].submit();")
            b.wait_for_load()
            expect(not any(c["name"] == "tollgate_session" for c in b.cookies()),
                   "signing out removes the session cookie")
            b.open(f"{hub}/")
            expect(b.js("!!document.querySelector('input[name=password]')") is True,
                   "after sign-out the hub asks for a sign-in again")
            expect(not b.problems, f"no CSP violation or console error ({b.problems[:3]})")
        finally:
            b.close()

    # An attacker's page on another origin posts the sign-in form with a token of its own.
    port = free_port()
    page = (f"<form method=post action='{hub}/ui/login'><input name=token value='{token}'>"
            "<input name=csrf value=guess></form><script>document.forms[0].submit()</script>")

    class Attacker(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page.encode())

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", port), Attacker)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    b = Browser()
    try:
        statuses = []

        def record(msg):
            if msg.get("method") == "Network.responseReceived":
                r = msg["params"]["response"]
                if r["url"].endswith("/ui/login"):
                    statuses.append(r["status"])
        original = b.event
        b.event = lambda msg: (record(msg), original(msg))
        # "localhost" is another site than 127.0.0.1 to the browser.
        b.call("Page.navigate", url=f"http://localhost:{port}/")
        b.pump(20, lambda: bool(statuses))
        expect(statuses == [403], f"a cross-site sign-in post is refused with 403 (saw {statuses})")
        expect(not any(c["name"] in ("tollgate_session", "tollgate_token") for c in b.cookies()),
               "a cross-site sign-in post sets no session cookie")
    finally:
        b.close()
        server.shutdown()

    print(f"{len(failures)} failed" if failures else "all browser checks passed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

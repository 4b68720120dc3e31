"""Checks the gate's outputs as GitLab's readers see them (run by scripts/gitlab-readers-check.sh).

  gitlab-readers-check.py junit FILE XSD          schema-valid junit-10, (suite, classname, name) unique
  gitlab-readers-check.py codequality FILE        fingerprints unique, paths repository-relative
  gitlab-readers-check.py hostile-report FILE     writes a Generic Findings report of hostile text
  gitlab-readers-check.py markdown FILE           GFM render: our <details> intact, no scanner HTML/links

Prints one line of figures per check; exits 1 with every problem listed.
"""

import collections
import json
import re
import sys

# Scanner text that tries to break out of the comment: close our <details>, add raw HTML, links,
# images, autolinks, mentions, emphasis and table cells.
HOSTILE = [
    "</details></details><details open><summary>pwned</summary>",
    "<img src=x onerror=alert(1)> <script>alert(2)</script> <a href=\"https://evil.example\">click</a>",
    "[click me](https://evil.example/phish) ![tracker](https://evil.example/pixel.png)",
    "see https://evil.example/a and www.evil.example and mail admin@evil.example, cc @all",
    "`code` ``double`` **bold** __under__ ~~strike~~ | cell | <!-- comment --> &lt;b&gt; &amp;",
    "line one\n\n# heading\n\n- list\n> quote\n\n```\nfenced\n```\n<details>",
    "[ref]: https://evil.example/ref \"title\"\nuse [ref] and <https://evil.example/auto>",
]


def fail(problems, what):
    if problems:
        print(f"FAIL {what}: {len(problems)} problem(s)")
        # Structural problems first: they are what breaks a reader.
        problems = sorted(problems, key=lambda p: ("details" not in p and "share" not in p and "XSD" not in p))
        for p in problems[:25]:
            print(f"  - {p}")
        if len(problems) > 25:
            print(f"  … and {len(problems) - 25} more")
        sys.exit(1)


def junit(path, xsd):
    from lxml import etree

    schema = etree.XMLSchema(etree.parse(xsd))
    doc = etree.parse(path)
    problems = [f"XSD: line {e.line}: {e.message}" for e in schema.error_log] if not schema.validate(doc) else []
    keys = collections.Counter()
    failing = 0
    # GitLab's parser keys a case by the job's suite + classname + name: a file whose (classname,
    # name) pairs are unique across all its suites is unique under any suite name.
    for case in doc.iter("testcase"):
        keys[(case.get("classname"), case.get("name"))] += 1
        failing += case.find("failure") is not None or case.find("error") is not None
    for (cls, name), n in keys.items():
        if n > 1:
            problems.append(f"{n} test cases share classname {cls!r} and name {name!r}")
    for suite in doc.iter("testsuite"):
        cases = suite.findall("testcase")
        if int(suite.get("tests")) != max(len(cases), 1):
            problems.append(f"suite {suite.get('name')!r}: tests={suite.get('tests')} for {len(cases)} cases")
        fails = sum(c.find("failure") is not None for c in cases)
        if int(suite.get("failures")) != fails:
            problems.append(f"suite {suite.get('name')!r}: failures={suite.get('failures')} for {fails}")
    print(f"junit: {sum(keys.values())} cases, {failing} failing, {len(keys)} distinct (classname, name) keys")
    fail(problems, path)


def codequality(path):
    items = json.load(open(path, encoding="utf-8"))
    problems = []
    fps = collections.Counter(i.get("fingerprint") for i in items)
    for fp, n in fps.items():
        if n > 1:
            problems.append(f"fingerprint {fp} on {n} entries (GitLab keeps one)")
    bad_path = re.compile(r"^(\./|/|[A-Za-z]:)|://|\\|^$")
    for i in items:
        loc = i.get("location") or {}
        p = loc.get("path")
        if not isinstance(p, str) or bad_path.search(p) or "/./" in p or "/../" in p or p.startswith("../"):
            problems.append(f"path {p!r} is not repository-relative ({i.get('check_name')})")
        elif ":" in p or "?" in p:
            problems.append(f"path {p!r} looks like a pseudo-path, not a file ({i.get('check_name')})")
        begin = (loc.get("lines") or {}).get("begin")
        if not isinstance(begin, int) or begin < 1:
            problems.append(f"{p}: lines.begin {begin!r} is not a line number")
        for key in ("description", "check_name", "fingerprint", "severity"):
            if not isinstance(i.get(key), str) or not i.get(key):
                problems.append(f"{p}: {key} missing")
        if i.get("severity") not in ("info", "minor", "major", "critical", "blocker"):
            problems.append(f"{p}: severity {i.get('severity')!r}")
    print(f"codequality: {len(items)} entries, {len(fps)} distinct fingerprints")
    fail(problems, path)


def hostile_report(path):
    findings = []
    for n, t in enumerate(HOSTILE):
        for severity in ("Critical", "High"):
            findings.append(
                {
                    "title": f"{severity} {n}: {t}",
                    "severity": severity,
                    "description": t,
                    "mitigation": t,
                    "file_path": f"src/{n}`|<b>.py",
                    "line": n + 1,
                    "unique_id_from_tool": f"{severity}-{n}",
                }
            )
    json.dump({"name": "hostile <b>scanner</b> [x](https://evil.example)", "findings": findings}, open(path, "w"))


class Structure:
    """What the rendered comment holds: its tags in order and its links and images."""

    def __init__(self, html):
        from html.parser import HTMLParser

        self.tags, self.links = [], []
        outer = self

        class P(HTMLParser):
            def handle_starttag(self, tag, attrs):
                outer.tags.append(tag)
                if tag in ("a", "img", "script", "iframe") or any(k.startswith("on") for k, _ in attrs):
                    outer.links.append((tag, dict(attrs)))

            def handle_endtag(self, tag):
                outer.tags.append("/" + tag)

            def handle_comment(self, data):
                outer.tags.append("!--")

        P().feed(html)


def markdown(path):
    import cmarkgfm
    from cmarkgfm.cmark import Options

    md = open(path, encoding="utf-8").read()
    # Unsafe: keep raw HTML, so scanner HTML that got through shows up here (GitHub and GitLab
    # would sanitize some of it, not all: a stray </details> survives their sanitizers).
    rendered = cmarkgfm.github_flavored_markdown_to_html(md, options=Options.CMARK_OPT_UNSAFE)
    s = Structure(rendered)
    problems = []
    ours = {"details", "summary", "/details", "/summary"}
    allowed = {"h2", "h3", "h4", "p", "strong", "em", "code", "ul", "li", "blockquote", "table",
               "thead", "tbody", "tr", "th", "td", "br"}
    allowed |= {"/" + t for t in allowed}
    for t in s.tags:
        if t not in ours and t not in allowed:
            problems.append(f"tag <{t}> in the rendered comment: scanner HTML got through")
    # <details> nest as we wrote them: the source's own open/close count equals the rendered one.
    src_open = len(re.findall(r"^\s*<details>", md, re.M))
    src_close = len(re.findall(r"^\s*</details>\s*$", md, re.M))
    r_open, r_close = s.tags.count("details"), s.tags.count("/details")
    if (r_open, r_close) != (src_open, src_close) or src_open != src_close:
        problems.append(f"<details>: {src_open}/{src_close} written, {r_open}/{r_close} rendered")
    depth = 0
    for t in s.tags:
        depth += (t == "details") - (t == "/details")
        if depth < 0 or depth > 1:
            problems.append(f"<details> nesting depth {depth}")
            break
    for tag, attrs in s.links:
        problems.append(f"<{tag} {attrs}> in the rendered comment: scanner text made a link or image")
    for needle in ("pwned", "evil.example"):
        if needle in md and not re.search(re.escape(needle), rendered):
            problems.append(f"{needle!r} vanished from the render (swallowed as HTML?)")
    # Mentions form in text, never in code spans.
    if re.search(r"@all\b", re.sub(r"<code>.*?</code>", "", rendered, flags=re.S)):
        problems.append("'@all' outside code would mention everyone")
    print(f"markdown: {len(md)} bytes, {src_open} <details> blocks, {len(s.tags)} tags rendered, {len(s.links)} links")
    fail(problems, path)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"junit": junit, "codequality": codequality, "hostile-report": hostile_report, "markdown": markdown}[cmd](*args)

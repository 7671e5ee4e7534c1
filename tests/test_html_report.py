"""The HTML agreement report opened in a real headless Chromium (driven over the DevTools
protocol): it must render with no console errors, load nothing from the network, and show its
charts. Skips, saying why, only where no Chromium is installed (.ci/run installs Debian's)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from autocode.agree_report import agreement_report

MINI = Path(__file__).parent / "fixtures" / "mini"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--remote-debugging-port=0"]


def find_browser() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


class Chromium:
    """A headless Chromium and one page, driven with the DevTools protocol over a websocket."""

    def __init__(self, executable: str, profile: Path, timeout: float = 60):
        import websocket

        self.timeout = timeout
        self.proc = subprocess.Popen([executable, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile / "DevToolsActivePort"
        deadline = time.time() + timeout
        lines: list[str] = []
        while time.time() < deadline:
            if port_file.exists():
                lines = port_file.read_text().split()
                if len(lines) >= 2:
                    break
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with code {self.proc.returncode} before it opened DevTools")
            time.sleep(0.05)
        else:
            self.close()
            raise RuntimeError("chromium did not open its DevTools port in time")
        self.ws = websocket.create_connection(f"ws://127.0.0.1:{lines[0]}{lines[1]}", timeout=timeout,
                                              suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            self.call(f"{domain}.enable", session=True)

    def call(self, method: str, params: dict | None = None, session: bool = False) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def open(self, url: str) -> None:
        self.call("Page.navigate", {"url": url}, session=True)
        deadline = time.time() + self.timeout
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            if time.time() > deadline:
                raise RuntimeError(f"{url} did not finish loading")
            self.events.append(json.loads(self.ws.recv()))
        self.call("Runtime.evaluate", {"expression": "new Promise(r => setTimeout(r, 100))", "awaitPromise": True},
                  session=True)

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=True)
        return result["result"].get("value")

    def errors(self) -> list[str]:
        out = []
        for e in self.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                out.append("console: " + " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                out.append("exception: " + params.get("exceptionDetails", {}).get("text", ""))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                out.append("log: " + params["entry"].get("text", ""))
        return out

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def close(self) -> None:
        try:
            if getattr(self, "ws", None) is not None:
                try:
                    self.ws.send(json.dumps({"id": 10**6, "method": "Browser.close"}))
                except Exception:
                    pass
                self.ws.close()
        finally:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()  # only the browser this test started
                self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def report_file(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("html") / "report"
    agreement_report(MINI, [MINI / "codings/coder_a.jsonl", MINI / "codings/coder_b.jsonl"], out, n_boot=100)
    return out / "agreement.html"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    executable = find_browser()
    if executable is None:
        pytest.skip("no Chromium installed (looked for " + ", ".join(BROWSERS) + "); "
                    "install Debian's with 'apt-get install chromium' (.ci/run does) to run the browser test")
    pytest.importorskip("websocket", reason="the browser test needs websocket-client (pip install -e '.[test]')")
    profile = tmp_path_factory.mktemp("chromium-profile")
    page = Chromium(executable, profile)
    try:
        yield page
    finally:
        page.close()


def test_html_is_self_contained(report_file):
    html = report_file.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    for forbidden in ("http://", "https://", "<script", "<link", " src=", "@import", "url("):
        assert forbidden not in html, forbidden
    assert html.count('class="chart chart-forest"') == 1 and html.count('class="chart chart-heatmap"') == 2


CHECK = """JSON.stringify({
  title: document.title,
  forest: document.querySelectorAll('svg.chart-forest').length,
  heatmaps: document.querySelectorAll('svg.chart-heatmap').length,
  evidence: document.querySelectorAll('table.evidence').length,
  evidenceRows: document.querySelectorAll('table.evidence tbody tr').length,
  forestMarks: document.querySelectorAll('svg.chart-forest circle').length,
  heatCells: document.querySelectorAll('svg.chart-heatmap rect').length,
  sizes: [...document.querySelectorAll('svg.chart, table.evidence')].map(e => {
      const r = e.getBoundingClientRect(); return [r.width, r.height]; }),
  strongCell: getComputedStyle(document.querySelector('table.evidence td.g-strong')).backgroundColor,
})"""


def test_report_renders_in_chromium(browser, report_file):
    browser.events.clear()
    browser.open(report_file.resolve().as_uri())
    assert browser.errors() == []
    remote = [u for u in browser.requests() if not u.startswith(("file:", "data:", "about:"))]
    assert remote == [], f"the report fetched {remote}"
    page = json.loads(browser.evaluate(CHECK))
    assert page["title"] == "Inter-coder agreement: mini"
    assert page["forest"] == 1 and page["heatmaps"] == 2 and page["evidence"] == 1
    assert page["evidenceRows"] == 8  # one row per code of the mini codebook
    assert page["forestMarks"] >= 8 and page["heatCells"] >= 2 * 5 * 8
    assert all(w > 100 and h > 50 for w, h in page["sizes"]), page["sizes"]
    assert page["strongCell"] not in ("rgba(0, 0, 0, 0)", "transparent")


def test_harness_sees_errors_and_requests(browser, tmp_path):
    """The checks above are only worth something if a broken page fails them."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><head><title>bad</title></head><body>'
                   '<img src="http://127.0.0.1:9/missing.png">'
                   '<script>console.error("broken chart")</script></body></html>', encoding="utf-8")
    browser.events.clear()
    browser.open(bad.resolve().as_uri())
    errors = browser.errors()
    assert any("broken chart" in e for e in errors), errors
    assert any(u.startswith("http://127.0.0.1:9/") for u in browser.requests())


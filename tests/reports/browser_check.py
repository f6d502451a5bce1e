#!/usr/bin/env python3
"""Open report.html files in headless Chromium and say what happened.

Drives Chromium through its DevTools protocol over a pipe
(--remote-debugging-pipe: NUL-terminated JSON messages on file descriptors
3 and 4), so nothing listens on a port.  For each page it records every
network request, console message, exception and log entry (CSP violations
are log entries), then evaluates checks in the page, optionally sorts a
table by clicking its header buttons, and takes screenshots.  A TCP
listener on 127.0.0.1 stands where hostile payloads point
(http://127.0.0.1:PORT/...): it records any connection.

Usage:
    browser_check.py PAGE.html [--shot PREFIX [--full]] ... [--out RESULT.json]
                     [--listener-port N] [--sections]

--shot after a page writes PREFIX.png (the top of the page at 1366x900);
--full adds PREFIX-full.png (the whole page, up to 12000 px) and PREFIX.pdf
(the print layout); --sections adds one PREFIX-SECTION.png per section.
The result is one JSON object:
{"pages": [{"url", "requests", "console", "exceptions", "log", "checks",
"sort", "shots"}], "listener_hits": [...]}.  Exit 0 when Chromium ran, 3 when
it could not start.
"""
import base64
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

CHROMIUM = os.environ.get("REHEARSE_CHROMIUM", "chromium")
SECTIONS = False  # --sections: also one screenshot per section

# Evaluated in each page once it is ready: what the tests assert on.
CHECKS = r"""
(function () {
  var all = document.querySelectorAll('*'), onattrs = [], i, k;
  for (i = 0; i < all.length; i++) {
    for (k = 0; k < all[i].attributes.length; k++) {
      var a = all[i].attributes[k].name.toLowerCase();
      var v = String(all[i].attributes[k].value).toLowerCase();
      if (a.indexOf('on') === 0 || v.indexOf('javascript:') >= 0) {
        onattrs.push(all[i].tagName + ' ' + a);
      }
    }
  }
  var hrefs = [];
  document.querySelectorAll('a[href]').forEach(function (a) {
    if (a.getAttribute('href').charAt(0) !== '#') { hrefs.push(a.getAttribute('href')); }
  });
  return JSON.stringify({
    ready: document.documentElement.getAttribute('data-ready'),
    marker: window.__xss === undefined ? null : String(window.__xss),
    title: document.title,
    scripts: document.scripts.length,
    styles: document.querySelectorAll('style, link').length,
    forbidden: document.querySelectorAll(
      'iframe, frame, object, embed, img, image, link, base, form, meta[http-equiv=refresh], ' +
      'video, audio, source, math, foreignObject').length,
    svg_scripts: document.querySelectorAll('svg script').length,
    event_attributes: onattrs,
    external_links: hrefs,
    findings: document.querySelectorAll('article.finding').length,
    findings_drawn: document.querySelectorAll('article.finding[data-done]').length,
    body_views: document.querySelectorAll('pre.body').length,
    highlighted_lines: document.querySelectorAll('pre.body span.hl-d').length,
    visible_controls: document.querySelectorAll('.cc').length,
    text: document.body.innerText,
    html_length: document.documentElement.outerHTML.length
  });
}())
"""

SORT = r"""
(function (tableId) {
  var table = document.getElementById(tableId);
  if (!table) { return JSON.stringify({error: 'no table'}); }
  function column(n) {
    return Array.prototype.map.call(table.tBodies[0].rows, function (r) {
      return r.cells[n].getAttribute('data-v') !== null ?
        Number(r.cells[n].getAttribute('data-v')) : r.cells[n].textContent;
    });
  }
  var heads = table.tHead.rows[0].cells, out = {initial: column(0)};
  heads[1].querySelector('button').click();
  out.by_second_first_click = column(1);
  out.aria_first = heads[1].getAttribute('aria-sort');
  heads[1].querySelector('button').click();
  out.by_second_second_click = column(1);
  out.aria_second = heads[1].getAttribute('aria-sort');
  heads[0].querySelector('button').click();
  out.by_first = column(0);
  return JSON.stringify(out);
}('endpoint-table'))
"""


class Chromium:
    """One headless browser, driven over --remote-debugging-pipe."""

    def __init__(self, profile):
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()
        args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--mute-audio", "--hide-scrollbars",
                "--user-data-dir=" + profile, "--remote-debugging-pipe", "about:blank"]

        def child():
            # Chromium reads commands on fd 3 and writes on fd 4.  Move the
            # pipe ends out of the way first, so neither dup2 clobbers the other.
            r, w = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(r, 3)
            os.dup2(w, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        # close_fds=False: subprocess would close fds 3 and 4 after child()
        # otherwise; every other descriptor of ours is close-on-exec.
        self.proc = subprocess.Popen(args, close_fds=False, preexec_fn=child,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buf = b""
        self.next_id = 0
        self.events = []

    def send(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        return self.next_id

    def read(self, timeout):
        deadline = time.time() + timeout
        while b"\0" not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("chromium did not answer")
            r, _, _ = select.select([self.from_chrome], [], [], left)
            if not r:
                continue
            chunk = os.read(self.from_chrome, 1 << 20)
            if not chunk:
                raise EOFError("chromium closed the pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=None, timeout=20):
        want = self.send(method, params, session)
        while True:
            msg = self.read(timeout)
            if msg.get("id") == want:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            self.events.append(msg)

    def wait_event(self, method, session, timeout=20):
        for i, msg in enumerate(self.events):
            if msg.get("method") == method and msg.get("sessionId") == session:
                return self.events.pop(i)
        deadline = time.time() + timeout
        while True:
            msg = self.read(max(0.01, deadline - time.time()))
            if msg.get("method") == method and msg.get("sessionId") == session:
                return msg
            self.events.append(msg)

    def drain(self, seconds):
        deadline = time.time() + seconds
        while time.time() < deadline:
            try:
                self.events.append(self.read(deadline - time.time()))
            except TimeoutError:
                break

    def close(self):
        try:
            self.send("Browser.close")
        except OSError:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.to_chrome)
        os.close(self.from_chrome)


def evaluate(chrome, session, expr):
    res = chrome.call("Runtime.evaluate", {"expression": expr, "returnByValue": True},
                      session)
    if "exceptionDetails" in res:
        return {"error": res["exceptionDetails"].get("text")}
    return json.loads(res["result"]["value"])


def check_page(chrome, path, shots, full):
    target = chrome.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = chrome.call("Target.attachToTarget",
                          {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Network", "Runtime", "Log"):
        chrome.call(domain + ".enable", {}, session)
    chrome.call("Emulation.setDeviceMetricsOverride",
                {"width": 1366, "height": 900, "deviceScaleFactor": 1, "mobile": False},
                session)
    url = "file://" + os.path.abspath(path)
    chrome.call("Page.navigate", {"url": url}, session)
    chrome.wait_event("Page.loadEventFired", session)
    for _ in range(100):  # the script marks the page ready
        if evaluate(chrome, session,
                    "JSON.stringify(document.documentElement.getAttribute('data-ready'))"):
            break
        time.sleep(0.05)
    t0 = time.time()
    # draw every example (the page draws them lazily), as printing does
    evaluate(chrome, session,
             "window.dispatchEvent(new Event('beforeprint')); JSON.stringify(1)")
    page = {"url": url, "checks": evaluate(chrome, session, CHECKS)}
    page["seconds_checks"] = round(time.time() - t0, 2)
    page["sort"] = evaluate(chrome, session, SORT)
    page["shots"] = []
    if shots:
        os.makedirs(os.path.dirname(os.path.abspath(shots)), exist_ok=True)
        evaluate(chrome, session, "window.scrollTo(0, 0); JSON.stringify(1)")
        shot = chrome.call("Page.captureScreenshot", {"format": "png"}, session)
        with open(shots + ".png", "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        page["shots"].append(shots + ".png")
    if shots and full:
        metrics = chrome.call("Page.getLayoutMetrics", {}, session)
        height = min(12000, int(metrics["cssContentSize"]["height"]))
        shot = chrome.call("Page.captureScreenshot",
                           {"format": "png", "captureBeyondViewport": True,
                            "clip": {"x": 0, "y": 0, "width": 1366, "height": height,
                                     "scale": 1}}, session, timeout=60)
        with open(shots + "-full.png", "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        page["shots"].append(shots + "-full.png")
        if SECTIONS:
            boxes = evaluate(chrome, session, """JSON.stringify(Array.prototype.map.call(
                document.querySelectorAll('header.verdict, section[id]'), function (s) {
                  var r = s.getBoundingClientRect();
                  return {id: s.id || 'verdict', y: r.top + window.scrollY, h: r.height};
                }))""")
            for box in boxes:
                shot = chrome.call("Page.captureScreenshot",
                                   {"format": "png", "captureBeyondViewport": True,
                                    "clip": {"x": 0, "y": box["y"], "width": 1366,
                                             "height": min(1400, max(1, box["h"])),
                                             "scale": 1}}, session, timeout=60)
                name = "%s-%s.png" % (shots, box["id"])
                with open(name, "wb") as f:
                    f.write(base64.b64decode(shot["data"]))
                page["shots"].append(name)
        pdf = chrome.call("Page.printToPDF", {"printBackground": False}, session, timeout=60)
        with open(shots + ".pdf", "wb") as f:
            f.write(base64.b64decode(pdf["data"]))
        page["shots"].append(shots + ".pdf")
    page["seconds_total"] = round(time.time() - t0, 2)
    chrome.drain(0.2)
    mine = [e for e in chrome.events if e.get("sessionId") == session]
    chrome.events = [e for e in chrome.events if e.get("sessionId") != session]
    page["requests"] = [e["params"]["request"]["url"] for e in mine
                        if e.get("method") == "Network.requestWillBeSent"]
    page["console"] = [{"type": e["params"]["type"],
                        "text": " ".join(str(a.get("value", a.get("description", "")))
                                         for a in e["params"]["args"])}
                       for e in mine if e.get("method") == "Runtime.consoleAPICalled"]
    page["exceptions"] = [e["params"]["exceptionDetails"].get("text", "") + " " +
                          str(e["params"]["exceptionDetails"].get("exception", {})
                              .get("description", ""))
                          for e in mine if e.get("method") == "Runtime.exceptionThrown"]
    page["log"] = [{"level": e["params"]["entry"]["level"],
                    "source": e["params"]["entry"]["source"],
                    "text": e["params"]["entry"]["text"]}
                   for e in mine if e.get("method") == "Log.entryAdded"]
    chrome.call("Target.closeTarget", {"targetId": target})
    return page


class Listener(threading.Thread):
    """Accepts on 127.0.0.1:port and records what connects."""

    def __init__(self, port=0):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.hits = []
        self.stop = False

    def run(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            conn.settimeout(0.5)
            try:
                self.hits.append(conn.recv(2048).decode("latin-1").split("\r\n")[0])
            except OSError:
                self.hits.append("(connected)")
            conn.close()
        self.sock.close()


def main(argv):
    global SECTIONS
    pages, out, port = [], None, 0
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--out":
            out = argv[i + 1]
            i += 2
        elif arg == "--listener-port":
            port = int(argv[i + 1])
            i += 2
        elif arg == "--sections":
            SECTIONS = True
            i += 1
        elif arg == "--shot" and pages:
            pages[-1]["shot"] = argv[i + 1]
            i += 2
        elif arg == "--full" and pages:
            pages[-1]["full"] = True
            i += 1
        elif arg.startswith("-"):
            print("browser_check: unknown option %r" % arg, file=sys.stderr)
            return 2
        else:
            pages.append({"path": arg, "shot": None, "full": False})
            i += 1
    if shutil.which(CHROMIUM) is None:
        print("browser_check: '%s' is not installed (scripts/install-deps.sh installs it)"
              % CHROMIUM, file=sys.stderr)
        return 3
    listener = Listener(port)
    listener.start()
    profile = tempfile.mkdtemp(prefix="rehearse-chromium-")
    result = {"pages": [], "listener_port": listener.port}
    chrome = Chromium(profile)
    try:
        for spec in pages:
            try:
                page = check_page(chrome, spec["path"], spec["shot"], spec["full"])
            except (RuntimeError, TimeoutError, KeyError, ValueError) as e:
                # the page misbehaved (navigated away, hung, broke the driver)
                page = {"url": "file://" + os.path.abspath(spec["path"]),
                        "error": "%s: %s" % (type(e).__name__, e)}
            result["pages"].append(page)
    finally:
        chrome.close()
        time.sleep(0.2)
        listener.stop = True
        listener.join()
        shutil.rmtree(profile, ignore_errors=True)
    result["listener_hits"] = listener.hits
    text = json.dumps(result, indent=1)
    if out:
        with open(out, "w") as f:
            f.write(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

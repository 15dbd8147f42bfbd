"""The live retrieval explorer: Voilà serves a notebook built on myosem_core.viz.explorer (what notebook 09 and
``make explore`` show), headless Debian chromium types sentences: one that names a movement gets ranked results
with class names (varied and plain), one that names none gets that answer with its nearest candidates.

A small index stands in for a trained run (three classes, a bag-of-words text encoder), so the test takes
seconds; the widget code, the Voilà serving and the browser are the real ones. Needs ``chromium`` and
``chromedriver`` (``make browser`` installs Debian's packages; nothing downloads a browser). A screenshot of
the result lands in ``build/explore-check/explorer.png``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / "build" / "explore-check"

TOY = '''
import numpy as np
from types import SimpleNamespace
from myosem_core.retrieval import RetrievalIndex
from myosem_core.viz.explorer import explorer

keys = ("ninapro/A/1", "ninapro/A/2", "ninapro/A/3")
rng = np.random.default_rng(0)
y = np.repeat(np.arange(3), 6)
X = rng.normal(size=(len(y), 50, 4)).astype(np.float32)
X[:, 0, 0] = y
windows = SimpleNamespace(X=X, y=y, labels=np.array([keys[i] for i in y]),
                          subject=np.array([f"S{i % 3 + 1}" for i in range(len(y))]),
                          repetition=np.array([i // 3 % 2 + 1 for i in range(len(y))]), fs=100.0,
                          channel_names=["c1", "c2", "c3", "c4"])

class Words:  # index flexion / index extension / middle flexion from a few words
    def encode_text(self, texts):
        out = []
        for t in texts:
            t = t.lower()
            v = np.full(3, 0.05)
            v[2 if "middle" in t else 1 if any(w in t for w in ("straighten", "extend", "lift")) else 0] = 1.0
            out.append(v / np.linalg.norm(v))
        return np.array(out, np.float32)

def embed(X):
    Z = np.eye(3, dtype=np.float32)[X[:, 0, 0].astype(int)] + 0.05 * rng.normal(size=(len(X), 3)).astype(np.float32)
    return Z / np.linalg.norm(Z, axis=1, keepdims=True)

index = RetrievalIndex(embed, windows, np.eye(3, dtype=np.float32), keys, Words())
explorer(index, title="toy index", sentence="bend the index finger")
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chromium() -> tuple[str, str]:
    chrome = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    assert chrome and driver, ("Debian's chromium and chromium-driver are required for the explorer's browser test: "
                               "`make browser` (as root: apt-get install -y chromium chromium-driver)")
    return chrome, driver


@pytest.fixture
def voila_server(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(TOY)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "explorer.ipynb"
    nbformat.write(nb, path)
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "MPLBACKEND": "module://matplotlib_inline.backend_inline", "OMP_NUM_THREADS": "1"}
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        from explore import voila_command  # the command `make explore` runs
    finally:
        sys.path.remove(str(REPO / "scripts"))
    log = open(tmp_path / "voila.log", "w")
    proc = subprocess.Popen(voila_command(path, port), cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                assert proc.poll() is None, (tmp_path / "voila.log").read_text()
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_live_explorer_answers_a_typed_sentence_in_headless_chromium(voila_server):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    chrome, driver_path = _chromium()
    opts = webdriver.ChromeOptions()
    opts.binary_location = chrome
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1400"):
        opts.add_argument(a)
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    try:
        driver.get(voila_server)
        wait = WebDriverWait(driver, 120)
        box = wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, ".widget-text input")))
        # the initial sentence's results are there: index flexion windows
        wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".myosem-text-results"), "index flexion"))
        typed = "straighten the index finger"
        box.clear()
        box.send_keys(typed, Keys.ENTER)
        wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".myosem-query"), typed))
        results = driver.find_element(By.CSS_SELECTOR, ".myosem-text-results")
        rows = results.find_elements(By.CSS_SELECTOR, "tbody tr")
        SHOTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(SHOTS / "explorer.png"))
        (SHOTS / "explorer.txt").write_text(f"typed: {typed}\nreturned:\n{results.text}\n")
        assert len(rows) == 5
        assert all("index extension" in r.text for r in rows), results.text
        assert "spread over subjects and repetitions" in driver.find_element(By.CSS_SELECTOR, ".myosem-query").text
        # the window side answers too: ranked descriptions with class keys beside the signal
        assert "ninapro/A/" in driver.find_element(By.CSS_SELECTOR, ".myosem-window-results").text
        # unticking "varied" gives the plain ranking
        driver.find_element(By.CSS_SELECTOR, ".widget-checkbox input").click()
        wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".myosem-query"), "ranked"))
        # text that names no movement: said plainly, nearest candidates shown as such, no windows
        box.clear()
        box.send_keys("👍 ✊ 🤙", Keys.ENTER)
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, ".myosem-abstained")))
        refused = driver.find_element(By.CSS_SELECTOR, ".myosem-abstained").text
        assert refused.startswith("no known hand movement in") and "nearest candidates, not matches" in refused
        assert driver.find_elements(By.CSS_SELECTOR, ".myosem-candidates tbody tr")
        assert not driver.find_elements(By.CSS_SELECTOR, ".myosem-text-results")
        driver.save_screenshot(str(SHOTS / "explorer-refused.png"))
    finally:
        driver.quit()

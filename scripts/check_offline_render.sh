#!/usr/bin/env bash
# Check that the built book renders offline (not part of CI; run after `make book`).
#
#   [HEIGHT=1800] [SHOTS=build/render-check] bash scripts/check_offline_render.sh [PAGE.html ...]
#   (default pages: the introduction and every chapter; HEIGHT is the screenshot height in pixels)
#
# 1. No page or stylesheet of book/_build/html loads a script, stylesheet, image
#    or font from the network (plain <a href> links to papers are fine).
# 2. Headless Chromium opens each page from disk (file://) with every host name
#    but localhost unresolvable, so nothing can come from the network, and
#    - saves a screenshot to $SHOTS (default build/render-check/),
#    - checks in the rendered DOM that MathJax typeset the formulas
#      (<mjx-container>) and that every embedded widget view rendered (.widget-subarea),
#      on pages that have formulas / widget state.
# Needs Debian's chromium (`apt-get install -y chromium`).
set -euo pipefail
cd "$(dirname "$0")/.."

html=book/_build/html
shots=${SHOTS:-build/render-check}
chrome=${CHROMIUM:-chromium}
[ -f "$html/index.html" ] || { echo "error: $html/index.html missing; run make book first" >&2; exit 1; }
command -v "$chrome" >/dev/null || { echo "error: $chrome not found; apt-get install -y chromium" >&2; exit 1; }
mkdir -p "$shots"

fail=0
# --- 1. static scan -----------------------------------------------------------
remote=$(grep -rhoE '<(script|img|iframe|source)[^>]*src="(https?:)?//[^"]*"|<link[^>]*href="(https?:)?//[^"]*"' \
             --include='*.html' "$html" | sort -u || true)
remote_css=$(grep -rhoE '(@import|url\() *["'"'"']?(https?:)?//[^)"'"'"' ]*' --include='*.css' "$html/_static" \
                 | sort -u || true)
if [ -n "$remote$remote_css" ]; then
    echo "FAIL: resources loaded from the network:"; printf '%s\n' "$remote" "$remote_css"; fail=1
else
    echo "ok: no page or stylesheet loads anything from the network"
fi

# --- 2. render in Chromium, offline ----------------------------------------------
if [ $# -gt 0 ]; then pages=("$@"); else mapfile -t pages < <(ls "$html"/book/executed/*.html "$html"/book/intro.html 2>/dev/null); fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
flags=(--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update
       --disable-sync --no-first-run --disable-quic --user-data-dir="$profile"
       --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE localhost"
       --allow-file-access-from-files --window-size=1280,${HEIGHT:-1800} --virtual-time-budget=15000)
for page in "${pages[@]}"; do
    name=$(basename "$page" .html)
    url="file://$(realpath "$page")"
    "$chrome" "${flags[@]}" --screenshot="$shots/$name.png" "$url" >/dev/null 2>&1
    dom=$("$chrome" "${flags[@]}" --dump-dom "$url" 2>/dev/null)
    status="$name:"
    if grep -q 'class="math' "$page"; then
        if grep -q '<mjx-container' <<<"$dom"; then status+=" math ok"; else status+=" MATH NOT RENDERED"; fail=1; fi
    fi
    views=$(grep -c '<script type="application/vnd.jupyter.widget-view+json">' "$page" || true)
    if [ "$views" -gt 0 ]; then
        # the HTML manager replaces each view's <script> with a rendered .widget-subarea
        shown=$(grep -o 'class="widget-subarea"' <<<"$dom" | wc -l || true)
        if [ "$shown" -ge "$views" ]; then status+=" widgets ok ($shown/$views)"
        else status+=" WIDGETS NOT RENDERED ($shown/$views)"; fail=1; fi
    fi
    echo "$status (screenshot $shots/$name.png)"
done
[ $fail -eq 0 ] && echo "offline render check passed" || { echo "offline render check FAILED" >&2; exit 1; }

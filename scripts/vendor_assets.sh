#!/usr/bin/env bash
# Copy the browser assets the built book needs into book/_static/vendor/ so its
# HTML renders offline: MathJax 3 (formulas), RequireJS and the ipywidgets HTML
# manager (embedded widget state). Versions are pinned by package-lock.json and
# installed from the npm registry with `npm ci`. _config.yml points Sphinx
# (mathjax_path) and myst-nb (nb_ipywidgets_js) at the copies.
set -euo pipefail
cd "$(dirname "$0")/.."

vendor=book/_static/vendor
npm ci --no-audit --no-fund --loglevel=error
rm -rf "$vendor.tmp"
mkdir -p "$vendor.tmp/html-manager"
cp -r node_modules/mathjax/es5 "$vendor.tmp/mathjax"
cp node_modules/requirejs/require.js "$vendor.tmp/require.js"
# embed-amd.js finds its fonts next to itself; the source map and the non-AMD bundle are not needed
find node_modules/@jupyter-widgets/html-manager/dist -maxdepth 1 -type f \
    ! -name '*.map' ! -name 'embed.js' ! -name 'embed.js.LICENSE.txt' \
    -exec cp {} "$vendor.tmp/html-manager/" \;
for f in mathjax/tex-mml-chtml.js require.js html-manager/embed-amd.js; do
    [ -s "$vendor.tmp/$f" ] || { echo "error: vendored asset $f is missing" >&2; exit 1; }
done
rm -rf "$vendor"
mv "$vendor.tmp" "$vendor"
echo "vendored offline assets into $vendor ($(du -sh "$vendor" | cut -f1))"

#!/bin/sh
# Runs the browser tests (node --test) of this folder. Fails, saying what to install, when
# Node.js, Chromium or the npm packages are missing: a UI suite that silently skips would
# hide a broken admin UI.
set -u
here=$(cd "$(dirname "$0")" && pwd)
chromium=${SKED_CHROMIUM:-/usr/bin/chromium}
missing=""
command -v node >/dev/null 2>&1 || missing="$missing
  - Node.js:   apt-get install nodejs npm"
[ -x "$chromium" ] || missing="$missing
  - Chromium:  apt-get install chromium   (looked for $chromium; SKED_CHROMIUM names another)"
[ -f "$here/node_modules/playwright-core/package.json" ] || missing="$missing
  - playwright-core: (cd tests/ui && npm ci)"
[ -f "$here/node_modules/axe-core/axe.min.js" ] || missing="$missing
  - axe-core:  (cd tests/ui && npm ci)"
if [ -n "$missing" ]; then
    echo "The UI tests cannot run; missing:$missing" >&2
    exit 1
fi
# paths given relative to where this was started stay valid after the cd below
abs() { case "$1" in /*) printf '%s' "$1" ;; *) printf '%s/%s' "$(pwd)" "$1" ;; esac; }
for v in SKED_BIN SKED_SRC SKED_SCREENSHOT_DIR SKED_UI_WEB_DIR; do
    eval "val=\${$v:-}"
    [ -n "$val" ] && export "$v=$(abs "$val")"
done
cd "$here" || exit 1
# One file at a time: each starts its own sked and browser, and two cores are enough for one.
exec node --test --test-concurrency=1 workflow.test.mjs roles.test.mjs people.test.mjs queues.test.mjs chains.test.mjs backfill.test.mjs layout.test.mjs details.test.mjs forms.test.mjs lists.test.mjs outage.test.mjs a11y.test.mjs biglog.test.mjs scale.test.mjs live.test.mjs

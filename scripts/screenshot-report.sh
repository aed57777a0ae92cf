#!/usr/bin/env bash
# Renders a reproduce report in headless Chromium and saves a PNG screenshot, so you can check that
# the report (and its inline SVG figures) renders in a real browser.
#
#   scripts/screenshot-report.sh REPORT.html [OUT.png] [WIDTHxHEIGHT]
#
# Installs Debian's `chromium` package when no Chromium is found (needs root and apt-get).
# Exit code 0 when the PNG was written and is not blank.
set -euo pipefail

report="${1:?usage: scripts/screenshot-report.sh REPORT.html [OUT.png] [WIDTHxHEIGHT]}"
out="${2:-${report%.html}.png}"
size="${3:-1100x6000}"
[ -f "$report" ] || { echo "error: $report does not exist" >&2; exit 2; }

browser=""
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then browser="$b"; break; fi
done
if [ -z "$browser" ]; then
  echo "installing chromium (Debian package)…" >&2
  if [ "$(id -u)" -ne 0 ]; then echo "error: chromium is missing and installing it needs root" >&2; exit 2; fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  browser=chromium
fi

profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
url="file://$(cd "$(dirname "$report")" && pwd)/$(basename "$report")"
out_abs="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
rm -f "$out_abs"
# No network, no first-run UI, no background services: the report is self-contained.
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync --disable-extensions \
  --hide-scrollbars --user-data-dir="$profile" --window-size="${size/x/,}" \
  --screenshot="$out_abs" "$url" >/dev/null 2>&1 || true
if [ ! -s "$out_abs" ]; then echo "error: chromium wrote no screenshot" >&2; exit 1; fi
bytes=$(stat -c %s "$out_abs")
echo "screenshot: $out_abs ($bytes bytes, $size) of $url"
# A blank page compresses to a few kB; a page with figures and tables is far larger.
if [ "$bytes" -lt 20000 ]; then echo "error: the screenshot looks blank" >&2; exit 1; fi

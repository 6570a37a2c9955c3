#!/bin/sh
# Runs the app under Xvfb on a collection (default: the bundled demo) and saves a screenshot of
# the whole screen: the way a person sees it. Usage: tools/screenshot.sh OUT.png [DIR] [SECONDS]
set -eu
out=${1:?usage: tools/screenshot.sh OUT.png [DIR] [SECONDS]}
dir=${2:-$(dirname "$0")/../resources/demo}
wait=${3:-6}
build=${QUORUM_BUILD:-$(dirname "$0")/../build}
display=:$((90 + $$ % 9))
# QUORUM_SHOT_DATA: an XDG data folder prepared beforehand (catalogs, runs), kept afterwards
data=${QUORUM_SHOT_DATA:-$(mktemp -d)}
Xvfb "$display" -screen 0 1280x860x24 >/dev/null 2>&1 &
xvfb=$!
trap 'kill $app $xvfb 2>/dev/null || true; [ -n "${QUORUM_SHOT_DATA:-}" ] || rm -rf "$data"' EXIT
sleep 1
DISPLAY=$display GSK_RENDERER=cairo GSETTINGS_BACKEND=memory XDG_DATA_HOME=$data NO_AT_BRIDGE=1 \
  "$build/quorum" "$dir" >/dev/null 2>&1 &
app=$!
sleep "$wait"
# Optional key presses before the shot (needs xdotool), e.g. QUORUM_SHOT_KEYS="ctrl+e".
# A token sleep:N waits N seconds; click:X,Y clicks there; resize:W,H resizes the window;
# type:WORDS types WORDS, underscores standing for spaces (type:two_dogs).
for key in ${QUORUM_SHOT_KEYS:-}; do
  case "$key" in
    sleep:*) sleep "${key#sleep:}"; continue ;;
    click:*) xy=${key#click:}; DISPLAY=$display xdotool mousemove "${xy%,*}" "${xy#*,}" click 1; sleep 1; continue ;;
    type:*) DISPLAY=$display xdotool type --delay 20 "$(echo "${key#type:}" | tr _ ' ')"; sleep 0.5; continue ;;
    resize:*) wh=${key#resize:}; DISPLAY=$display xdotool search --sync --onlyvisible --class quorum windowsize "${wh%,*}" "${wh#*,}" || DISPLAY=$display xdotool getactivewindow windowsize "${wh%,*}" "${wh#*,}"; sleep 2; continue ;;
  esac
  DISPLAY=$display xdotool search --name Quorum windowactivate --sync key "$key" 2>/dev/null || \
    DISPLAY=$display xdotool key "$key"
  sleep 1
done
DISPLAY=$display import -window root "$out"
echo "screenshot: $out"

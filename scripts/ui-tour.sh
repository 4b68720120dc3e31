#!/usr/bin/env bash
# The UI tour of docs/ui.md: seeds a hub (SQLite) with the corpus' reports, a gate run and a triaged
# finding, opens each page of the UI in headless Chromium at 1280x900 and saves its screenshot as
# docs/ui/NAME.png (pages this build does not have are said and left out). The ignored test
# `ui_tour` of crates/tollgate/tests/browser does the work.
# Usage: scripts/ui-tour.sh [OUT_DIR]   (default docs/ui; needs chromium and chromium-driver)
set -euo pipefail
cd "$(dirname "$0")/.."
export TOLLGATE_UI_TOUR_DIR="$(realpath -m "${1:-docs/ui}")"
export TOLLGATE_CORPUS="${TOLLGATE_CORPUS:-$PWD/../shared/corpus}"
export TOLLGATE_REQUIRE_CORPUS=1 TOLLGATE_REQUIRE_BROWSER=1
unset TOLLGATE_TEST_POSTGRES_URL
cargo test -q -p tollgate --test browser --locked -- --ignored --exact tour::ui_tour --nocapture
ls -l "$TOLLGATE_UI_TOUR_DIR"/*.png
du -ch "$TOLLGATE_UI_TOUR_DIR"/*.png | tail -1

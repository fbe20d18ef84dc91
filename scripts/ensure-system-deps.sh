#!/usr/bin/env bash
# Debian packages the project needs that a fresh machine may lack: a JRE and the H2 JDBC driver
# (the Xactly emulator is an H2 database reached through a real JDBC driver). Idempotent and quick
# when everything is present.
set -euo pipefail
missing=()
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
[ -f /usr/share/java/h2.jar ] || missing+=(libh2-java)
# PostgreSQL server binaries: tests/test_state_backend.py starts a throwaway Meltano system database.
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
# Headless Chromium: tests/test_report.py opens the run report the way a person would.
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

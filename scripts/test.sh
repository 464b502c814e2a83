#!/usr/bin/env bash
# The project's one test command (npm test). The integration tests start real services, so this
# first makes sure the Debian packages that provide them are installed, then builds and runs vitest.
# Arguments go to vitest: `npm test -- test/dockerd.test.ts`.
set -euo pipefail
cd "$(dirname "$0")/.."

# Package -> the file the tests run.
missing=()
have_dockerd() { command -v dockerd >/dev/null 2>&1 || [ -x /usr/sbin/dockerd ]; }
have_busybox_static() {
  # The test image copies /bin/busybox into an empty rootfs, so it must be the static build.
  if command -v dpkg-query >/dev/null 2>&1; then
    [ "$(dpkg-query -W -f='${db:Status-Status}' busybox-static 2>/dev/null || true)" = installed ]
  else
    [ -x /bin/busybox ]
  fi
}
have_dockerd || missing+=(docker.io)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
[ -x /usr/sbin/nginx ] || missing+=(nginx)
have_busybox_static || missing+=(busybox-static)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)  # the TLS test makes a self-signed certificate
# The console's browser tests drive Debian's chromium (puppeteer-core downloads no browser).
[ -x /usr/bin/chromium ] || missing+=(chromium)

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "the tests need these Debian packages, and there is no apt-get here: ${missing[*]}" >&2
    exit 1
  fi
  # Installing docker.io, nginx or openssh-server must neither start the system's own daemons nor
  # enable them at boot: see quiet-install.sh.
  # shellcheck source=scripts/quiet-install.sh
  source scripts/quiet-install.sh
  export DEBIAN_FRONTEND=noninteractive
  apt_install() { apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confold "${missing[@]}"; }
  # Update the package lists only when the install cannot find what it needs.
  if ! install_quietly apt_install; then
    apt-get update -q
    install_quietly apt_install
  fi
fi

[ -d node_modules ] || npm ci
npm run build
# The layer rules of docs/architecture.md: a forbidden import or a cycle fails the run here.
npm run lint:deps
npx vitest run "$@"

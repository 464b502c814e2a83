# Sourced by scripts/test.sh: installs Debian packages and leaves the system's services as they were.
# Debian's postinst scripts start a daemon they install (docker.io, nginx, openssh-server) and enable
# it at boot: a policy-rc.d answering 101 ("action forbidden") stops the starts, and every unit the
# install enabled that was not enabled before is disabled again afterwards.
# Test hooks (test/unit/test-script-services.test.ts): POLICY_RC_D, where policy-rc.d lives, and
# SYSTEMD_ROOT, a directory systemctl acts on instead of the running system (`systemctl --root`).

POLICY_RC_D="${POLICY_RC_D:-/usr/sbin/policy-rc.d}"
SYSTEMD_ROOT="${SYSTEMD_ROOT:-}"

systemctl_here() {
  if [ -n "$SYSTEMD_ROOT" ]; then systemctl --root="$SYSTEMD_ROOT" "$@"; else systemctl "$@"; fi
}

# The unit files enabled now, one name a line, sorted; nothing where there is no systemctl.
enabled_units() {
  command -v systemctl >/dev/null 2>&1 || return 0
  local listed
  # It exits 1 when no unit matches: an empty list, not a failure (test.sh runs with errexit and pipefail).
  listed="$(systemctl_here list-unit-files --state=enabled --no-legend --no-pager 2>/dev/null || true)"
  printf '%s\n' "$listed" | awk 'NF { print $1 }' | LC_ALL=C sort -u
}

# Disables each unit enabled now that the file $1 (enabled_units before the install) does not name.
disable_newly_enabled() {
  local before="$1" unit
  command -v systemctl >/dev/null 2>&1 || return 0
  LC_ALL=C comm -13 "$before" <(enabled_units) | while IFS= read -r unit; do
    echo "test.sh: the install enabled $unit at boot; disabling it again (it was not enabled before)" >&2
    systemctl_here disable --quiet "$unit" || echo "test.sh: could not disable $unit: run systemctl disable $unit" >&2
  done
}

# Runs "$@" (the install) with service starts refused, then disables what it newly enabled; returns
# its status. In a subshell, so the EXIT trap cleans up on failure, Ctrl-C or SIGTERM alike.
install_quietly() (
  before="$(mktemp)"
  created=""
  cleanup() {
    if [ -n "$created" ]; then rm -f "$POLICY_RC_D"; fi
    disable_newly_enabled "$before"
    rm -f "$before"
  }
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  enabled_units >"$before"
  # An administrator's own policy-rc.d stays as it is, and it decides; ours is made only when absent.
  if [ ! -e "$POLICY_RC_D" ]; then
    created=1
    printf '#!/bin/sh\n# made by warden scripts/test.sh for one apt-get install; removed after it\nexit 101\n' >"$POLICY_RC_D"
    chmod 0755 "$POLICY_RC_D"
  fi
  "$@"
)

#!/usr/bin/env bash
# Debian packages the tests need: real POP3 (dovecot) and MQTT (mosquitto) servers.
# The tests start their own instances on loopback high ports; the distribution's
# services are kept from starting at install time.
set -euo pipefail
need=()
command -v /usr/sbin/dovecot >/dev/null 2>&1 || need+=(dovecot-core dovecot-pop3d)
command -v /usr/sbin/mosquitto >/dev/null 2>&1 || need+=(mosquitto)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "install_system_deps: need root to apt-get install ${need[*]}" >&2
    exit 1
fi
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    made_policy=1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
[ "$made_policy" = 1 ] && rm -f "$policy"
exit 0

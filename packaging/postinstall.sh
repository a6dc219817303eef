#!/bin/sh
# idcon package: after installing or upgrading.
set -e
# The system user (sysusers.d/idcon.conf), where systemd-sysusers exists;
# else by hand, as the same line says.
if command -v systemd-sysusers >/dev/null 2>&1; then
    systemd-sysusers /usr/lib/sysusers.d/idcon.conf || true
fi
if ! getent passwd idcon >/dev/null 2>&1; then
    if command -v adduser >/dev/null 2>&1 && adduser --help 2>&1 | grep -q -- --system; then
        adduser --system --group --home /var/lib/idcon --no-create-home --shell /usr/sbin/nologin idcon >/dev/null
    else
        useradd --system --user-group --home-dir /var/lib/idcon --no-create-home --shell /usr/sbin/nologin idcon
    fi
fi
# The keys file the service reads: public keys, readable by idcon, changed
# by root. Never replaced once there.
if [ ! -e /etc/idcon/authorized_keys ]; then
    install -d -m 0755 /etc/idcon
    cat > /etc/idcon/authorized_keys <<'KEYS'
# idcon serve's admins: one key per line, with its role and name, e.g.
# role="admin",name="alice" ssh-ed25519 AAAA... alice@laptop
# Saved changes are picked up within a second (or: systemctl reload idcon-serve).
KEYS
    chmod 0644 /etc/idcon/authorized_keys
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
    # An upgrade restarts a running server (its consoles get the grace
    # period); a first install leaves starting it to the admin, once a key
    # is in /etc/idcon/authorized_keys (docs/OPERATING.md).
    systemctl try-restart idcon-serve.service || true
fi
exit 0

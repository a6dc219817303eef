#!/bin/sh
# idcon package: before removing (not before an upgrade).
set -e
case "$1" in
    remove|0)
        if [ -d /run/systemd/system ]; then
            systemctl disable --now idcon-serve.service >/dev/null 2>&1 || true
        fi
        ;;
esac
exit 0

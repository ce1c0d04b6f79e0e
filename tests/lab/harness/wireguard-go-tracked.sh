#!/usr/bin/env bash
# wg-quick's userspace fallback for labs (WG_QUICK_USERSPACE_IMPLEMENTATION): starts wireguard-go in
# the foreground as a background job so that its PID is known (written to
# $HOMEMAIL_LAB_PID_DIR/<interface>.pid) and the lab can stop it by PID; returns once the interface
# and its UAPI socket exist, as plain wireguard-go would.
set -Eeuo pipefail
interface=$1
: "${HOMEMAIL_LAB_PID_DIR:?set by the lab}"
wireguard-go -f "$interface" </dev/null >>"$HOMEMAIL_LAB_PID_DIR/$interface.log" 2>&1 &
echo $! >"$HOMEMAIL_LAB_PID_DIR/$interface.pid"
for _ in $(seq 100); do
    [[ -S /run/wireguard/$interface.sock ]] && ip link show dev "$interface" >/dev/null 2>&1 && exit 0
    sleep 0.05
done
echo "wireguard-go did not create $interface within 5 s" >&2
exit 1

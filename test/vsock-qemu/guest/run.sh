#!/bin/sh
# Started by the guest's /init (build-guest.sh) after the vsock modules are
# loaded; the test appends this file, the guest script and its config.
echo "ARCA-GUEST node-start uptime=$(cut -d' ' -f1 /proc/uptime)"
timeout 120 node /guest/vsock-in-guest.mjs /guest/config.json

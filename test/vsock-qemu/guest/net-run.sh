#!/bin/sh
# /guest/run.sh of test/e2e/offload-qemu.test.ts: the guest's NIC is QEMU's
# `-netdev stream` (plain framing) on a helper data port of the lab.
echo "ARCA-GUEST node-start uptime=$(cut -d' ' -f1 /proc/uptime)"
timeout 200 node /guest/net-guest.mjs /guest/net.json

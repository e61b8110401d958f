#!/usr/bin/env python3
"""A hostile container's traffic (arca-net's own test tool).

  hostile.py frame IFACE SRC_MAC DST_MAC SRC_IP DST_IP SPORT DPORT TAG [COUNT]
  hostile.py offer IFACE SRC_MAC SRC_IP [COUNT]
  hostile.py discover SERVER_IP CHADDR
  hostile.py udp DST_IP PORT TAG [COUNT [TTL]]

`frame` writes COUNT Ethernet/IPv4/UDP frames with whatever source MAC and
IP it is given (spoofed or not) through a raw packet socket; the payload is
TAG. `offer` writes a forged DHCPOFFER (UDP 67 -> 68) to the broadcast
addresses from SRC_MAC/SRC_IP, the container's own (so port security lets it
through and only a DHCP ACL can stop it). `discover` sends a DHCPDISCOVER with
the broadcast flag by unicast UDP from port 68 to SERVER_IP (OVN answers only
broadcasts and its own server address, so a rogue server sees this one).
`udp` sends TAG as datagrams through an ordinary socket (broadcast allowed,
multicast TTL). Run inside a container's namespace (`ip netns exec`).
"""
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reliability"))
from frames import ETH_P_IP, ip_checksum, mac_bytes  # noqa: E402

BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"
DHCP_MAGIC = b"\x63\x82\x53\x63"


def udp_frame(src_mac, dst_mac, src_ip, dst_ip, sport, dport, payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
        socket.inet_aton(src_ip), socket.inet_aton(dst_ip),
    )
    ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
    return mac_bytes(dst_mac) + mac_bytes(src_mac) + struct.pack("!H", ETH_P_IP) + ip + udp


def raw_send(iface, frames):
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((iface, 0))
    for data in frames:
        sock.send(data)


def bootp(op, chaddr, yiaddr, siaddr, options, flags=0):
    header = struct.pack(
        "!BBBBIHH4s4s4s4s16s64s128s",
        op, 1, 6, 0, 0x1A2B3C4D, 0, flags,
        bytes(4), socket.inet_aton(yiaddr), socket.inet_aton(siaddr), bytes(4),
        mac_bytes(chaddr), bytes(64), bytes(128),
    )
    return header + DHCP_MAGIC + options + b"\xff"


def frame(args):
    iface, src_mac, dst_mac, src_ip, dst_ip, sport, dport, tag = args[:8]
    count = int(args[8]) if len(args) > 8 else 1
    data = udp_frame(src_mac, dst_mac, src_ip, dst_ip, int(sport), int(dport), tag.encode())
    raw_send(iface, [data] * count)


def offer(args):
    iface, src_mac, src_ip = args[:3]
    count = int(args[3]) if len(args) > 3 else 1
    prefix = src_ip.rsplit(".", 1)[0]
    options = (
        b"\x35\x01\x02"  # DHCPOFFER
        + b"\x36\x04" + socket.inet_aton(src_ip)  # server identifier: the rogue
        + b"\x03\x04" + socket.inet_aton(src_ip)  # router: the rogue
        + b"\x33\x04" + struct.pack("!I", 3600)
    )
    payload = bootp(2, BROADCAST_MAC, f"{prefix}.200", src_ip, options)
    data = udp_frame(src_mac, BROADCAST_MAC, src_ip, "255.255.255.255", 67, 68, payload)
    raw_send(iface, [data] * count)


def discover(args):
    server, chaddr = args[:2]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("", 68))
    payload = bootp(1, chaddr, "0.0.0.0", "0.0.0.0", b"\x35\x01\x01", flags=0x8000)
    sock.sendto(payload, (server, 67))


def udp(args):
    dst, port, tag = args[0], int(args[1]), args[2].encode()
    count = int(args[3]) if len(args) > 3 else 1
    ttl = int(args[4]) if len(args) > 4 else 1
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
    for _ in range(count):
        sock.sendto(tag, (dst, port))


COMMANDS = {"frame": frame, "offer": offer, "discover": discover, "udp": udp}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.stderr.write(__doc__)
        sys.exit(2)
    COMMANDS[sys.argv[1]](sys.argv[2:])

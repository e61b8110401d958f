#!/usr/bin/env python3
"""Frame integrity traffic tool (arca-net's own).

  frames.py send IFACE SRC_MAC DST_MAC SRC_IP DST_IP STREAM COUNT SEED MTU
  frames.py recv IFACE IDLE_SECONDS STREAM...

`send` writes COUNT Ethernet/IPv4/UDP frames of random sizes (64 bytes, the smallest that holds the header, to
MTU + 14) on IFACE through a raw packet socket, each carrying a magic, the
stream id, a sequence number and a CRC32 of the whole payload; it prints
{"sent": N}. `recv` reads frames of the given streams on IFACE until none
came for IDLE_SECONDS (after the first) and prints per-stream counts:
received, corrupted (bad CRC or length), reordered (a sequence number below
the highest seen and not seen before), duplicated (seen before), highest;
and "socketDrops": the frames its own socket's full buffer dropped.
Run each inside a container's namespace (`ip netns exec`).
"""
import json
import os
import random
import socket
import struct
import sys
import time
import zlib

MAGIC = 0xA2CAF2A3
UDP_PORT = 47001
ETH_P_IP = 0x0800
SOL_PACKET = 263
PACKET_STATISTICS = 6
HEADER = struct.Struct("!IIQH")  # magic, stream, seq, payload length


def mac_bytes(text):
    return bytes(int(part, 16) for part in text.split(":"))


def ip_checksum(header):
    total = sum(struct.unpack("!10H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


def frame(src_mac, dst_mac, src_ip, dst_ip, stream, seq, size, rng):
    # size: the whole Ethernet frame (no FCS)
    body_len = size - 14 - 20 - 8
    fill = rng.randbytes(body_len - HEADER.size - 4)
    payload = HEADER.pack(MAGIC, stream, seq, body_len) + fill
    payload += struct.pack("!I", zlib.crc32(payload) & 0xFFFFFFFF)
    udp = struct.pack("!HHHH", UDP_PORT, UDP_PORT, 8 + len(payload), 0) + payload
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), seq & 0xFFFF, 0, 64, 17, 0, src_ip, dst_ip
    )
    ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
    return dst_mac + src_mac + struct.pack("!H", ETH_P_IP) + ip + udp


def send(args):
    iface, src_mac, dst_mac, src_ip, dst_ip, stream, count, seed, mtu = args
    rng = random.Random(int(seed))
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((iface, 0))
    smac, dmac = mac_bytes(src_mac), mac_bytes(dst_mac)
    sip, dip = socket.inet_aton(src_ip), socket.inet_aton(dst_ip)
    largest = int(mtu) + 14
    sent = 0
    for seq in range(int(count)):
        data = frame(smac, dmac, sip, dip, int(stream), seq, rng.randint(64, largest), rng)
        while True:
            try:
                sock.send(data)
                break
            except BlockingIOError:
                time.sleep(0.0005)
            except OSError as err:  # ENOBUFS: the TAP queue is full, try again
                if err.errno != 105:
                    raise
                time.sleep(0.0005)
        sent += 1
    print(json.dumps({"sent": sent}))


def recv(args):
    iface, idle = args[0], float(args[1])
    wanted = {int(s) for s in args[2:]}
    stats = {
        s: {"received": 0, "corrupted": 0, "reordered": 0, "duplicated": 0, "highest": -1}
        for s in wanted
    }
    seen = {s: set() for s in wanted}
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    sock.bind((iface, 0))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
    sock.settimeout(30.0)
    print("ready", flush=True)
    first = True
    while True:
        try:
            data, addr = sock.recvfrom(65536)
        except socket.timeout:
            break
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        if len(data) < 14 + 20 + 8 + HEADER.size + 4 or data[23] != 17:
            continue
        if struct.unpack("!H", data[36:38])[0] != UDP_PORT:
            continue
        payload = data[42:]
        magic, stream, seq, body_len = HEADER.unpack(payload[: HEADER.size])
        if magic != MAGIC or stream not in wanted:
            continue
        if first:
            sock.settimeout(idle)
            first = False
        s = stats[stream]
        body = payload[:body_len]
        if len(body) != body_len or len(body) < HEADER.size + 4:
            s["corrupted"] += 1
            continue
        crc = struct.unpack("!I", body[-4:])[0]
        if zlib.crc32(body[:-4]) & 0xFFFFFFFF != crc:
            s["corrupted"] += 1
            continue
        s["received"] += 1
        if seq in seen[stream]:
            s["duplicated"] += 1
        elif seq < s["highest"]:
            s["reordered"] += 1
        seen[stream].add(seq)
        s["highest"] = max(s["highest"], seq)
    out = {str(k): v for k, v in stats.items()}
    # The kernel's count of frames this socket's full buffer dropped (struct tpacket_stats).
    _, drops = struct.unpack("II", sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
    out["socketDrops"] = drops
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("send", "recv"):
        sys.stderr.write(__doc__)
        sys.exit(2)
    (send if sys.argv[1] == "send" else recv)(sys.argv[2:])
    sys.stdout.flush()
    os._exit(0)

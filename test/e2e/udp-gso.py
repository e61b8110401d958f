"""UDP GSO (UDP_SEGMENT) through a path: `recv IP PORT COUNT` prints "ready" once bound, then
the number of datagrams it got (it stops at COUNT or after 3 s of silence); `send IP PORT N`
sends N buffers of 10 datagrams of 1000 bytes each with one sendto per buffer."""
import socket
import sys

UDP_SEGMENT = 103  # linux/udp.h

mode, host, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
if mode == "recv":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, port))
    s.settimeout(3)
    print("ready", flush=True)
    got = 0
    try:
        while got < n:
            s.recv(65535)
            got += 1
    except socket.timeout:
        pass
    print(got, flush=True)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_UDP, UDP_SEGMENT, 1000)
    for _ in range(n):
        s.sendto(b"x" * 10000, (host, port))

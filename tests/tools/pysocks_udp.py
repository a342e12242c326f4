#!/usr/bin/python3
"""pysocks_udp.py - UDP round trips through a SOCKS5 gateway with
PySocks (Debian's python3-socks), a client the project did not write.

Sends each TEXT to DEST_HOST:DEST_PORT over one UDP association (a name
travels as a DOMAINNAME: rdns) and prints "from HOST PORT DATA" for each
answer. Exits 1 if an answer does not come within 5 s.
usage: pysocks_udp.py GW_HOST GW_PORT DEST_HOST DEST_PORT TEXT...
"""
import socket
import sys

import socks


def main():
    gw_host, gw_port = sys.argv[1], int(sys.argv[2])
    host, port = sys.argv[3], int(sys.argv[4])
    s = socks.socksocket(socket.AF_INET, socket.SOCK_DGRAM)
    s.set_proxy(socks.SOCKS5, gw_host, gw_port, rdns=True)
    s.settimeout(5)
    for text in sys.argv[5:]:
        s.sendto(text.encode(), (host, port))
        data, (fhost, fport) = s.recvfrom(2048)
        if isinstance(fhost, bytes):    # PySocks gives a DOMAINNAME so
            fhost = fhost.decode()
        print("from", fhost, fport, data.decode(), flush=True)
    s.close()


if __name__ == "__main__":
    main()

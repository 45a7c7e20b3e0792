#!/usr/bin/python3
"""An independent HBONE peer for interop tests: Python's ssl (OpenSSL) and the `h2` library
(python3-h2 from Debian), sharing no code with the project's Node HTTP/2 stack.

client: mutual TLS 1.3 + ALPN h2 to HOST:PORT, checks the server's URI SAN, sends
        CONNECT AUTHORITY, then one HTTP/1.1 request inside the tunnel, half-closes, and prints
        a JSON result: {connect_status, server_sans, response}.
server: listens on HOST:PORT as a destination ztunnel would: requires a client certificate from
        the mesh root, answers CONNECT with 200, and answers each HTTP/1.1 request inside the tunnel
        with a JSON report (authority, peer identity, request line, headers). Prints
        "LISTENING host:port" once ready; runs until killed.
"""
import argparse
import json
import socket
import ssl
import sys
import threading

import h2.config
import h2.connection
import h2.events
import h2.exceptions


def tls_context(server, cert, key, root):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(root)
    ctx.verify_mode = ssl.CERT_REQUIRED
    if not server:
        ctx.check_hostname = False  # HBONE has no host name: identities are URI SANs
    ctx.set_alpn_protocols(["h2"])
    return ctx


def h2_config(client_side):
    # h2 4.x validates CONNECT as if it needed :scheme/:path; RFC 9113 §8.5 CONNECT (HBONE) has
    # only :method and :authority, so header validation is off both ways.
    return h2.config.H2Configuration(
        client_side=client_side,
        header_encoding="utf-8",
        validate_outbound_headers=False,
        validate_inbound_headers=False,
        normalize_inbound_headers=False,
    )


def uri_sans(peer_cert):
    return [v for (k, v) in peer_cert.get("subjectAltName", ()) if k == "URI"]


def run_client(a):
    ctx = tls_context(False, a.cert, a.key, a.root)
    raw = socket.create_connection((a.host, a.port), timeout=20, source_address=(a.source, 0) if a.source else None)
    tls = ctx.wrap_socket(raw)  # no server_hostname: no SNI, as ztunnel
    if tls.selected_alpn_protocol() != "h2":
        print(json.dumps({"error": "ALPN h2 not negotiated"}))
        return 2
    sans = uri_sans(tls.getpeercert())
    if a.expect and a.expect not in sans:
        print(json.dumps({"error": "server identity mismatch", "server_sans": sans}))
        return 3
    conn = h2.connection.H2Connection(h2_config(True))
    conn.initiate_connection()
    sid = conn.get_next_available_stream_id()
    conn.send_headers(sid, [(":method", "CONNECT"), (":authority", a.authority)])
    tls.sendall(conn.data_to_send())
    status = None
    body = bytearray()
    done = False
    while not done:
        data = tls.recv(65536)
        if not data:
            break
        for ev in conn.receive_data(data):
            if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == sid:
                status = int(dict(ev.headers)[":status"])
                if status != 200:
                    done = True
                    break
                req = (
                    f"GET {a.path} HTTP/1.1\r\nHost: {a.host_header}\r\nUser-Agent: python-h2-interop\r\n"
                    "Connection: close\r\n\r\n"
                ).encode()
                conn.send_data(sid, req, end_stream=True)  # half-close after the request
            elif isinstance(ev, h2.events.DataReceived) and ev.stream_id == sid:
                body.extend(ev.data)
                conn.acknowledge_received_data(ev.flow_controlled_length, sid)
            elif isinstance(ev, (h2.events.StreamEnded, h2.events.StreamReset)) and ev.stream_id == sid:
                done = True
            elif isinstance(ev, h2.events.ConnectionTerminated):
                done = True
        tls.sendall(conn.data_to_send())
    print(json.dumps({"connect_status": status, "server_sans": sans, "response": body.decode("utf-8", "replace")}))
    tls.close()
    return 0


class Tunnel:
    def __init__(self, authority):
        self.authority = authority
        self.buf = bytearray()


def http1_replies(tunnel, peer):
    """Parses complete HTTP/1.1 requests (no bodies beyond Content-Length) and builds replies."""
    out = bytearray()
    while True:
        end = tunnel.buf.find(b"\r\n\r\n")
        if end < 0:
            return out
        head = tunnel.buf[:end].decode("latin-1").split("\r\n")
        headers = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        length = int(headers.get("content-length", "0"))
        if len(tunnel.buf) < end + 4 + length:
            return out
        del tunnel.buf[: end + 4 + length]
        report = json.dumps(
            {"app": "python-hbone", "authority": tunnel.authority, "peer_identity": peer, "request_line": head[0], "headers": headers}
        ).encode()
        out += b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + str(len(report)).encode() + b"\r\n\r\n" + report


def serve_connection(tls):
    try:
        peer = uri_sans(tls.getpeercert())
        conn = h2.connection.H2Connection(h2_config(False))
        conn.initiate_connection()
        tls.sendall(conn.data_to_send())
        tunnels = {}
        while True:
            data = tls.recv(65536)
            if not data:
                return
            for ev in conn.receive_data(data):
                if isinstance(ev, h2.events.RequestReceived):
                    h = dict(ev.headers)
                    if h.get(":method") != "CONNECT":
                        conn.send_headers(ev.stream_id, [(":status", "400")], end_stream=True)
                        continue
                    tunnels[ev.stream_id] = Tunnel(h.get(":authority", ""))
                    conn.send_headers(ev.stream_id, [(":status", "200")])
                elif isinstance(ev, h2.events.DataReceived):
                    conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                    t = tunnels.get(ev.stream_id)
                    if t is None:
                        continue
                    t.buf.extend(ev.data)
                    reply = http1_replies(t, peer[0] if peer else None)
                    if reply:
                        conn.send_data(ev.stream_id, bytes(reply))
                elif isinstance(ev, h2.events.StreamEnded):
                    if ev.stream_id in tunnels:
                        conn.end_stream(ev.stream_id)
                        del tunnels[ev.stream_id]
                elif isinstance(ev, h2.events.StreamReset):
                    tunnels.pop(ev.stream_id, None)
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    return
            tls.sendall(conn.data_to_send())
    except (OSError, ssl.SSLError, h2.exceptions.ProtocolError):
        return
    finally:
        tls.close()


def run_server(a):
    ctx = tls_context(True, a.cert, a.key, a.root)
    srv = socket.create_server((a.host, a.port))
    print(f"LISTENING {a.host}:{srv.getsockname()[1]}", flush=True)
    while True:
        raw, _ = srv.accept()
        try:
            tls = ctx.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            raw.close()
            continue
        threading.Thread(target=serve_connection, args=(tls,), daemon=True).start()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["client", "server"])
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--root", required=True)
    p.add_argument("--source")
    p.add_argument("--expect")
    p.add_argument("--authority")
    p.add_argument("--path", default="/")
    p.add_argument("--host-header", default="interop")
    a = p.parse_args()
    return run_client(a) if a.mode == "client" else run_server(a)


if __name__ == "__main__":
    sys.exit(main())

"""
contrib/: the systemd units, the example tap.cfg that goes with them, and
the nginx site.  Structural checks always run; systemd-analyze and nginx
check the files too where they are installed.
"""

import configparser
import datetime
import ipaddress
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chatd import config as chat_config
from chatd.config import WebConfig

ROOT = Path(__file__).resolve().parent.parent
SYSTEMD = ROOT / "contrib" / "systemd"
NGINX = ROOT / "contrib" / "nginx" / "chatd.conf"
DOCS = ROOT / "docs" / "operations.md"
UNITS = ("chatd.service", "chatd-lines.socket", "chatd-web.socket")


def unit(name: str) -> configparser.ConfigParser:
    """A unit file as INI: repeated keys (After=, Environment=) are kept as lists."""
    parser = configparser.ConfigParser(strict=False, interpolation=None, dict_type=_MultiDict,
                                       empty_lines_in_values=False)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string((SYSTEMD / name).read_text(encoding="utf-8"), source=name)
    return parser


class _MultiDict(dict):
    """Collects repeated keys into a list, as systemd reads them."""

    def __setitem__(self, key, value):
        if isinstance(value, list) and key in self:
            self[key].extend(value)
        else:
            super().__setitem__(key, value)


def values(parser, section, key):
    """Every value of a key that may repeat (joined by lines when read)."""
    if not parser.has_option(section, key):
        return []
    return parser.get(section, key, raw=True).split("\n")


def one(parser, section, key):
    (value,) = values(parser, section, key)
    return value


def tap_cfg() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=("#", ";"))
    parser.read_string((SYSTEMD / "tap.cfg").read_text(encoding="utf-8"))
    return parser


def systemd_endpoints():
    """{name: domain} of every systemd: endpoint in the example tap.cfg."""
    found = {}
    cfg = tap_cfg()
    for kind in ("lines", "web"):
        for description in cfg.get(kind, "listen").split():
            assert description.startswith("systemd:"), description
            params = dict(p.split("=", 1) for p in description.split(":")[1:])
            assert set(params) == {"domain", "name"}, description
            found[params["name"]] = params["domain"]
    return found


def test_service_settings():
    service = unit("chatd.service")
    s = "Service"
    assert one(service, s, "Type") == "notify"
    assert one(service, s, "NotifyAccess") == "main"
    assert one(service, s, "ExecReload") == "/bin/kill -HUP $MAINPID"
    start = one(service, s, "ExecStart")
    assert re.fullmatch(r"/opt/chatd/venv/bin/twistd --nodaemon --pidfile= --logger=chatd\.logsetup\.observer "
                        r"chatd --config /etc/chatd/tap\.cfg", start)
    assert one(service, s, "ExecStartPre").endswith("chatd --config /etc/chatd/tap.cfg --check-config")
    assert one(service, s, "User") == one(service, s, "Group") == "chatd"
    assert one(service, s, "StateDirectory") == "chatd"
    assert one(service, s, "RuntimeDirectory") == "chatd"
    for key, expected in {
        "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
        "PrivateDevices": "yes", "CapabilityBoundingSet": "", "RestrictNamespaces": "yes",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
    }.items():
        assert one(service, s, key) == expected, key
    # TimeoutStopSec must leave room for [server] shutdown_grace plus the store flush.
    grace = max(chat_config.Config().shutdown_grace, tap_cfg().getint("server", "shutdown_grace"))
    assert int(one(service, s, "TimeoutStopSec")) >= 2 * grace + 10
    assert "CHATD_LOG_FORMAT=text" in values(service, s, "Environment")
    assert set(" ".join(values(service, "Unit", "Requires")).split()) == {"chatd-lines.socket", "chatd-web.socket"}
    assert {"chatd-lines.socket", "chatd-web.socket"} <= set(" ".join(values(service, "Unit", "After")).split())


def test_sockets_match_the_endpoints_in_tap_cfg():
    """
    Each systemd: endpoint names one socket unit's FileDescriptorName, and
    its domain suits the socket: a bare port or [::] is dual-stack IPv6
    (INET6), an IPv4 address INET.
    """
    endpoints = systemd_endpoints()
    names = {}
    for name in UNITS[1:]:
        sock = unit(name)
        fd = one(sock, "Socket", "FileDescriptorName")
        (listen,) = values(sock, "Socket", "ListenStream")
        assert one(sock, "Socket", "Service") == "chatd.service"
        names[fd] = listen
        host = listen.rpartition(":")[0].strip("[]") if ":" in listen else ""
        wanted = "INET6" if not host or ipaddress.ip_address(host).version == 6 else "INET"
        assert endpoints.get(fd) == wanted, f"{name}: {listen} needs systemd:domain={wanted}:name={fd}"
    assert set(names) == set(endpoints) == {"lines", "web"}


def test_docs_use_the_same_endpoint_strings():
    text = DOCS.read_text(encoding="utf-8")
    for name, domain in systemd_endpoints().items():
        assert f"systemd:domain={domain}:name={name}" in text
    for path in ("contrib/systemd/chatd.service", "contrib/nginx/chatd.conf", "CHATD_LOG_FORMAT=json"):
        assert path in text


def test_example_tap_cfg_is_valid_for_chatd():
    """Every section chatd knows parses; [metrics]/[admin]/[log] once chatd.config has them."""
    text = (SYSTEMD / "tap.cfg").read_text(encoding="utf-8")
    known = {section for section, _ in chat_config._KEYS}
    cfg = tap_cfg()
    pending = [s for s in cfg.sections() if s not in known]
    assert set(pending) <= {"metrics", "admin", "log"}, pending
    for section in pending:
        cfg.remove_section(section)
    kept = "\n".join(f"[{s}]\n" + "\n".join(f"{k} = {v}".replace("\n", "\n    ") for k, v in cfg.items(s))
                     for s in cfg.sections())
    chat_config.build(chat_config.parse(kept, "contrib/systemd/tap.cfg"))
    if not pending:
        chat_config.build(chat_config.parse(text, "contrib/systemd/tap.cfg"))


def require(tool: str, package: str) -> None:
    """In CI (CI=true) a missing tool fails the test; elsewhere it skips, naming the package."""
    if shutil.which(tool) is None:
        message = f"{tool} is not installed (apt-get install {package})"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def test_systemd_analyze_verify(tmp_path):
    """systemd's own parser: unknown keys, bad values, missing sockets.  Paths point at this venv's twistd."""
    require("systemd-analyze", "systemd")
    twistd = Path(sys.executable).with_name("twistd")
    assert twistd.exists(), f"{twistd} does not exist (systemd-analyze checks ExecStart= binaries)"
    for name in UNITS:
        text = (SYSTEMD / name).read_text(encoding="utf-8")
        (tmp_path / name).write_text(text.replace("/opt/chatd/venv/bin/twistd", str(twistd)), encoding="utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / n) for n in UNITS)],
        capture_output=True, text=True, timeout=60,
    )
    complaints = [line for line in (result.stdout + result.stderr).splitlines()
                  if str(tmp_path) in line or "chatd" in line]
    assert result.returncode == 0 and not complaints, result.stdout + result.stderr


def test_nginx_site_structure():
    text = NGINX.read_text(encoding="utf-8")
    web = WebConfig()
    blocks = dict(re.findall(r"location\s+(?:=\s+)?(\S+)\s*\{(.*?)\n    \}", text, re.S))
    assert set(blocks) == {"/ws", "/api/", "/"}

    def seconds(block, key):
        return int(re.search(rf"{key}\s+(\d+)s;", block).group(1))

    ws, api = blocks["/ws"], blocks["/api/"]
    assert "proxy_http_version 1.1;" in ws
    assert "proxy_set_header Upgrade $http_upgrade;" in ws
    assert "proxy_set_header Connection $connection_upgrade;" in ws
    assert seconds(ws, "proxy_read_timeout") > web.ping_interval + web.ping_timeout
    assert seconds(ws, "proxy_send_timeout") > web.ping_interval
    assert "proxy_buffering off;" in api
    assert seconds(api, "proxy_read_timeout") > web.max_poll_timeout
    assert int(re.search(r"client_max_body_size\s+(\d+)k;", api).group(1)) * 1024 >= web.max_body
    # proxy_set_header is inherited only by blocks that set none: each sets them all.
    for path, block in blocks.items():
        for header in ("Host $host", "X-Forwarded-For", "X-Forwarded-Proto"):
            assert f"proxy_set_header {header}" in block, (path, header)
        assert "proxy_pass http://chatd_web;" in block


def test_nginx_accepts_the_site(tmp_path):
    """nginx -t on the site, with a throwaway certificate in place of Let's Encrypt's."""
    require("nginx", "nginx-light")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "chat.example.org")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    site = NGINX.read_text(encoding="utf-8")
    site = site.replace("/etc/letsencrypt/live/chat.example.org/fullchain.pem", str(tmp_path / "cert.pem"))
    site = site.replace("/etc/letsencrypt/live/chat.example.org/privkey.pem", str(tmp_path / "key.pem"))
    (tmp_path / "site.conf").write_text(site, encoding="utf-8")
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  include {tmp_path}/site.conf;\n}}\n", encoding="utf-8")
    result = subprocess.run(["nginx", "-t", "-c", str(tmp_path / "nginx.conf"), "-e", str(tmp_path / "error.log")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr

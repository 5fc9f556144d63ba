"""
contrib/: the systemd units, the example tap.cfg that goes with them, and
the nginx site.  Structural checks always run; systemd-analyze and nginx
check the files too where they are installed.
"""

import configparser
import datetime
import ipaddress
import re
import shutil
import subprocess
import sys
from pathlib import Path


from chatd import config as chat_config
from chatd.config import WebConfig

from lacking import lacking

ROOT = Path(__file__).resolve().parent.parent
SYSTEMD = ROOT / "contrib" / "systemd"
NGINX = ROOT / "contrib" / "nginx" / "chatd.conf"
NGINX_CLUSTER = ROOT / "contrib" / "nginx" / "chatd-cluster.conf"
DOCS = ROOT / "docs" / "operations.md"
CLUSTER_DOCS = ROOT / "docs" / "cluster.md"
UNITS = ("chatd.service", "chatd-lines.socket", "chatd-irc.socket", "chatd-web.socket")
#: The template unit: one chatd node per instance (chatd@n1.service ...).
TEMPLATE = "chatd@.service"


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
    for kind in ("lines", "irc", "web"):
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
    sockets = {"chatd-lines.socket", "chatd-irc.socket", "chatd-web.socket"}
    assert set(" ".join(values(service, "Unit", "Requires")).split()) == sockets
    assert sockets <= set(" ".join(values(service, "Unit", "After")).split())


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
    assert set(names) == set(endpoints) == {"lines", "irc", "web"}


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
        lacking(message)


def test_systemd_analyze_verify(tmp_path):
    """systemd's own parser: unknown keys, bad values, missing sockets.  Paths point at this venv's twistd."""
    require("systemd-analyze", "systemd")
    twistd = Path(sys.executable).with_name("twistd")
    assert twistd.exists(), f"{twistd} does not exist (systemd-analyze checks ExecStart= binaries)"
    for name in UNITS + (TEMPLATE,):
        text = (SYSTEMD / name).read_text(encoding="utf-8")
        (tmp_path / name).write_text(text.replace("/opt/chatd/venv/bin/twistd", str(twistd)), encoding="utf-8")
    # chatd@n1.service: an instance of the template beside it, as systemctl would load it.
    result = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / n) for n in UNITS + (TEMPLATE, "chatd@n1.service"))],
        capture_output=True, text=True, timeout=60,
    )
    complaints = [line for line in (result.stdout + result.stderr).splitlines()
                  if str(tmp_path) in line or "chatd" in line]
    assert result.returncode == 0 and not complaints, result.stdout + result.stderr


def test_nginx_site_structure():
    text = NGINX.read_text(encoding="utf-8")
    web = WebConfig()
    blocks = dict(re.findall(r"location\s+(?:=\s+)?(\S+)\s*\{(.*?)\n    \}", text, re.S))
    assert set(blocks) == {"/ws", "/irc", "/wamp", "/api/", "/"}
    # IRC over WebSocket (gamja, Kiwi IRC) is proxied exactly as chatd's own WebSocket.
    assert blocks["/irc"] == blocks["/ws"] and blocks["/wamp"] == blocks["/ws"]

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
        for header in ("Host $host", "X-Forwarded-For $proxy_add_x_forwarded_for", "X-Real-IP $remote_addr",
                       'Forwarded "$chatd_forwarded_for;proto=$scheme"', "X-Forwarded-Proto"):
            assert f"proxy_set_header {header}" in block, (path, header)
        assert "proxy_pass http://chatd_web;" in block


def test_nginx_accepts_the_site(tmp_path):
    """nginx -t on the site, with a throwaway certificate in place of Let's Encrypt's."""
    nginx_accepts(NGINX, tmp_path)


def nginx_accepts(path: Path, tmp_path: Path) -> None:
    """nginx -t on a site of contrib/nginx, with a throwaway certificate in place of Let's Encrypt's."""
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
    site = path.read_text(encoding="utf-8")
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


# -- several nodes: the template unit and the nginx site over a cluster ---------------------


def test_template_unit_runs_one_node_per_instance():
    """chatd@NAME reads /etc/chatd/NAME.cfg, keeps its own state and runtime directories, and is hardened as chatd.service."""
    template, single = unit(TEMPLATE), unit("chatd.service")
    s = "Service"
    assert re.fullmatch(r"/opt/chatd/venv/bin/twistd --nodaemon --pidfile= --logger=chatd\.logsetup\.observer "
                        r"chatd --config /etc/chatd/%i\.cfg", one(template, s, "ExecStart"))
    assert one(template, s, "ExecStartPre").endswith("chatd --config /etc/chatd/%i.cfg --check-config")
    assert one(template, s, "StateDirectory") == "chatd/%i"
    assert one(template, s, "RuntimeDirectory") == "chatd/%i"
    assert one(template, s, "WorkingDirectory") == "/var/lib/chatd/%i"
    assert one(template, s, "SyslogIdentifier") == "chatd-%i"
    assert not values(template, "Unit", "Requires"), "an instance binds its own listeners: no socket units"
    for key in ("Type", "NotifyAccess", "ExecReload", "TimeoutStopSec", "Restart", "User", "Group", "UMask",
                "NoNewPrivileges", "CapabilityBoundingSet", "AmbientCapabilities", "ProtectSystem", "ProtectHome",
                "PrivateTmp", "PrivateDevices", "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
                "ProtectControlGroups", "ProtectClock", "ProtectHostname", "ProtectProc", "RestrictAddressFamilies",
                "RestrictNamespaces", "RestrictRealtime", "RestrictSUIDSGID", "LockPersonality", "RemoveIPC",
                "SystemCallArchitectures", "SystemCallFilter", "SystemCallErrorNumber", "LimitNOFILE"):
        assert values(template, s, key) == values(single, s, key), key


def cluster_site():
    """The cluster site's upstream servers and its location blocks (path -> body)."""
    text = NGINX_CLUSTER.read_text(encoding="utf-8")
    upstream = re.search(r"upstream chatd_cluster \{(.*?)\n\}", text, re.S).group(1)
    servers = re.findall(r"^\s*server\s+(\S+)", upstream, re.M)
    blocks = dict(re.findall(r"location\s+(?:[=~]\s+)?(\S+)\s*\{(.*?)\n    \}", text, re.S))
    return text, upstream, servers, blocks


def test_cluster_site_spreads_every_request_over_the_nodes():
    """Three local nodes, round robin: no ip_hash, hash or sticky cookie, since any node answers anything."""
    text, upstream, servers, blocks = cluster_site()
    assert servers == ["127.0.0.1:8081", "127.0.0.1:8082", "127.0.0.1:8083"]
    for pinning in ("ip_hash", "hash ", "sticky", "least_conn"):
        assert pinning not in upstream, pinning
    assert "keepalive" in upstream
    assert set(blocks) == {"^/(ws|irc|wamp)$", "/api/", "/"}
    for path, block in blocks.items():
        assert "proxy_pass http://chatd_cluster;" in block, path
        for header in ("Host $host", "X-Forwarded-For $proxy_add_x_forwarded_for", "X-Real-IP $remote_addr",
                       'Forwarded "$chatd_forwarded_for;proto=$scheme"', "X-Forwarded-Proto $scheme"):
            assert f"proxy_set_header {header};" in block, (path, header)


def test_cluster_site_websockets_and_long_poll_outlast_their_timeouts():
    _, _, _, blocks = cluster_site()
    web = WebConfig()
    ws, api = blocks["^/(ws|irc|wamp)$"], blocks["/api/"]
    for path in ("/ws", "/irc", "/wamp"):
        assert re.fullmatch("^/(ws|irc|wamp)$", path)
    assert not re.fullmatch("^/(ws|irc|wamp)$", "/wsx")

    def seconds(block, key):
        return int(re.search(rf"{key}\s+(\d+)s;", block).group(1))

    assert "proxy_http_version 1.1;" in ws
    assert "proxy_set_header Upgrade $http_upgrade;" in ws
    assert "proxy_set_header Connection $connection_upgrade;" in ws
    assert seconds(ws, "proxy_read_timeout") > web.ping_interval + web.ping_timeout
    assert "proxy_buffering off;" in api
    assert seconds(api, "proxy_read_timeout") > web.max_poll_timeout
    assert int(re.search(r"client_max_body_size\s+(\d+)k;", api).group(1)) * 1024 >= web.max_body


def test_nginx_accepts_the_cluster_site(tmp_path):
    nginx_accepts(NGINX_CLUSTER, tmp_path)


def test_example_node_cfg_is_valid_for_chatd_and_fits_the_unit_and_the_site():
    """/etc/chatd/n1.cfg: a valid node of the template unit, whose web port the nginx site's upstream lists."""
    path = SYSTEMD / "n1.cfg"
    text = path.read_text(encoding="utf-8")
    cfg = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=("#", ";"))
    cfg.read_string(text)
    assert cfg.get("cluster", "node") == path.stem
    assert cfg.get("admin", "listen") == f"unix:/run/chatd/{path.stem}/admin.sock:mode=600"
    web = cfg.get("web", "listen").strip()
    _, _, servers, _ = cluster_site()
    assert f"127.0.0.1:{web.split(':')[1]}" in servers, (web, servers)
    chat_config.build(chat_config.parse(text, str(path)))


def test_cluster_docs_name_the_cluster_files():
    """docs/cluster.md tells operators where the template unit and the nginx site go."""
    assert CLUSTER_DOCS.exists(), "docs/cluster.md is missing: how to run several nodes (issue 14)"
    text = CLUSTER_DOCS.read_text(encoding="utf-8")
    for path in ("contrib/systemd/chatd@.service", "contrib/systemd/n1.cfg", "contrib/nginx/chatd-cluster.conf",
                 "/etc/chatd/n1.cfg"):
        assert path in text, path

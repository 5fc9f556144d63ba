"""
The shipped nginx site (contrib/nginx/chatd-cluster.conf) in front of a
test cluster: rendered with the nodes' web ports and a throwaway
certificate, run as one unprivileged nginx process on 127.0.0.1 with its
files in a temporary directory, stopped by its PID.

    front = Nginx(tmp_path / "nginx", [node.web_port for node in cluster]).start()
    front.ws_url, front.web_url       # wss://127.0.0.1:PORT/ws, https://127.0.0.1:PORT
    front.ws_options                  # {"ssl": context trusting the certificate}
"""

import re
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path
from typing import List, Optional


from certs import make_cert
from redisserver import free_port
from lacking import lacking

SITE = Path(__file__).resolve().parents[2] / "contrib" / "nginx" / "chatd-cluster.conf"
#: The example's upstream: nodes on 127.0.0.1:8081, 8082, 8083.
EXAMPLE_PORTS = (8081, 8082, 8083)


def need_nginx() -> str:
    path = shutil.which("nginx")
    if path is None:
        message = "nginx is not installed (apt-get install nginx-light; .ci/run installs it)"
        lacking(message)
    return path


def render(site: str, web_ports: List[int], port: int, cert: Path, key: Path) -> str:
    """The example with these nodes in its upstream, TLS on 127.0.0.1:PORT, and no port-80 redirect."""
    upstream = re.search(r"upstream chatd_cluster \{.*?\n\}", site, re.S).group(0)
    example = [line for line in upstream.splitlines() if re.match(r"\s*server 127\.0\.0\.1:808\d ", line)]
    assert [int(re.search(r":(\d+) ", line).group(1)) for line in example] == list(EXAMPLE_PORTS), upstream
    servers = "\n".join(example[0].replace(":8081 ", f":{p} ") for p in web_ports)
    site = site.replace(upstream, upstream.replace("\n".join(example), servers))
    redirect = re.search(r"server \{\n    listen 80;.*?\n\}\n", site, re.S).group(0)
    site = site.replace(redirect, "")
    site = site.replace("    listen 443 ssl;\n    listen [::]:443 ssl;\n", f"    listen 127.0.0.1:{port} ssl;\n")
    site = site.replace("/etc/letsencrypt/live/chat.example.org/fullchain.pem", str(cert))
    site = site.replace("/etc/letsencrypt/live/chat.example.org/privkey.pem", str(key))
    assert not re.search(r"\b443\b", site) and "letsencrypt" not in site, site  # a random port may hold "443"
    return site


class Nginx:
    """One nginx process (no master/worker split, no daemon) serving the rendered site."""

    name = "nginx"

    def __init__(self, directory: Path, web_ports: List[int]) -> None:
        self.binary = need_nginx()
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        key, self.cert = make_cert(self.directory)
        (self.directory / "site.conf").write_text(render(SITE.read_text(encoding="utf-8"), web_ports, self.port,
                                                         self.cert, key), encoding="utf-8")
        d = self.directory
        temps = "".join(f"  {kind}_temp_path {d}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi",
                                                                            "uwsgi", "scgi"))
        (d / "nginx.conf").write_text(
            f"daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n"
            f"events {{ worker_connections 1024; }}\n"
            f"http {{\n  access_log {d}/access.log;\n{temps}  include {d}/site.conf;\n}}\n", encoding="utf-8")
        self.process: Optional[subprocess.Popen] = None
        context = ssl.create_default_context(cafile=str(self.cert))
        #: What a WebSocket client needs to trust this nginx (WSUser's keywords).
        self.ws_options = {"ssl": context}

    @property
    def ws_url(self) -> str:
        return f"wss://127.0.0.1:{self.port}/ws"

    @property
    def web_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> "Nginx":
        d = self.directory
        self.process = subprocess.Popen([self.binary, "-p", f"{d}/", "-c", str(d / "nginx.conf"), "-e",
                                         str(d / "error.log")], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.process.returncode}:\n{self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nginx did not listen on {self.port} within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        path = self.directory / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 seconds: by its PID."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

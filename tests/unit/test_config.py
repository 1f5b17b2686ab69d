"""open311/config.py: defaults -> instance file -> OPEN311_* environment -> overrides."""

from __future__ import annotations

import pytest

from open311.config import DEFAULTS, database_url, load_config


@pytest.fixture(autouse=True)
def no_config_file_in_process_environment(monkeypatch):
    monkeypatch.delenv("OPEN311_CONFIG_FILE", raising=False)


def instance_file(tmp_path, text: str) -> str:
    path = tmp_path / "instance.py"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_defaults_without_any_source():
    config = load_config(environ={})
    assert config == DEFAULTS
    assert config["MAX_REQUESTS"] == 1000
    assert config["DEFAULT_WINDOW_DAYS"] == 90
    assert config["MAX_CONTENT_LENGTH"] == 32 * 1024 * 1024
    assert config["MAX_FORM_MEMORY_SIZE"] == 1024 * 1024
    assert config["ENDPOINT_TYPE"] == "production"
    assert config["DATABASE_URL"] == ""


def test_defaults_are_not_mutated_by_a_load():
    load_config({"MAX_REQUESTS": 5, "CONTACT": "x"}, environ={})
    assert DEFAULTS["MAX_REQUESTS"] == 1000 and DEFAULTS["CONTACT"] == ""


def test_prefixed_environment_sets_settings_and_integers_are_parsed():
    config = load_config(
        environ={
            "OPEN311_MAX_REQUESTS": "500",
            "OPEN311_CONTACT": "ops@example.org",
            "OPEN311_DB_POOL_SIZE": " 7 ",
            "MAX_CONTENT_LENGTH": "1",  # no prefix: ignored
            "PATH": "/usr/bin",
        }
    )
    assert config["MAX_REQUESTS"] == 500
    assert config["CONTACT"] == "ops@example.org"
    assert config["DB_POOL_SIZE"] == 7
    assert config["MAX_CONTENT_LENGTH"] == DEFAULTS["MAX_CONTENT_LENGTH"]
    assert "PATH" not in config


def test_environ_argument_replaces_the_process_environment(monkeypatch):
    monkeypatch.setenv("OPEN311_MAX_REQUESTS", "3")
    assert load_config(environ={})["MAX_REQUESTS"] == 1000
    assert load_config(environ={"OPEN311_MAX_REQUESTS": "4"})["MAX_REQUESTS"] == 4


def test_process_environment_is_read_without_environ_argument(monkeypatch):
    monkeypatch.setenv("OPEN311_DEFAULT_WINDOW_DAYS", "30")
    assert load_config()["DEFAULT_WINDOW_DAYS"] == 30


def test_instance_file_sets_upper_case_names_only(tmp_path):
    path = instance_file(
        tmp_path,
        "MAX_REQUESTS = 200\nBASE_URL = 'https://x.example'\n"
        "lower = 'ignored'\n_HIDDEN_lower = 1\n",
    )
    config = load_config(instance_file=path, environ={})
    assert config["MAX_REQUESTS"] == 200
    assert config["BASE_URL"] == "https://x.example"
    assert "lower" not in config and "_HIDDEN_lower" not in config


def test_instance_file_named_by_the_environment(tmp_path):
    path = instance_file(tmp_path, "CONTACT = 'from file'\n")
    config = load_config(environ={"OPEN311_CONFIG_FILE": path})
    assert config["CONTACT"] == "from file"
    assert "CONFIG_FILE" not in config


def test_environment_wins_over_instance_file(tmp_path):
    path = instance_file(tmp_path, "MAX_REQUESTS = 200\nCONTACT = 'file'\n")
    config = load_config(instance_file=path, environ={"OPEN311_MAX_REQUESTS": "300"})
    assert config["MAX_REQUESTS"] == 300
    assert config["CONTACT"] == "file"


def test_overrides_win_over_environment_and_instance_file(tmp_path):
    path = instance_file(tmp_path, "MAX_REQUESTS = 200\nLOG_LEVEL = 'DEBUG'\n")
    config = load_config(
        {"MAX_REQUESTS": "42", "LOG_LEVEL": "WARNING"},
        instance_file=path,
        environ={"OPEN311_MAX_REQUESTS": "300"},
    )
    assert config["MAX_REQUESTS"] == 42  # parsed even when an override is a string
    assert config["LOG_LEVEL"] == "WARNING"


def test_missing_instance_file_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_config(instance_file=str(tmp_path / "absent.py"), environ={})


@pytest.mark.parametrize(
    "key",
    [
        "MAX_REQUESTS",
        "DEFAULT_WINDOW_DAYS",
        "MAX_CONTENT_LENGTH",
        "DB_POOL_SIZE",
        "DB_MAX_OVERFLOW",
    ],
)
def test_non_integer_setting_is_refused_with_its_variable_name(key):
    with pytest.raises(ValueError) as exc:
        load_config(environ={f"OPEN311_{key}": "lots"})
    assert str(exc.value) == f"OPEN311_{key} must be an integer, not 'lots'"


@pytest.mark.parametrize("value", ["1.5", "", "1e3"])
def test_integer_parsing_refuses_decimal_empty_and_exponent(value):
    with pytest.raises(ValueError, match="OPEN311_MAX_REQUESTS must be an integer"):
        load_config(environ={"OPEN311_MAX_REQUESTS": value})


def test_none_integer_override_is_refused():
    with pytest.raises(ValueError, match="OPEN311_DB_POOL_SIZE must be an integer, not None"):
        load_config({"DB_POOL_SIZE": None}, environ={})


@pytest.mark.parametrize("value", ["0", "-5"])
def test_max_requests_must_be_at_least_one(value):
    with pytest.raises(ValueError, match="OPEN311_MAX_REQUESTS must be at least 1"):
        load_config(environ={"OPEN311_MAX_REQUESTS": value})


def test_max_requests_of_one_is_accepted():
    assert load_config(environ={"OPEN311_MAX_REQUESTS": "1"})["MAX_REQUESTS"] == 1


@pytest.mark.parametrize("value", ["production", "test"])
def test_endpoint_type_production_or_test_is_accepted(value):
    assert load_config(environ={"OPEN311_ENDPOINT_TYPE": value})["ENDPOINT_TYPE"] == value


@pytest.mark.parametrize("value", ["staging", "Production", ""])
def test_other_endpoint_type_is_refused(value):
    with pytest.raises(ValueError) as exc:
        load_config({"ENDPOINT_TYPE": value}, environ={})
    assert str(exc.value) == "OPEN311_ENDPOINT_TYPE must be 'production' or 'test'"


def test_the_private_clusters_url_is_named_without_starting_it(monkeypatch):
    from open311.pgcluster import Cluster

    def started(*args, **kwargs):
        raise AssertionError("making the app must start nothing")

    monkeypatch.setattr(Cluster, "start", started)
    monkeypatch.setattr(Cluster, "ensure_database", started)
    assert database_url({"DATABASE_URL": ""}) == Cluster().url("open311")


def test_configured_database_url_is_used_as_given():
    url = "postgresql+psycopg://u:p@db.example/open311"
    assert database_url({"DATABASE_URL": url}) == url


def test_explicit_empty_environ_ignores_the_process_config_file(tmp_path, monkeypatch):
    monkeypatch.setenv("OPEN311_CONFIG_FILE", instance_file(tmp_path, "MAX_REQUESTS = 7\n"))
    assert load_config(environ={})["MAX_REQUESTS"] == 1000

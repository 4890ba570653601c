"""Configuration: frozen pydantic models (unknown keys are errors) and the YAML loader."""

from tradeops.config.load import DEFAULT_CONFIG_PATH, load_config
from tradeops.config.models import AppConfig

__all__ = ["DEFAULT_CONFIG_PATH", "AppConfig", "load_config"]

"""Configuration: the TOML file and environment variables, validated into settings."""

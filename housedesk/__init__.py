"""housedesk's composition root: configuration, CLI and process start-up."""

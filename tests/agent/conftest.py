from fake_anthropic import fake_anthropic  # noqa: F401  (the fixture)

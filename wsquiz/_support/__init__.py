"""Small helpers every layer may use: where files live, name suggestions."""

"""A deliberately vulnerable example app: the scanners in docs/ci/ must find something in it."""

# Deliberately vulnerable (test fixture for scripts/ci-templates-check.sh): never deploy.
# The key below is a made-up placeholder, not a credential of anything.
DATABASE_PASSWORD = "hunter2-not-a-real-password"
SECRET_KEY = "fixture-secret-key-0123456789abcdef"
DEBUG = True

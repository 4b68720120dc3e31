# Deliberately vulnerable (test fixture for scripts/ci-templates-check.sh): never deploy.
import hashlib
import pickle
import subprocess

import yaml


def ping(host):
    # Command injection: the host goes to a shell.
    return subprocess.call("ping -c 1 " + host, shell=True)


def load_cart(blob):
    # Deserialisation of untrusted data.
    return pickle.loads(blob)


def load_config(text):
    # yaml.load without a safe loader.
    return yaml.load(text)


def checksum(data):
    # A weak hash for integrity.
    return hashlib.md5(data).hexdigest()


def calculate(expression):
    # eval of user input.
    return eval(expression)

#!/usr/bin/env python
import os
import sys


def main():
    settings_module = os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orgdash.settings.development")
    if not settings_module.endswith(".production"):
        from tooling import devservices

        # Without DATABASE_URL / REDIS_URL, commands reach the embedded servers of `make run`;
        # production never starts them (its settings refuse to start without both URLs).
        devservices.ensure_running()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

#!/usr/bin/env python
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orgdash.settings.development")
    from orgdash import devservices

    # Without DATABASE_URL / REDIS_URL, commands reach the embedded servers of `make run`.
    devservices.ensure_running()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

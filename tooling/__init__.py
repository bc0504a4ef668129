"""Tooling around the product: embedded development servers, `make run`'s supervisor, demo seeding,
the benchmark and the load test. The product packages (orgdash, accounts, activity) never import it."""

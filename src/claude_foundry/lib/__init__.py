"""Helpers at the import paths the official SDK uses (``anthropic.lib.tools``), so code that
imports them from there ports by changing the package name."""

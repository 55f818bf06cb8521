"""``python -m claude_foundry.cli``: the same as the ``claude-foundry`` command."""

from . import main

if __name__ == "__main__":
    main()

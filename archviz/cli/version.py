"""What ``archviz --version`` prints: answered before click is imported, and by the group's option."""

from archviz import __version__

VERSION = f"archviz, version {__version__}"

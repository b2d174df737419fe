"""ganzoo's built-in plugins.

Installed as the import package ``ganzoo_plugins`` and loaded only through the ``ganzoo``
entry points in pyproject.toml, exactly like a third-party plugin package: the core imports
none of them. Each family is a package whose ``__init__`` holds the light registration hooks
and whose other modules (imported lazily by the factories) hold the torch code.
"""

"""Files that ``ganzoo new-plugin`` fills in (``string.Template`` syntax: ``$name``).

``plugin-package/`` is the skeleton of a plugin package. Its folder name is no Python
identifier, so setuptools does not mistake it for a package; the ``.tmpl`` suffix keeps the
files from being imported or collected as tests where they lie; ``__package__`` in a path
becomes the package's import name.
"""

"""ganzoo's built-in plugins (installed as `ganzoo_plugins`).

Each sub-module is an ordinary ganzoo plugin, declared as an entry point in
ganzoo's own pyproject.toml and loaded by the same code path as a third-party
package. Registration modules stay torch-free; models live in sibling modules
named by lazy "module:attr" factories.
"""

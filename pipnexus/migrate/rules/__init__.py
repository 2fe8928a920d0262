"""The migrate rules, one module each; importing a module registers its rule (see plugin.py).

A rule module imports the shared helpers (tree, text, spans, workflow, conditional, strategy)
and never another rule module.
"""

"""Loss terms: adversarial losses, sample-matching norms and gradient penalties.

Three plugins live here, one per entry point (``adversarial-losses``,
``norm-losses``, ``penalty-losses``), so each can be blocked on its own. The
registration modules (`adversarial`, `norms`, `penalties`) stay torch-free;
the terms themselves are in the ``*_terms`` modules.
"""

"""Building blocks shared by the built-in models, and free for third-party plugins.

Part of the plugin API (docs/plugins.md, "Layout of the core"): this path is kept for plugins and scripts,
and hands on exactly the names below from where they live (`ganzoo.components.nn`).
Code inside ganzoo imports them from there, never from here.
"""

from __future__ import annotations

from .components.nn import (CONV_START, LabelProjection, MinibatchDiscrimination, conv_down_stack, conv_head,
                            conv_resolution, conv_up_stack, init_normal_, minibatch_head, mlp, mlp_hidden,
                            mlp_minibatch_, orthogonal_regularization, orthogonal_weights, output_activation,
                            require_labels, require_num_classes, spectral_norm_)

__all__ = ["mlp", "output_activation", "CONV_START", "conv_resolution", "conv_up_stack", "conv_down_stack", "conv_head",
           "init_normal_", "require_num_classes", "require_labels", "LabelProjection", "spectral_norm_",
           "MinibatchDiscrimination", "minibatch_head", "mlp_hidden", "mlp_minibatch_", "orthogonal_weights",
           "orthogonal_regularization"]

"""What a component is, and building one by name: where torch comes in.

`interfaces` (Generator, Discriminator, LossTerm, Dataset), `contract` (what their outputs and data are held
to), `build` (a registered component built by name and held to the contract), `losses` (the loss a loss spec
makes), `nn` (building blocks for models) and `device` (the device and its speed settings). It imports
`ganzoo.plugin`, `ganzoo.config` and `ganzoo.base`.
"""

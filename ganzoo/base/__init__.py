"""The ground floor: what every layer of ganzoo uses and nothing of ganzoo's own is under.

`errors` (the errors a user can cause and their exit codes), `specs` (the typed records the registry holds),
`text` (file names made valid UTF-8), `console` (the rich consoles) and `version`. Torch-free; imports nothing
of ganzoo.
"""

"""The engine assembly: a network (and its search) behind the USI server's Thinker interface.

``keisei.usi`` speaks the protocol and knows nothing of torch; ``keisei.search`` searches and knows nothing
of USI; this package joins them (``build_thinker(options)`` for `keisei usi`, `play` and `analyse`).
"""

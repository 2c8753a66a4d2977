"""The network experiments of the two companion papers: noise tolerance by training mode (arXiv
2501.14531) and bit-flip resilience of clipped activations (ProAct, arXiv 2406.06313).

The networks themselves are the torch lab's (:mod:`gradlab.nn.companion`); here they run over seeds and grids.
"""

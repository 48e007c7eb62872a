"""Ensembles: same-shaped runs trained together as one stacked net, each bit-identical to its
one-run result (`train_ensemble`, `StackedMLP`, `StackedOptimizer`)."""

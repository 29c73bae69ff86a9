"""Small-scale training of the Siamese trackers (``siambench train``).

- :mod:`~siambench.training.pairs`: template/search pairs sampled from any dataset siambench
  reads, cropped exactly as the tracker crops at test time, with the random search-region
  shift of the SiamRPN++ paper;
- :mod:`~siambench.training.targets`: SiamFC's radius-based score-map labels and pysot's
  anchor targets;
- :mod:`~siambench.training.losses`: the balanced logistic loss (SiamFC) and cross-entropy
  plus smooth L1 (SiamRPN);
- :mod:`~siambench.training.loop`: the seeded training loop and the weight files it writes.

Importing this package does not import torch; the submodules do.
"""

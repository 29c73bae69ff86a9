"""The papers' analyses as functions (``siambench analyze``): spatial bias
(:mod:`~siambench.analysis.bias`), the shift ablation (:mod:`~siambench.analysis.shift`) and
SiamDW's architecture rules (:mod:`~siambench.analysis.arch`); figures in
:mod:`~siambench.analysis.plots`, and :func:`~siambench.analysis.report.analysis_figures` for
``siambench report``. Nothing here is imported by scoring, so ``eval`` never loads torch."""

"""XANESNET: structure ↔ X-ray absorption spectrum, six model modes (see ``README.md`` here).

Data: :mod:`.source` (the ``xyz_xanes`` reader: :mod:`.structure`, :mod:`.spectrum`,
:mod:`.descriptors` with :mod:`.wacsf`), :mod:`.scaling` (dataset options). Models: one network
per file (:mod:`.mlp`, :mod:`.cnn`, :mod:`.bilstm`, :mod:`.ae_mlp`, :mod:`.ae_cnn`,
:mod:`.aegan_mlp`), built by :mod:`.builders`. Training: :mod:`.task`, :mod:`.ae_task`,
:mod:`.aegan_task`, :mod:`.losses`, :mod:`.kfold`. Judging: :mod:`.evaluate` with
:mod:`.baselines`, :mod:`.spectrum_figures`, :mod:`.plots` and :mod:`.ensemble`.

Legend: XANES, X-ray absorption near-edge structure (the spectrum within tens of eV of an
absorption edge); K-edge, absorption by a 1s electron; absorber, the atom whose edge is
measured (listed first in each ``.xyz``); wACSF, weighted atom-centred symmetry functions; SOAP,
smooth overlap of atomic positions; FDMNES, the ab initio code that computed the spectra;
``E_0``, the edge energy; white line, the main absorption peak above the edge.
"""

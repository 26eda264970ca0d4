"""From an experiment's ``data`` section to a sample store and its splits; ``generate``/``convert``.

Generic: a family's data source (:class:`raytrack.family.DataSource`) produces rows; this
package builds the store from them on first use (or on ``raytrack generate`` / ``convert``),
checks that a cached store is the one the experiment asks for, and splits its samples.
"""

"""myosem_core: the slim library behind the MyoSem book.

Data readers, windows and protocols live in :mod:`myosem_core.data`; text in
:mod:`myosem_core.text`; models in :mod:`myosem_core.models`.
"""

__version__ = "0.1.0"

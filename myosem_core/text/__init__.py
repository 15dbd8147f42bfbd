"""Text side of MyoSem: description catalogs (data files) and their loader."""

from .catalog import ClassDescriptions, descriptions_for, families, load_catalog

__all__ = ["ClassDescriptions", "descriptions_for", "families", "load_catalog"]

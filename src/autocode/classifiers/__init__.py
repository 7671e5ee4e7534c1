"""Segment classifiers behind one protocol; see :mod:`autocode.classifiers.base`."""

from autocode.classifiers.base import Classifier, Model, available_types, load_model, make_classifier

__all__ = ["Classifier", "Model", "available_types", "load_model", "make_classifier"]

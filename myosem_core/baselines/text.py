"""Text-side baselines (text->EMG): class prototypes that replace MyoSem's Stage-1 prototypes.

Every source builds one unit vector per class from the same class views as
Stage 1 (:func:`~myosem_core.text.views.build_views`: label, process derived
from the training split's glove, canonical, paraphrases; held-out paraphrases
never), and a prototype is the L2-normalised mean of the class's view
embeddings, Stage 1's formula, so only the text encoder differs:

- ``frozen``: the packaged sentence encoder (all-MiniLM-L6-v2) as shipped, no
  Stage-1 fine-tuning, every view;
- ``label``: the same frozen encoder on the short label alone (also the
  "w/o action-semantic pretraining" ablation);
- ``tfidf``: a bag-of-words encoder, TF-IDF of word uni- and bigrams reduced
  by truncated SVD to ``dim`` dense dimensions. Vocabulary, IDF weights and the
  SVD are fitted on the texts Stage 1 may train on (seen classes only under the
  ``class`` protocol), so a held-out class's words that no seen class uses are
  out of vocabulary, as they would be for any encoder trained without them.

The EMG side is MyoSem's: its Stage-2 encoder, with Stage 3 trained against the
baseline's prototypes (a TF-IDF space has nothing in common with a sentence
encoder's, so swapping prototypes under a fixed Stage-3 head would not be a
comparison). See :mod:`myosem_experiments.grid`.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError
from ..text.evaluate import class_prototypes
from ..text.views import ClassViews, all_texts, training_corpus

TEXT_SOURCES = ("stage1", "frozen", "label", "tfidf")


def frozen_prototypes(views: list[ClassViews], which: str = "all", encoder=None) -> np.ndarray:
    """(K, D) prototypes from the frozen packaged sentence encoder: every view (``all``) or the label only."""
    if encoder is None:
        from ..text.encoder import load_encoder

        encoder = load_encoder()
    if which == "label":
        E = encoder.encode([v.label for v in views])
        return (E / np.linalg.norm(E, axis=1, keepdims=True)).astype(np.float32)
    if which != "all":
        raise ValueError(f"which must be 'all' or 'label', got {which!r}")
    texts = all_texts(views, include_heldout_paraphrases=False)
    return class_prototypes(encoder.encode(texts.texts), texts.class_index, texts.view, len(views))


def tfidf_prototypes(views: list[ClassViews], heldout_classes=(), dim: int = 64, seed: int = 0) -> np.ndarray:
    """(K, dim') prototypes of a TF-IDF + truncated-SVD encoder fitted on the trainable texts only.

    ``dim'`` = min(dim, number of training texts - 1, vocabulary size - 1).
    """
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    train = training_corpus(views, heldout_classes)
    tfidf = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    T = tfidf.fit_transform(train.texts)
    k = int(min(dim, T.shape[0] - 1, T.shape[1] - 1))
    if k < 2:
        raise DataError("<text views>", "texts", f"TF-IDF needs at least 3 training texts and words, got {T.shape}")
    svd = TruncatedSVD(k, random_state=seed).fit(T)
    texts = all_texts(views, include_heldout_paraphrases=False)
    E = svd.transform(tfidf.transform(texts.texts))
    norms = np.linalg.norm(E, axis=1, keepdims=True)
    E = np.where(norms > 1e-12, E / np.maximum(norms, 1e-12), 0.0)  # an all-unknown-words text contributes nothing
    P = class_prototypes(E, texts.class_index, texts.view, len(views))
    empty = np.flatnonzero(np.linalg.norm(P, axis=1) < 0.5)
    if empty.size:
        raise DataError("<text views>", "texts", f"classes {[views[i].key for i in empty]} have no word in the "
                        "TF-IDF vocabulary; no prototype can be formed")
    return P

"""Stage-1 objective: multi-positive contrastive terms between text views (MyoSem section 3.2).

For a pair of views (a, b), every text of view a is an anchor; the texts of view
b of the same class are its positives and those of other classes its
negatives (supervised contrastive loss, Khosla et al. 2020, over cosine
similarities divided by a temperature). The objective weights three pair
groups: process <-> canonical (the main term), label anchoring (label <-> each
other view) and paraphrase consistency (paraphrase <-> canonical and between
paraphrases of one class), plus, where the batch has lexicon sentences (view
``synonym``), a synonym term (synonym <-> canonical, synonym <-> label and
between the synonyms of one class): sentences that share a finger or a verb but
not the class are its hard negatives.
"""

from __future__ import annotations

import torch


def multi_positive_nce(a: torch.Tensor, b: torch.Tensor, ya: torch.Tensor, yb: torch.Tensor,
                       temperature: float, same_set: bool = False) -> torch.Tensor:
    """Mean over anchors of ``a`` of -mean over positives of log softmax over ``b``.

    ``a`` (n, D) and ``b`` (m, D) are unit vectors with class labels ``ya``, ``yb``.
    With ``same_set`` (a is b) an anchor is neither its own positive nor candidate.
    Anchors without any positive are skipped; zero if none has one.
    """
    logits = a @ b.T / temperature
    pos = ya[:, None] == yb[None, :]
    if same_set:
        eye = torch.eye(len(a), dtype=torch.bool, device=a.device)
        logits = logits.masked_fill(eye, float("-inf"))
        pos = pos & ~eye
    has = pos.any(dim=1)
    if not bool(has.any()):
        return a.sum() * 0.0
    log_prob = logits.log_softmax(dim=1).masked_fill(~pos, 0.0)
    per_anchor = -log_prob.sum(dim=1)[has] / pos.sum(dim=1)[has]
    return per_anchor.mean()


def pair_loss(a, b, ya, yb, temperature: float) -> torch.Tensor:
    """Symmetric multi-positive loss between two views."""
    return 0.5 * (multi_positive_nce(a, b, ya, yb, temperature) + multi_positive_nce(b, a, yb, ya, temperature))


def stage1_loss(emb: torch.Tensor, y: torch.Tensor, view: list[str] | tuple[str, ...], temperature: float,
                w_process_canonical: float = 1.0, w_label: float = 0.5, w_paraphrase: float = 0.5,
                w_synonym: float = 0.5) -> tuple[torch.Tensor, dict[str, float]]:
    """Weighted sum of the pair terms over a batch of view embeddings ``emb`` (n, D), classes ``y`` (n,).

    Terms whose views are missing from the batch (e.g. no process view) drop out.
    Returns the total and each term's value.
    """
    by_view = {}
    for v in ("label", "process", "canonical", "paraphrase", "synonym"):
        sel = torch.tensor([x == v for x in view], dtype=torch.bool)
        if bool(sel.any()):
            by_view[v] = (emb[sel], y[sel])

    def pair(u, v):
        (eu, yu), (ev, yv) = by_view[u], by_view[v]
        return pair_loss(eu, ev, yu, yv, temperature)

    terms: dict[str, tuple[float, torch.Tensor]] = {}
    if "process" in by_view and "canonical" in by_view:
        terms["process_canonical"] = (w_process_canonical, pair("process", "canonical"))
    if "label" in by_view:
        anchors = [pair("label", v) for v in ("process", "canonical", "paraphrase") if v in by_view]
        if anchors:
            terms["label"] = (w_label, torch.stack(anchors).mean())
    if "paraphrase" in by_view:
        para = []
        if "canonical" in by_view:
            para.append(pair("paraphrase", "canonical"))
        e, yy = by_view["paraphrase"]
        para.append(multi_positive_nce(e, e, yy, yy, temperature, same_set=True))
        terms["paraphrase"] = (w_paraphrase, torch.stack(para).mean())
    if "synonym" in by_view and w_synonym > 0:
        syn = [pair("synonym", v) for v in ("canonical", "label") if v in by_view]
        e, yy = by_view["synonym"]
        syn.append(multi_positive_nce(e, e, yy, yy, temperature, same_set=True))
        terms["synonym"] = (w_synonym, torch.stack(syn).mean())
    if not terms:
        return emb.sum() * 0.0, {}
    total = sum(w * t for w, t in terms.values())
    return total, {k: float(t.detach()) for k, (_, t) in terms.items()}

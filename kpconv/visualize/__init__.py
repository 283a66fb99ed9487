"""``kpconv.visualize``: draw keypoints, skeletons and validation findings on the images.

Library use (no CLI needed)::

    from kpconv.visualize import KeypointAnnotator, load_image

    annotator = KeypointAnnotator(show_names=True)          # style lives in the constructor
    picture = annotator.annotate(load_image(path), annotations, categories_by_id)

:func:`visualize` renders a whole dataset (selection, ``--issues`` mode, contact sheets, the
summary.svg, the report's charts) in parallel; ``kpconv visualize`` is a thin loop over it.
"""

from __future__ import annotations

from .annotator import KeypointAnnotator, Metrics, display_box, keypoint_array
from .document import CocoView, load_view, view_from_document
from .imagefile import encode_image, load_image, to_bgr8
from .palette import keypoint_colours, name_side
from .render import (
    Selection,
    VisualizeOptions,
    VisualizeResult,
    load_report,
    place_findings,
    plan_jobs,
    visualize,
)
from .sheet import compose_sheet, thumbnail
from .summary import summary_svg

__all__ = [
    "CocoView",
    "KeypointAnnotator",
    "Metrics",
    "Selection",
    "VisualizeOptions",
    "VisualizeResult",
    "compose_sheet",
    "display_box",
    "encode_image",
    "keypoint_array",
    "keypoint_colours",
    "load_image",
    "load_report",
    "load_view",
    "name_side",
    "place_findings",
    "plan_jobs",
    "summary_svg",
    "thumbnail",
    "to_bgr8",
    "view_from_document",
    "visualize",
]

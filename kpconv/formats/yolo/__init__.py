"""Ultralytics YOLO pose datasets, both ways, and a linter for them.

* :func:`read`: ``data.yaml`` + one split's label files → the builder's raw images and instances
  (``kpconv from-yolo``), bad lines as located findings (``labels/train/a.txt:3``).
* :func:`write`: a validated COCO keypoint dataset → ``images/``, ``labels/``, ``data.yaml``
  (``kpconv to-yolo``).
* :func:`lint`: every rule of :mod:`.checks` over a whole dataset (``kpconv validate DATA.yaml``).

The format, as Ultralytics reads it (``ultralytics/data/utils.py`` ``verify_image_label``): one
``.txt`` per image, ``class cx cy w h`` then K × ``x y v`` (or K × ``x y`` for ``kpt_shape: [K,
2]``) per line, normalised to 0–1; exactly 5 + K·ndim columns; values ≥ −0.01 and coordinates ≤
1.01; repeated lines dropped; v = 0 is not labelled, v = 1 and v = 2 train alike.

Finding codes (all prefixed ``yolo.``) are listed in :data:`FINDING_CODES`.
"""

from __future__ import annotations

from .datafile import DataFile, KptShape, load_data_file, looks_like_data_file
from .linter import lint
from .reader import read
from .writer import WriteOptions, plan, write

__all__ = [
    "FINDING_CODES",
    "DataFile",
    "KptShape",
    "WriteOptions",
    "lint",
    "load_data_file",
    "looks_like_data_file",
    "plan",
    "read",
    "write",
]

#: code -> what it means (documented in docs/readme/yolo.md)
FINDING_CODES: dict[str, str] = {
    "yolo.yaml_syntax": "data.yaml is not valid YAML",
    "yolo.not_a_data_file": "data.yaml is not a YAML mapping",
    "yolo.path": "path is not a string, or the dataset root is not a folder",
    "yolo.kpt_shape": "kpt_shape missing (not a pose dataset) or not [K, 2] / [K, 3]",
    "yolo.names": "names missing, not a list/mapping, indices not 0..n-1, or nc disagrees",
    "yolo.kpt_names": "kpt_names not class -> list of K unique names (not used), or read from 'keypoints:'",
    "yolo.kpt_names_missing": "no kpt_names: keypoints unnamed (linter)",
    "yolo.keypoints_unnamed": "keypoints named kp1..kpK (from-yolo)",
    "yolo.flip_idx": "flip_idx not a list of K integers, not a permutation, or not an involution",
    "yolo.flip_idx_names": "flip_idx maps a left_x keypoint to something other than right_x",
    "yolo.flip_idx_missing": "no flip_idx: Ultralytics turns horizontal flips off",
    "yolo.split": "a split is not a path or a list of paths",
    "yolo.split_key": "train or val missing: Ultralytics refuses the data.yaml (linter)",
    "yolo.split_missing": "a split's folder or list file does not exist",
    "yolo.image_missing": "an image named in a list file does not exist",
    "yolo.not_an_image": "files in an image folder that are not images (desktop.ini ...), left out",
    "yolo.image_unreadable": "an image file cannot be read; it and its labels are left out",
    "yolo.image_too_small": "an image under 10 px on a side: Ultralytics skips it",
    "yolo.image_exif_rotated": "a JPEG with an EXIF orientation: labels (and the COCO output) are in the rotated frame",
    "yolo.images_root": "the folder COCO file_name values are relative to (from-yolo)",
    "yolo.label_without_image": "a label file no image points to",
    "yolo.label_unreadable": "a label file cannot be read",
    "yolo.columns": "a line without 5 + K*ndim columns",
    "yolo.not_a_number": "a value that is not a finite number",
    "yolo.class_id": "a class id that is not an integer in 0..len(names)-1",
    "yolo.out_of_range": "a value below -0.01 or a coordinate above 1.01",
    "yolo.empty_box": "a box with width or height <= 0",
    "yolo.visibility": "a v other than 0, 1, 2",
    "yolo.duplicate_line": "a line repeated in one file (dropped)",
    "yolo.zero_point_2d": "kpt_shape [K, 2] and a point at 0 0 (read as not labelled)",
    "yolo.no_keypoint_category": "to-yolo: no category defines keypoints",
    "yolo.different_k": "to-yolo: categories with different K and no --pad",
    "yolo.flip_idx_unknown": "to-yolo: a category has no known left/right pairs; no flip_idx written",
    "yolo.flip_idx_conflict": "to-yolo: categories need different flip permutations; no flip_idx written",
    "yolo.image_format": "to-yolo: an image Ultralytics would not read (suffix)",
    "yolo.crowd_skipped": "to-yolo: crowd annotations left out",
    "yolo.point_outside_image": "to-yolo: a labelled point outside its image (--clip-points)",
    "yolo.points_clipped": "to-yolo: points outside their image written as not labelled",
    "yolo.unlabelled_point_2d": "to-yolo --kpt-dims 2: a point that is not labelled would become 0 0",
    "yolo.box_outside_image": "to-yolo: a bbox with no area inside its image",
    "yolo.label_name_clash": "to-yolo: two images would share one label file (a.jpg, a.png)",
}

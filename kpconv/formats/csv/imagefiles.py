"""From the image names a CSV holds to COCO ``images`` entries: where they are, how big they are.

The rule for ``file_name`` (documented in the README): every ``file_name`` is relative to ONE
images root, the folder to pass to ``kpconv validate --images`` / ``kpconv visualize --images``.

* ``--images DIR`` given: the root is DIR. A name is looked up as written under DIR, then by its
  last path part (DeepLabCut paths say ``labeled-data/<video>/img.png`` while the PNGs often sit
  right next to the CSV).
* Otherwise each layout proposes roots (DeepLabCut: the project root two folders above the CSV,
  then the CSV's folder; the others: the CSV's folder) and the one under which most images are
  found is used.
* ``--image-size WxH``: no file is opened; every image is WxH and ``file_name`` is the name as
  written (made relative to ``--images`` or the CSV's folder when it is absolute).

Widths and heights come from each image header (:func:`kpconv.images.read_image_size`), never from
the extension: ``.jpg`` files that are PNGs, RGBA and grayscale images are all fine.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import DataError
from ...finding import Finding, error, info, warning
from ...images import ImageReadError, read_image_size, resolve_inside
from ...progress import track

#: How many missing images the error message names before it says "and N more".
LISTED_IN_MESSAGE = 10


@dataclass
class ImageOptions:
    """What the user said about images: a root folder, a fixed size, whether to skip missing ones."""

    images_dir: Path | None = None
    image_size: tuple[int, int] | None = None
    skip_missing: bool = False


@dataclass
class ResolvedImages:
    """Per CSV image name: the COCO ``file_name`` and size; names left out are skipped."""

    root: Path | None
    file_names: dict[str, str] = field(default_factory=dict)
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def normalize_name(name: str) -> str:
    """``labeled-data\\video\\img.png`` → ``labeled-data/video/img.png``; ``./a.png`` → ``a.png``."""
    text = name.strip().replace("\\", "/")
    if not text or (
        "./" not in text and "//" not in text and not text.endswith(("/", "/.", "/.."))
    ):
        return text  # already normal (the common case, and called once per instance)
    absolute = text.startswith("/")
    text = posixpath.normpath(text)
    if absolute and not text.startswith("/"):
        text = "/" + text
    return text


def normalize_names(names: list[str]) -> list[str]:
    """:func:`normalize_name` of each name; names already normal (the usual case) are told by a
    few searches of them all joined, not one call per name."""
    if list(map(str.strip, names)) == names:
        joined = "\n".join(names) + "\n"  # (each name followed by a line end)
        if not any(part in joined for part in ("\\", "./", "//", "/\n", ".\n")):
            return names  # (no "\", "./" or "//" in a name, none ends with "/" or ".")
    return [normalize_name(name) for name in names]


def _is_absolute(name: str) -> bool:
    return name.startswith("/") or (len(name) > 2 and name[1] == ":" and name[2] == "/")


def _locate(root: Path, name: str) -> tuple[str, Path] | None:
    """(file_name relative to root, path) for an image name, or None when it is not there."""
    if _is_absolute(name):
        path = Path(name)
        if path.is_file():
            try:
                return path.resolve().relative_to(root.resolve()).as_posix(), path
            except ValueError:
                pass
    else:
        path_in = resolve_inside(root, name)
        if path_in is not None and path_in.is_file():
            return name, root / name
    base = name.rsplit("/", 1)[-1]
    if base and base != name and (root / base).is_file():
        return base, root / base
    return None


def _relative_name(name: str, roots: list[Path]) -> str:
    if not _is_absolute(name):
        return name
    for root in roots:
        try:
            return Path(name).relative_to(root.resolve()).as_posix()
        except ValueError:
            continue
    return name


def resolve_images(
    names: dict[str, str], roots: list[Path], options: ImageOptions, display: str
) -> ResolvedImages:
    """Find every image (``names``: CSV name → place first named), read its size.

    Raises :class:`~kpconv.errors.DataError` naming the missing images when some are missing or
    unreadable, unless ``options.skip_missing`` (then each skip is a ``csv.image_skipped``
    warning) or ``options.image_size`` (then no file is opened at all).
    """
    if options.images_dir is not None:
        roots = [options.images_dir]
    if options.image_size is not None:
        w, h = options.image_size
        out = ResolvedImages(root=roots[0] if roots else None)
        joined = "\n" + "\n".join(names)
        if "\n/" not in joined and ":/" not in joined:  # (none _is_absolute)
            out.file_names = dict(zip(names, names, strict=True))  # each written as it is
            out.sizes = dict.fromkeys(names, (w, h))
            return out
        for name in names:
            file_name = _relative_name(name, roots)
            if _is_absolute(file_name):
                out.findings.append(
                    warning(
                        "csv.absolute_image_path",
                        f"image {name!r} is an absolute path outside {roots[0] if roots else '.'}; "
                        "it is written as is (pass --images with a folder that contains it)",
                        source=names[name],
                    )
                )
            out.file_names[name] = file_name
            out.sizes[file_name] = (w, h)
        return out

    unique_roots: list[Path] = []
    for root in roots:
        if root.is_dir() and all(root.resolve() != r.resolve() for r in unique_roots):
            unique_roots.append(root)
    if not unique_roots:
        where = roots[0] if roots else Path(".")
        raise DataError(
            f"images folder {where} does not exist (pass --images DIR, or --image-size WxH)"
        )
    best_root: Path = unique_roots[0]
    best: dict[str, tuple[str, Path]] = {}
    for root in unique_roots:
        found = {name: hit for name in names if (hit := _locate(root, name)) is not None}
        if len(found) > len(best) or not best:
            best_root, best = root, found
        if len(found) == len(names):
            break

    out = ResolvedImages(root=best_root)
    problems: list[tuple[str, Finding]] = []
    for name in track(names, total=len(names), description="reading image sizes"):
        hit = best.get(name)
        if hit is None:
            missing = f"image {name!r} not found under {best_root}"
            problems.append((name, error("csv.image_missing", missing, source=names[name])))
            continue
        file_name, path = hit
        try:
            size = read_image_size(path)
        except FileNotFoundError:
            missing = f"image {name!r} not found under {best_root}"
            problems.append((name, error("csv.image_missing", missing, source=names[name])))
            continue
        except ImageReadError as exc:
            unreadable = f"image {name!r}: {exc}"
            problems.append((name, error("csv.image_unreadable", unreadable, source=names[name])))
            continue
        out.file_names[name] = file_name
        out.sizes[file_name] = size

    if problems and not options.skip_missing:
        listed = ", ".join(
            f"{name} ({_short(f.source, display)})" for name, f in problems[:LISTED_IN_MESSAGE]
        )
        more = (
            f" and {len(problems) - LISTED_IN_MESSAGE} more"
            if len(problems) > LISTED_IN_MESSAGE
            else ""
        )
        raise DataError(
            f"{display}: {len(problems)} of {len(names)} image(s) missing or unreadable under "
            f"{best_root}: {listed}{more}. Nothing was written. Convert the rest with "
            "--skip-missing-images, give the image size with --image-size WxH, or point --images "
            "at the folder that holds them",
            [f for _, f in problems],
        )
    for _, f in problems:
        out.findings.append(
            warning(
                "csv.image_skipped",
                f"{f.message}; its rows are skipped (--skip-missing-images)",
                source=f.source,
            )
        )
    out.findings.append(
        info(
            "csv.images_root",
            f"file_name values are relative to {best_root}: pass --images {best_root} to "
            "kpconv validate / kpconv visualize",
            source=display,
        )
    )
    return out


def _short(source: str | None, display: str) -> str:
    """``file.csv:17`` → ``line 17`` inside a message that already names the file."""
    if source and source.startswith(display + ":"):
        return "line " + source[len(display) + 1 :]
    return source or "?"

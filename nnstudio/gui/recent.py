"""Labels of the Open Recent menu: the file name and enough of its folder to tell files of the
same name apart (three ``galaxy-mass.nnproj`` in three folders)."""
from __future__ import annotations

from pathlib import Path

MAX_FOLDER_CHARS = 48


def _folder(path: Path, parts: int) -> str:
    """The last ``parts`` folders above ``path``, from the home folder as ``~`` when inside it."""
    parent = path.parent
    home = Path.home()
    try:
        rel = parent.relative_to(home)
        full = ("~",) + rel.parts
    except ValueError:
        full = parent.parts
    if parts + 1 >= len(full):       # the whole folder is as short: "~/work", "/tmp"
        text = "/".join(full).replace("//", "/")
    else:
        text = "…/" + "/".join(full[-parts:])
    return text if len(text) <= MAX_FOLDER_CHARS else "…" + text[-(MAX_FOLDER_CHARS - 1):]


def recent_labels(paths: list[str]) -> dict[str, str]:
    """``{path: "name — folder"}`` with one folder level, more where names would still clash."""
    out = {}
    items = [Path(p) for p in paths]
    for p in items:
        depth = 1
        same = [q for q in items if q.name == p.name and q != p]
        while same and depth < len(p.parent.parts) and any(_folder(q, depth) == _folder(p, depth) for q in same):
            depth += 1
        out[str(p)] = f"{p.name} — {_folder(p, depth)}"
    return out


__all__ = ["recent_labels"]

"""Say what is wrong with a CIF or POSCAR file in the file's own terms (cell, loops, atom sites, counts).

pymatgen's ``CifParser`` reports a malformed file with whatever Python raised inside it ("integer modulo
by zero" for a loop with no values, "zip() argument 2 is longer than argument 1" for an incomplete row)
or only "Invalid CIF file with no structures!" for a zero cell length or missing coordinates. These
checks run on the text first and name the problem; they follow the CIF 1.1 syntax only as far as
needed (data blocks, loops, quoted values, ``;`` text fields, ``#`` comments). A file that passes them
is parsed by pymatgen as before.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"""'(?:[^']|'(?=\S))*'|"(?:[^"]|"(?=\S))*"|\S+""")
_RESERVED = ("data_", "loop_", "save_", "global_", "stop_")
CELL_LENGTHS = ("_cell_length_a", "_cell_length_b", "_cell_length_c")
CELL_ANGLES = ("_cell_angle_alpha", "_cell_angle_beta", "_cell_angle_gamma")
FRACTIONAL = ("_atom_site_fract_x", "_atom_site_fract_y", "_atom_site_fract_z")
CARTESIAN = ("_atom_site_cartn_x", "_atom_site_cartn_y", "_atom_site_cartn_z")


def _tokens(text: str) -> list[tuple[int, str]]:
    """(line number, token) of every token; a ``;`` text field is one token."""
    out: list[tuple[int, str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(";"):
            start = i
            i += 1
            while i < len(lines) and not lines[i].startswith(";"):
                i += 1
            out.append((start + 1, "<text field>"))
            i += 1
            continue
        for m in _TOKEN.finditer(line):
            if m.group().startswith("#"):
                break
            out.append((i + 1, m.group()))
        i += 1
    return out


def _blocks(tokens: list[tuple[int, str]]) -> list[dict]:
    """Each data block as {name, items: {tag: value}, loops: [(line, tags, values)]}."""
    blocks: list[dict] = []
    i = 0
    while i < len(tokens):
        line, tok = tokens[i]
        low = tok.lower()
        if low.startswith("data_"):
            blocks.append({"name": tok[5:], "line": line, "items": {}, "loops": []})
            i += 1
        elif not blocks:
            i += 1  # text before the first data block: reported as "no data block" when nothing follows
        elif low == "loop_":
            tags, values = [], []
            i += 1
            while i < len(tokens) and tokens[i][1].startswith("_"):
                tags.append(tokens[i][1].lower())
                i += 1
            while (
                i < len(tokens) and not tokens[i][1].startswith("_") and not tokens[i][1].lower().startswith(_RESERVED)
            ):
                values.append(tokens[i][1])
                i += 1
            blocks[-1]["loops"].append((line, tags, values))
        elif tok.startswith("_"):
            value = tokens[i + 1][1] if i + 1 < len(tokens) else None
            if value is None or value.startswith("_") or value.lower().startswith(_RESERVED):
                blocks[-1]["items"][low] = None
                i += 1
            else:
                blocks[-1]["items"][low] = value
                i += 2
        else:
            i += 1
    return blocks


def _number(value: str | None) -> float | None:
    """A CIF number ("5.43", "5.4310(2)"); None for "?", "." or text."""
    if value is None:
        return None
    try:
        return float(re.sub(r"\(\d+\)$", "", value.strip("'\"")))
    except ValueError:
        return None


def _cell_problem(items: dict) -> str | None:
    for tag in CELL_LENGTHS + CELL_ANGLES:
        if tag not in items:
            return f"the cell parameter {tag} is missing"
        x = _number(items[tag])
        if x is None:
            return f"the cell parameter {tag} is {items[tag]!r}, not a number"
        if tag in CELL_LENGTHS and x <= 0:
            return f"the cell length {tag} is {items[tag]}: cell lengths must be positive (in Angstrom)"
        if tag in CELL_ANGLES and not 0 < x < 180:
            return f"the cell angle {tag} is {items[tag]}: cell angles must lie between 0 and 180 degrees"
    return None


def _site_problem(block: dict) -> str | None:
    site_loops = [
        (line, tags, values) for line, tags, values in block["loops"] if tags and tags[0].startswith("_atom_site_")
    ]
    site_loops = [lp for lp in site_loops if not any(t.startswith("_atom_site_aniso") for t in lp[1])]
    if not site_loops:
        return "there is no atom-site loop (loop_ with _atom_site_label / _atom_site_fract_x ...)"
    line, tags, values = site_loops[0]
    coords = (
        FRACTIONAL if all(t in tags for t in FRACTIONAL) else CARTESIAN if all(t in tags for t in CARTESIAN) else None
    )
    if coords is None:
        missing = [t for t in FRACTIONAL if t not in tags]
        return f"the atom-site loop at line {line} has no {', '.join(missing)} column(s): the atoms have no coordinates"
    if "_atom_site_type_symbol" not in tags and "_atom_site_label" not in tags:
        return f"the atom-site loop at line {line} names no element (_atom_site_type_symbol or _atom_site_label)"
    width = len(tags)
    for row in range(len(values) // width):
        cells = dict(zip(tags, values[row * width : (row + 1) * width]))
        for tag in coords:
            if _number(cells[tag]) is None:
                return f"atom site {row + 1} of the loop at line {line}: {tag} is {cells[tag]!r}, not a number"
    return None


def cif_problem(text: str) -> str | None:
    """What is wrong with the CIF text, in the file's terms; None if these checks find nothing."""
    if "\x00" in text:
        return "the file is binary, not a CIF text file"
    blocks = _blocks(_tokens(text))
    if not blocks:
        return "no data_ block: this is not a CIF file (a CIF starts its structure with a data_<name> line)"
    for block in blocks:
        for line, tags, values in block["loops"]:
            if not tags:
                return f"the loop_ at line {line} has no column names"
            first = tags[0]
            if not values:
                return f"the loop_ at line {line} ({first}, ...) has column names but no values: is the file truncated?"
            if len(values) % len(tags):
                rows, extra = divmod(len(values), len(tags))
                return (
                    f"the loop_ at line {line} ({first}, ...) has {len(values)} values for {len(tags)} columns: "
                    f"after {rows} complete row(s), {extra} value(s) are left over (a row is incomplete, or a value "
                    "with spaces is unquoted)"
                )
    structural = [b for b in blocks if any(t.startswith("_atom_site_") for _, tags, _ in b["loops"] for t in tags)]
    if not structural:
        return "no data block has atom sites (loop_ with _atom_site_label / _atom_site_fract_x ...)"
    for block in structural:
        problem = _cell_problem(block["items"]) or _site_problem(block)
        if problem:
            return f"data block {block['name']!r} (line {block['line']}): {problem}"
    return None


# -- POSCAR ---------------------------------------------------------------------------------------
# pymatgen's Poscar reports a short file as "list index out of range", a zero lattice vector as a raw
# "cannot convert float NaN to integer", and silently reads an unknown element as a dummy species or a
# file without an element line as hydrogen. The layout checked here is VASP's: comment, scale, three
# lattice vectors, element symbols (VASP 5; VASP 4 files may name them on the comment line instead),
# counts, optional "Selective dynamics", Direct/Cartesian, one coordinate line per atom.


def _numbers(tokens: list[str]) -> list[float] | None:
    try:
        return [float(t) for t in tokens]
    except ValueError:
        return None


def _element_problem(symbols: list[str], where: str) -> str | None:
    from pymatgen.core.periodic_table import Element

    unknown = [s for s in symbols if not Element.is_valid_symbol(s.split("_")[0].split("/")[0])]
    return f"{where} names {', '.join(map(repr, unknown))}, not chemical element(s)" if unknown else None


def _poscar_header(lines: list[list[str]]) -> tuple[str | None, int]:
    """Problem with scale and lattice (lines 2-5), or None; and the index of the next line."""
    import numpy as np

    if len(lines) < 7:
        return f"the file has {len(lines)} line(s); a POSCAR needs at least 7 before the coordinates", 0
    scale = _numbers(lines[1])
    if not scale or len(scale) not in (1, 3) or any(x == 0 for x in scale):
        return f"line 2 (scale factor) is {' '.join(lines[1])!r}: give one non-zero number (or three)", 0
    vectors = [_numbers(line[:3]) for line in lines[2:5]]
    for i, v in enumerate(vectors):
        if v is None or len(v) != 3:
            return f"line {i + 3} (lattice vector {i + 1}) is {' '.join(lines[i + 2])!r}: give three numbers", 0
    if abs(np.linalg.det(np.array(vectors))) < 1e-6:
        return "the lattice vectors (lines 3-5) span no volume: one is zero or they are linearly dependent", 0
    return None, 5


def poscar_problem(text: str) -> str | None:
    """What is wrong with the POSCAR text, in the file's terms; None if these checks find nothing."""
    if "\x00" in text:
        return "the file is binary, not a POSCAR text file"
    raw = [line.split() for line in text.splitlines()]
    while raw and not raw[-1]:
        raw.pop()
    problem, i = _poscar_header(raw)
    if problem:
        return problem
    if _numbers(raw[i]) is not None:  # pymatgen would read such a file as hydrogen
        return (
            f"line {i + 1} gives atom counts but no line names the elements (VASP 4 layout): "
            "add a line with the element symbols above the counts"
        )
    symbols, counts_line = raw[i], i + 2
    counts = _numbers(raw[i + 1]) if i + 1 < len(raw) else None
    if not counts or any(c != int(c) or c <= 0 for c in counts):
        given = " ".join(raw[i + 1]) if i + 1 < len(raw) else "missing"
        return f"line {counts_line} (atom counts) is {given!r}: give one positive integer per element"
    if len(symbols) != len(counts):
        return f"line {i + 1} names {len(symbols)} element(s) but line {counts_line} gives {len(counts)} count(s)"
    problem = _element_problem(symbols, f"line {i + 1} (elements)")
    if problem:
        return problem
    i += 2
    if i < len(raw) and raw[i] and raw[i][0][0] in "sS":
        i += 1  # Selective dynamics
    if i >= len(raw) or not raw[i]:
        return f"line {i + 1} should say Direct or Cartesian; the file ends before it"
    n_atoms, first = int(sum(counts)), i + 1
    coords = raw[first : first + n_atoms]
    for k, line in enumerate(coords):
        if len(line) < 3 or _numbers(line[:3]) is None:
            return f"line {first + k + 1} (atom {k + 1}) is {' '.join(line)!r}: three numbers expected"
    if len(coords) < n_atoms:
        return (
            f"the counts on line {counts_line} add up to {n_atoms} atoms but {len(coords)} coordinate line(s) "
            "follow: is the file truncated?"
        )
    return None

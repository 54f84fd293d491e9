"""Make the font the in-process renderer draws with: `python docs/make_font.py [path/to/DejaVuSans.ttf]`.

It writes tinygrad_edu/viz/fonts/TGEduSans.ttf, a subset of DejaVu Sans (version 2.37 here, from
Debian's fonts-dejavu-core): every glyph our drawings use (Latin-1, Greek, ᵀ ˣ ₂, arrows, the common
math operators, ⌊⌋⌈⌉ ⋮), without hinting, renamed "TGEdu Sans" as its licence asks of a modified
copy (tinygrad_edu/viz/fonts/LICENSE). Needs fontTools (a dependency of matplotlib). Importing this
file does nothing.

Why this font: the in-process Graphviz sizes every label with its built-in table of character widths,
which knows DejaVu Sans exactly, and vl-convert then draws the text with this file, on any machine,
so the text is drawn with the widths its box was made for, and no character falls back to another
font (a per-character fallback that picked a serif ᵀ on a machine whose Liberation Sans lacks it).
"""

from __future__ import annotations

import pathlib
import sys

FONT_DIR = pathlib.Path(__file__).resolve().parent.parent / "tinygrad_edu" / "viz" / "fonts"
SOURCE = pathlib.Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FAMILY = "TGEdu Sans"

RANGES = [
    (0x20, 0x7E),      # ASCII
    (0xA0, 0xFF),      # Latin-1: accented letters, · × ÷ ± ² ³ ½ ¬
    (0x2B0, 0x2FF),    # spacing modifier letters: ˣ ʸ ˡ ʳ
    (0x300, 0x36F),    # combining marks: x̂, x̄, x⃗'s relatives
    (0x370, 0x3FF),    # Greek
    (0x1D2C, 0x1D6A),  # modifier letters: the transpose mark ᵀ, ᵢ
    (0x2000, 0x206F),  # general punctuation: dashes, ‖, …, ′
    (0x2070, 0x209F),  # superscripts and subscripts: ⁻¹ log₂
    (0x2190, 0x2199),  # arrows ← ↑ → ↓ ↔ ↕ and diagonals
    (0x21D0, 0x21D5),  # double arrows ⇒ ⇔
    (0x2308, 0x230B),  # ⌈ ⌉ ⌊ ⌋: ceil and floor
    (0x2580, 0x259F),  # block elements: █ ░ (bars in text)
]
MATH = "∀∂∃∅∆∇∈∉∋∏∑−∓∕∗∘∙√∝∞∠∧∨∩∪∫∴∼≃≅≈≠≡≤≥≪≫⊂⊃⊆⊇⊕⊖⊗⊘⊙⊤⊥⋅⋮⋯"


def main(source: pathlib.Path = SOURCE) -> pathlib.Path:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(source)
    have = font.getBestCmap()
    wanted = [u for low, high in RANGES for u in range(low, high + 1)] + [ord(c) for c in MATH]
    options = subset.Options()
    options.hinting = False  # vl-convert (resvg) draws without hinting
    options.layout_features = ["kern", "mark", "mkmk", "ccmp"]  # kerning and the placement of combining marks
    options.notdef_outline = True
    options.drop_tables += ["MATH"]  # the layout of formulas: not for labels
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]  # copyright, names, version, licence
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[u for u in wanted if u in have])
    subsetter.subset(font)  # (it drops the tables it does not know, such as FontForge's FFTM timestamps)
    version = font["name"].getDebugName(5)
    names = {1: FAMILY, 2: "Book", 3: f"{FAMILY} (subset of DejaVu Sans {version})", 4: FAMILY,
             6: FAMILY.replace(" ", "")}
    for record in list(font["name"].names):
        if record.nameID in names:
            font["name"].setName(names[record.nameID], record.nameID, record.platformID, record.platEncID,
                                 record.langID)
    target = FONT_DIR / "TGEduSans.ttf"
    FONT_DIR.mkdir(exist_ok=True)
    font.save(target)
    print(f"{target}: {len(font.getGlyphOrder())} glyphs, {target.stat().st_size:,} bytes, from {source} ({version})")
    return target


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE)

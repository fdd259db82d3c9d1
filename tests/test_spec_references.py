"""docs/spec.md, the project's contract, stays in step with the code that cites it.

Every "SPEC §" reference in bridge/, tests/, benchmarks/, docs/ and README.md names a section that exists,
every link to a spec.md anchor names a heading, and the OSC tables of §4 list exactly the addresses of
bridge.core.protocol.ADDRESSES, with the contract's arguments in the table's order.
"""

from __future__ import annotations

import re
from pathlib import Path

from conftest import REPO
from readme_tables import args_cell

from bridge.core.protocol import ADDRESSES

SPEC = REPO / "docs" / "spec.md"
CITING = ("bridge", "tests", "benchmarks", "docs")
# "SPEC §2", "SPEC §1-2", "SPEC §2, §4", "SPEC §3's"
REFERENCE = re.compile(r"SPEC §(\d+)((?:\s*[-–,]\s*§?\d+)*)")
SPEC_LINK = re.compile(r"spec\.md#([\w-]+)")
SECTION_HEADING = re.compile(r"^## (\d+)\. (.+)$", re.MULTILINE)


def citing_files() -> list[Path]:
    files = [REPO / "README.md"]
    for folder in CITING:
        files += sorted(p for p in (REPO / folder).rglob("*") if p.suffix in (".py", ".md") and p.is_file())
    return files


def spec_sections() -> dict[int, str]:
    return {int(n): title for n, title in SECTION_HEADING.findall(SPEC.read_text(encoding="utf-8"))}


def anchor(heading: str) -> str:
    """GitHub's anchor of a markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def cited_sections(text: str) -> list[int]:
    cited = []
    for match in REFERENCE.finditer(text):
        numbers = [int(match.group(1))] + [int(n) for n in re.findall(r"\d+", match.group(2))]
        if "-" in match.group(2) or "–" in match.group(2):
            numbers = list(range(numbers[0], numbers[-1] + 1))
        cited += numbers
    return cited


def test_the_reference_parser_reads_ranges_and_lists():
    assert cited_sections("SPEC §1-2, and SPEC §2, §4; SPEC §3's gain") == [1, 2, 2, 4, 3]


def test_the_spec_has_its_six_sections():
    assert sorted(spec_sections()) == [1, 2, 3, 4, 5, 6]


def test_every_spec_reference_names_an_existing_section():
    sections = spec_sections()
    missing = [f"{path.relative_to(REPO)}: SPEC §{n}" for path in citing_files()
               for n in cited_sections(path.read_text(encoding="utf-8")) if n not in sections]
    assert not missing, f"references to sections docs/spec.md does not have: {missing}"


def test_references_cite_the_copy_in_docs():
    stale = [str(path.relative_to(REPO)) for path in citing_files()
             if path != Path(__file__).resolve() and "SPEC.md" in path.read_text(encoding="utf-8")]
    assert not stale, f"these name SPEC.md instead of docs/spec.md: {stale}"


def test_links_to_spec_anchors_name_a_heading():
    anchors = {anchor(f"{n}. {title}") for n, title in spec_sections().items()}
    broken = [f"{path.relative_to(REPO)}: #{name}" for path in citing_files()
              for name in SPEC_LINK.findall(path.read_text(encoding="utf-8")) if name not in anchors]
    assert not broken, f"links to headings docs/spec.md does not have: {broken}"


def osc_rows() -> list[tuple[list[str], tuple[tuple[str, str], ...]]]:
    """(addresses, arguments) of every table row in §4 of docs/spec.md."""
    text = SPEC.read_text(encoding="utf-8")
    section = text[text.index("\n## 4. "):text.index("\n## 5. ")]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0].startswith("`/"):
            rows.append((re.findall(r"`(/[^`]+)`", cells[0]), args_cell(cells[2])))
    return rows


def test_spec_osc_tables_list_the_protocol_addresses():
    listed = [address for addresses, _ in osc_rows() for address in addresses]
    assert len(listed) == len(set(listed)), f"an address is listed twice: {listed}"
    assert set(listed) == {a.path for a in ADDRESSES.values()}


def test_spec_osc_arguments_lead_the_protocol_arguments():
    """Arguments are fixed in order and only appended to: the spec's list starts each address's list."""
    by_path = {a.path: a.args for a in ADDRESSES.values()}
    for addresses, args in osc_rows():
        assert args, f"no arguments read for {addresses}"
        for address in addresses:
            assert by_path[address][:len(args)] == args, address

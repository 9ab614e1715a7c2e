#!/usr/bin/env bash
# Regenerate the page images shown in the README from a fresh render of the main example.
# Needs poppler-utils (pdftoppm) and, for the Word page, LibreOffice (Debian: libreoffice-writer).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=build/readme-images
rm -rf "$out"
.venv/bin/reportgen render examples/sclc_ldrt/study.yaml --out "$out" --format html,pdf,docx --quiet
pdftoppm -png -r 45 -f 1 -l 1 "$out/report.pdf" docs/images/report-title
pdftoppm -png -r 45 -f 5 -l 5 "$out/report.pdf" docs/images/report-results
pdftoppm -png -r 45 -f 9 -l 9 "$out/report.pdf" docs/images/report-figures
pdftoppm -png -r 45 -f 1 -l 1 "$out/supplement.pdf" docs/images/supplement-checklist
if command -v soffice >/dev/null; then
  soffice --headless --convert-to pdf --outdir "$out/docx" "$out/report.docx" >/dev/null
  pdftoppm -png -r 45 -f 1 -l 2 "$out/docx/report.pdf" docs/images/word
fi
.venv/bin/python -c "from PIL import Image; im = Image.open(\"$out/figures/forest_os.png\"); im.thumbnail((900, 900)); im.save(\"docs/images/forest-os.png\")"
ls docs/images
# The house-style sample: the example in the lancet style, Letter paper, line numbers.
mkdir -p "$out/lancet"
cp examples/sclc_ldrt/cohort.csv "$out/lancet/"
{ cat examples/sclc_ldrt/study.yaml; printf '\nstyle: lancet\nlayout: {page_size: Letter, toc: true, line_numbers: true}\n'; } > "$out/lancet/study.yaml"
.venv/bin/reportgen render "$out/lancet/study.yaml" --out "$out/lancet/out" --format pdf --quiet
pdftoppm -png -r 45 -f 3 -l 3 "$out/lancet/out/report.pdf" docs/images/style-lancet

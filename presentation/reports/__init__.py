"""A report rendered as text, as a PNG chart and as an XLSX workbook."""
